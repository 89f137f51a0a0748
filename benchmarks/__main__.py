"""The benchmark suite: ``python -m benchmarks [--quick] [--only matcher,lists,...]``.

Runs each part in a fresh Python process, then prints the machine, library versions and seed once and one
markdown section per part, and writes one JSON record to ``benchmarks/results/bench-<time>.json``.

- matcher: hashmatch against FAISS ``IndexBinaryFlat`` and python-threatexchange's ``PDQIndex`` (the peer),
  PDQ and pHash, 1M and 10M entries (``--quick``: 100K and 1M), plus the latency-vs-size plot;
- lists: a PDQ list from CSV file to served index, 10M entries (1M), against the matcher-only build;
- http: a real ``hashmatch serve`` over loopback, one connection and a load generator, 1M and 10M entries
  (1M), against the same search in-process;
- scanner: photo-like JPEGs hashed per second, against full-size decoding;
- scanload: images answered per server core against a 10M PDQ list (1M), every variant the scanner sends;
- catchup: a replica's time from a publish's commit to serving it out of an S3 index store (moto's server),
  10M PDQ entries (1M), split into download, verify and load, against a local copy of the same bytes;
- rematch: ``hashmatch scan --rematch-only`` against the server's match rate for the same batches;
- startup: each command's time from start to exit, against ``python -c pass``;
- quality: recall per transform, false positives and cross-matches of ``hashmatch scan`` on the project's
  evaluation set, end to end through hash, import, publish, serve and scan (``--quick``: fewer pictures);
- console: the web console's main pages at 10,000 notices (1,000), median and p95 per page;
- photodna: hashmatch's exact Euclidean index against FAISS ``IndexFlatL2``, synthetic PhotoDNA vectors,
  1M and 10M (``--quick``: 100K and 1M);
- video: vPDQ, one query video of 60 frames against 100K listed videos of 60 frames (10K), against the
  brute force over every video.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.report import RESULTS_DIR, SEED, load_average, machine_info, write_json

PARTS = (
    "matcher",
    "lists",
    "http",
    "scanner",
    "scanload",
    "catchup",
    "rematch",
    "startup",
    "quality",
    "console",
    "photodna",
    "video",
)


def parse_parts(text: str) -> tuple[str, ...]:
    """A comma-separated choice of parts, in the suite's order; unknown names are an error."""
    chosen = {name.strip() for name in text.split(",") if name.strip()}
    unknown = sorted(chosen - set(PARTS))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown part {', '.join(unknown) or '(none given)'}: expected some of {', '.join(PARTS)}"
        )
    return tuple(name for name in PARTS if name in chosen)


def run_part(name: str, quick: bool, seed: int, scratch: Path) -> dict[str, Any]:
    """One part in its own process; its progress goes to stderr, its result comes back as JSON."""
    record = scratch / f"{name}.json"
    command = [sys.executable, "-m", f"benchmarks.{name}", "--seed", str(seed), "--record", str(record)]
    done = subprocess.run([*command, *(["--quick"] if quick else [])], stdout=sys.stderr, check=False)
    if done.returncode != 0 or not record.exists():
        return {"name": name, "title": name, "failed": f"exit code {done.returncode}"}
    result: dict[str, Any] = json.loads(record.read_text())
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Each part also runs alone: python -m benchmarks.<part> --help lists its own options.",
    )
    parser.add_argument("--quick", action="store_true", help="the small sizes, for small machines")
    parser.add_argument("--only", type=parse_parts, default=PARTS, help="e.g. matcher,http (default: all)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)

    machine = machine_info()
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="hashmatch-bench-suite.") as scratch:
        parts = []
        for name in args.only:
            print(f"== {name}", file=sys.stderr, flush=True)
            parts.append(run_part(name, args.quick, args.seed, Path(scratch)))
    load_after = load_average()

    print("# hashmatch benchmarks\n")
    print(f"`python -m benchmarks{' --quick' if args.quick else ''}`, seed {args.seed}.\n")
    print(f"Machine: {machine.describe()}.\n")
    print(
        f"Load average (1 min) {load_before:.1f} at the start, {load_after:.1f} at the end, on "
        f"{machine.usable_cores} usable cores: above that, other work competed for the CPU.\n"
    )
    for part in parts:
        print(f"## {part['title']}\n")
        print(f"**failed**: {part['failed']}\n" if "failed" in part else f"{part['markdown']}\n")
    path = write_json(
        "bench",
        {
            "quick": args.quick,
            "load_average": {"start": load_before, "end": load_after},
            "parts": {part["name"]: part for part in parts},
        },
        seed=args.seed,
        machine=machine,
        directory=RESULTS_DIR,
    )
    print(f"JSON: {path}", file=sys.stderr)
    return 1 if any("failed" in part for part in parts) else 0


if __name__ == "__main__":
    sys.exit(main())
