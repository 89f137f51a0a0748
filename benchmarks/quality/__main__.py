"""``python -m benchmarks.quality``: the matching-quality part (see the package's docstring)."""

import argparse
import shlex
import tempfile
from pathlib import Path

from benchmarks.quality import __doc__ as description
from benchmarks.quality.corpus import corpus, missing_sources
from benchmarks.quality.scoring import evaluate
from benchmarks.quality.summary import markdown, record, transform_table
from benchmarks.quality.transforms import TRANSFORMS, by_name
from benchmarks.report import PartResult, add_part_arguments, finish_part


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=description)
    add_part_arguments(parser, "3 real and 4 generated pictures per side instead of 8 and 8, fewer pairs")
    parser.add_argument("--transforms", action="store_true", help="print the transform table and stop")
    parser.add_argument("--only", help="comma-separated transform names (default: all)")
    parser.add_argument(
        "--hash-args", default="", help="extra options of `hashmatch hash`, e.g. '--variants'"
    )
    parser.add_argument("--scan-args", default="", help="extra options of `hashmatch scan`")
    parser.add_argument("--keep", type=Path, help="write the set and the server's data here and keep them")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a HASHMATCH_* setting of the server, e.g. HASHMATCH_PROBE_LIMIT=1000 to measure recall where "
        "the probing guard would stop the scan (repeatable)",
    )
    args = parser.parse_args(argv)
    chosen = by_name([n.strip() for n in args.only.split(",")]) if args.only else list(TRANSFORMS)
    if args.transforms:
        print(transform_table(chosen))
        return
    missing = missing_sources()
    if missing:  # without them the set would silently lose its photographs
        parser.error(
            f"{' and '.join(missing)} not installed: the set's photographs ship in them "
            "(pip install -e '.[bench]', or make bench ONLY=quality)"
        )
    pictures = corpus(args.seed, args.quick)
    with tempfile.TemporaryDirectory(prefix="hashmatch-quality.") as scratch:
        root = args.keep or Path(scratch)
        settings = dict(setting.split("=", 1) for setting in args.setting)
        found = evaluate(
            pictures,
            chosen,
            root,
            args.seed,
            shlex.split(args.hash_args),
            shlex.split(args.scan_args),
            settings,
        )
    result = record(found, chosen)
    result["options"] = {
        "quick": args.quick,
        "hash_args": args.hash_args,
        "scan_args": args.scan_args,
        "settings": args.setting,
    }
    finish_part(
        PartResult("quality", "Matching quality: recall per transform", markdown(result), result), args
    )


if __name__ == "__main__":
    main()
