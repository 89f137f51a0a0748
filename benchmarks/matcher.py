"""The matcher benchmark: hashmatch against FAISS brute force and python-threatexchange's PDQ index.

    python -m benchmarks --only matcher            # PDQ and pHash, 1M and 10M entries, uniform and skewed
    python -m benchmarks --only matcher --quick    # 100K and 1M entries, for small machines
    python -m benchmarks.matcher --help            # this part alone, with its own options

Every case (hash type, list size, code distribution) runs in three fresh processes, so that each
memory figure is the growth of a process that did nothing else:

1. build: generate the list and the queries (seeded), build the hashmatch index, save it.
2. query: load the saved index (memory-mapped), time single hashes and batches, then build FAISS
   ``IndexBinaryFlat`` over the same codes and time it the same way; its answers are the reference
   for recall.
3. peer (PDQ only): python-threatexchange's ``PDQIndex`` (FAISS ``IndexBinaryMultiHash`` behind
   Python lists and dicts, what Meta's HMA serves) built from the same hashes as hex strings.

Prints one markdown table, writes the JSON record and draws ``latency.png`` under
``benchmarks/results/`` (a full run also copies it to ``docs/``).

This module runs the cases and assembles the part's result; the cases and their seeded data are
``benchmarks.matcher_cases``, the stages ``benchmarks.matcher_stages``, the tables and the plot
``benchmarks.matcher_report``.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.matcher_cases import QUERIES, SHAPES, THRESHOLDS, Case
from benchmarks.matcher_report import HEADERS, SUMMARY_HEADERS, plot, summary_rows, table_rows
from benchmarks.matcher_stages import stage_build, stage_peer, stage_query
from benchmarks.report import (
    RESULTS_DIR,
    PartResult,
    add_part_arguments,
    finish_part,
    load_average,
    markdown_table,
    progress,
)

FULL_SIZES = (1_000_000, 10_000_000)
QUICK_SIZES = (100_000, 1_000_000)
PLOT_ONLY_SIZES = {"full": (100_000,), "quick": (10_000,)}
"""Extra uniform list sizes for the latency-vs-size plot."""
PNG_NAME = "latency.png"
DOCS_PNG = Path(__file__).parent.parent / "docs" / PNG_NAME


def run_stage(stage: str, case: Case, seed: int, workdir: Path, threads: int) -> dict[str, Any]:
    """Run one stage of a case in a fresh Python process; its last stdout line is the JSON result."""
    command = [
        sys.executable, "-m", "benchmarks.matcher", "--stage", stage, "--case", case.label,
        "--seed", str(seed), "--workdir", str(workdir), "--threads", str(threads),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {"failed": f"{stage} stage: {reason}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_case(case: Case, seed: int, threads: int, peer: bool, scratch: Path) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=case.label.replace(":", "-") + ".", dir=scratch))
    try:
        started = time.perf_counter()
        record: dict[str, Any] = {
            "case": case.__dict__,
            "load_average_before": load_average(),
            "build": run_stage("build", case, seed, workdir, threads),
        }
        if "failed" in record["build"]:
            record["hashmatch"] = record["build"]
        else:
            queried = run_stage("query", case, seed, workdir, threads)
            record |= {"hashmatch": queried, "faiss-flat": queried} if "failed" in queried else queried
            if case.hash_name == "pdq" and peer and "failed" not in queried:
                record["pytx-PDQIndex"] = run_stage("peer", case, seed, workdir, threads)
        record["seconds"] = time.perf_counter() - started
        record["load_average_after"] = load_average()
        return record
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def cases_for(args: argparse.Namespace) -> list[Case]:
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    extra = () if args.sizes else PLOT_ONLY_SIZES["quick" if args.quick else "full"]
    cases = [Case(name, size, "uniform") for name in args.types for size in extra if "uniform" in args.shapes]
    cases += [Case(name, size, shape) for name in args.types for size in sizes for shape in args.shapes]
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.matcher", description=__doc__.split("\n")[0])
    add_part_arguments(parser, "100K and 1M entries instead of 1M and 10M")
    parser.add_argument(
        "--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), help="e.g. 1000000,3000000"
    )
    parser.add_argument("--types", type=lambda s: tuple(s.split(",")), default=tuple(THRESHOLDS))
    parser.add_argument("--shapes", type=lambda s: tuple(s.split(",")), default=SHAPES)
    parser.add_argument(
        "--threads", type=int, default=len(os.sched_getaffinity(0)), help="for the batch column"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip python-threatexchange")
    parser.add_argument("--stage", choices=("build", "query", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--case", type=Case.parse, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        stages: dict[str, Callable[[], dict[str, Any]]] = {
            "build": lambda: stage_build(args.case, args.seed, args.workdir),
            "query": lambda: stage_query(args.case, args.workdir, args.threads),
            "peer": lambda: stage_peer(args.case, args.workdir, args.threads),
        }
        print(json.dumps(stages[args.stage]()))
        return 0
    unknown = set(args.types) - set(THRESHOLDS)
    if unknown or set(args.shapes) - set(SHAPES):
        parser.error(f"types are {', '.join(THRESHOLDS)}; shapes are {', '.join(SHAPES)}")

    records = []
    with tempfile.TemporaryDirectory(prefix="hashmatch-bench.") as scratch:
        for case in cases_for(args):
            records.append(run_case(case, args.seed, args.threads, not args.no_peer, Path(scratch)))
            progress(f"matcher {case.label}: {records[-1]['seconds']:.0f} s")
    png = RESULTS_DIR / PNG_NAME
    plot(records, png)
    if not (args.quick or args.sizes):  # the README shows the full run's plot
        DOCS_PNG.parent.mkdir(exist_ok=True)
        shutil.copyfile(png, DOCS_PNG)
    loads = [r[key] for r in records for key in ("load_average_before", "load_average_after")]
    markdown = (
        f"Load average (1 min) before/after each case: {min(loads):.1f} to {max(loads):.1f}. "
        f"Plot: `{png.relative_to(RESULTS_DIR.parent.parent)}`.\n\n"
        + markdown_table(SUMMARY_HEADERS, summary_rows(records))
        + "\n\nEvery figure, every engine:\n\n"
        + markdown_table(HEADERS, table_rows(records))
    )
    record = {"queries_per_case": QUERIES, "plot": str(png), "cases": records}
    finish_part(
        PartResult("matcher", "Matcher: hashmatch vs FAISS flat and the peer", markdown, record), args
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
