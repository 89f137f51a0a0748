"""Command start-up: how long each ``hashmatch`` command takes from start to exit, on a demo world.

Each command runs in a new process with the same interpreter, several times; the table gives the median
and the fastest run. The baseline is ``python -c pass``: the interpreter's own start, which no command can
go below. ``lists show`` reads the database of a fresh ``hashmatch demo`` (what ``make run`` serves).

    python -m benchmarks --only startup [--quick]     # --quick: 5 runs per command instead of 15
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import (
    Cell,
    PartResult,
    add_part_arguments,
    finish_part,
    markdown_table,
    progress,
    ratio,
)

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
HASHMATCH = [sys.executable, "-m", "cli.main"]
COMMANDS: tuple[tuple[str, list[str]], ...] = (
    ("`python -c pass` (baseline)", [sys.executable, "-c", "pass"]),
    ("`hashmatch --help`", [*HASHMATCH, "--help"]),
    ("`hashmatch types`", [*HASHMATCH, "types"]),
    ("`hashmatch lists show` (demo)", [*HASHMATCH, "lists", "show"]),
    ("`hashmatch match` (demo list, 9 queries)", []),  # filled in once the index is built
    ("`hashmatch serve --help`", [*HASHMATCH, "serve", "--help"]),
)
HEADERS = ["command", "median s", "fastest s", "CPU s (median)", "above `python -c pass` (median s)"]


def timed(command: Sequence[str], environment: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (user + system) of ``runs`` runs of ``command``, after one unmeasured run
    that warms the caches. CPU time is what other load on the machine does not inflate."""
    subprocess.run(command, env=environment, capture_output=True, check=True)
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, env=environment, capture_output=True, check=True)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    add_part_arguments(parser, "5 runs per command instead of 15")
    args: argparse.Namespace = parser.parse_args(argv)
    runs = 5 if args.quick else 15
    with tempfile.TemporaryDirectory(prefix="hashmatch-startup.") as directory:
        environment = {**os.environ, "HASHMATCH_DATA_DIR": str(Path(directory) / "var")}
        environment.pop("HASHMATCH_DATABASE_URL", None)
        demo = [*HASHMATCH, "demo", str(FIXTURES / "sample_list.txt")]
        subprocess.run(demo, env=environment, capture_output=True, check=True)
        indexes = Path(directory) / "indexes"
        build = [*HASHMATCH, "index", "build", str(FIXTURES / "sample_list.txt"), "--out", str(indexes)]
        subprocess.run(build, env=environment, capture_output=True, check=True)
        match = [*HASHMATCH, "match", "--index", str(indexes), str(FIXTURES / "sample_queries.txt")]
        results: list[tuple[str, tuple[list[float], list[float]]]] = []
        for name, command in COMMANDS:
            progress(f"startup: {name}")
            results.append((name, timed(command or match, environment, runs)))
    baseline = statistics.median(results[0][1][0])
    rows: list[list[Cell]] = []
    for name, (wall, cpu) in results:
        median = statistics.median(wall)
        extra = None if name == results[0][0] else median - baseline
        rows.append([name, median, min(wall), statistics.median(cpu), extra])
    markdown = (
        f"Each command {runs} times in a new process (after one warm-up run), same interpreter; load average "
        f"at the end: {os.getloadavg()[0]:.1f}. Last column: seconds above the interpreter's own start.\n\n"
        + markdown_table(HEADERS, rows)
    )
    record = {
        "runs": runs,
        "results": [{"command": name, "wall": wall, "cpu": cpu} for name, (wall, cpu) in results],
        "baseline_median": baseline,
        "ratios": {name: ratio(statistics.median(wall), baseline) for name, (wall, _) in results},
    }
    finish_part(PartResult("startup", "Command start-up", markdown, record), args)


if __name__ == "__main__":
    main()
