"""What every benchmark shares: the machine it ran on, resident memory, timings, a markdown table, a JSON
record, and how a part hands its result to ``python -m benchmarks``.

Nothing here knows what is being measured: the matcher, lists, HTTP and scanner parts all print their
tables and write their record through these helpers.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"
DEFAULT_PACKAGES = (
    "numpy", "faiss-cpu", "numba", "threatexchange", "matplotlib", "fastapi", "uvicorn", "sqlalchemy",
    "pillow", "pdqhash", "imagehash",
)  # fmt: skip
SEED = 20261123

Cell = str | int | float | None


@dataclass(frozen=True)
class Machine:
    """Where a benchmark ran: figures are only comparable on the same kind of machine."""

    cpu: str
    cores: int
    usable_cores: int
    memory_gb: float
    system: str
    python: str
    packages: dict[str, str]

    def describe(self) -> str:
        """One line for the head of a printed table."""
        versions = ", ".join(f"{name} {version}" for name, version in self.packages.items())
        return (
            f"{self.cpu}, {self.cores} cores ({self.usable_cores} usable), {self.memory_gb:.0f} GB RAM, "
            f"{self.system}, Python {self.python}, {versions}"
        )


def machine_info(packages: Iterable[str] = DEFAULT_PACKAGES) -> Machine:
    """The CPU model (``/proc/cpuinfo``), core counts, memory, and the versions of ``packages``."""
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        usable_cores=len(os.sched_getaffinity(0)),
        memory_gb=_total_memory_bytes() / 2**30,
        system=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        packages={name: package_version(name) for name in packages},
    )


def package_version(name: str) -> str:
    """The installed version of a distribution, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def rss_bytes() -> int:
    """Resident set size of this process now (``/proc/self/statm``; memory-mapped pages count once
    they have been touched)."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """The highest resident set size this process has had (``VmHWM``)."""
    return _status_bytes("VmHWM")


def anonymous_rss_bytes() -> int:
    """Resident memory not backed by a file (``RssAnon``): what a process allocated itself, without
    the pages of files it has read through a memory map."""
    return _status_bytes("RssAnon")


def load_average() -> float:
    """The machine's one-minute load average: above the core count, other work competed for the CPU."""
    return os.getloadavg()[0]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0.5: median) of ``values``, interpolated."""
    if not values:
        raise ValueError("no values")
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=1000, method="inclusive")[round(fraction * 1000) - 1])


def latencies(call: Callable[[int], object], count: int) -> list[float]:
    """Seconds of ``call(i)`` for i in range(count), one call at a time."""
    times = []
    for i in range(count):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return times


def latency_ms(times: Sequence[float]) -> dict[str, float]:
    """The median and 99th percentile of ``times`` (seconds), in milliseconds."""
    return {"p50_ms": 1e3 * percentile(times, 0.5), "p99_ms": 1e3 * percentile(times, 0.99)}


def ratio(value: float | None, baseline: float | None) -> str | None:
    """``value / baseline`` as "2.50x" (three significant digits at most, two below 0.1), or None when
    either is missing or the baseline is zero."""
    if value is None or not baseline:
        return None
    times = value / baseline
    if times >= 10:
        return f"{times:.0f}x"
    return f"{times:.2f}x" if times >= 0.1 else f"{times:.2g}x"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """A GitHub markdown table; numbers are right-aligned, None prints as an empty cell."""
    text_rows = [[format_cell(cell) for cell in row] for row in rows]
    for row in text_rows:
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} cells, the table {len(headers)} columns: {row}")
    numeric = [
        all(_is_number(row[column]) for row in text_rows if row[column]) for column in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if right else "---" for right in numeric) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in text_rows]
    return "\n".join(lines)


def format_cell(cell: Cell) -> str:
    """Numbers with three significant digits (thousands kept whole), text as is."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        return f"{cell:.0f}" if abs(cell) >= 1000 else f"{cell:.3g}"
    return cell


def write_json(
    name: str,
    record: Mapping[str, Any],
    *,
    seed: int,
    machine: Machine,
    directory: Path = RESULTS_DIR,
) -> Path:
    """Write ``record`` with the machine, the seed, the command line and a UTC timestamp to
    ``directory/<name>-<timestamp>.json``; returns the path."""
    now = datetime.now(UTC)
    document = {
        "benchmark": name,
        "timestamp": now.isoformat(timespec="seconds"),
        "seed": seed,
        "command": [Path(sys.executable).name, *sys.argv],
        "machine": machine.__dict__,
        **record,
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(document, indent=2, default=_jsonable) + "\n")
    return path


@dataclass(frozen=True)
class PartResult:
    """What one part of the suite hands back: its section of the printed report and its JSON record."""

    name: str
    title: str
    markdown: str
    record: dict[str, Any]


def add_part_arguments(parser: argparse.ArgumentParser, quick: str) -> None:
    """The options every part takes: ``--quick`` (described by ``quick``), ``--seed``, and the hidden
    ``--record`` through which ``python -m benchmarks`` collects the result."""
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--seed", type=int, default=SEED, help=f"for every generated code (default {SEED})")
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)


def finish_part(part: PartResult, args: argparse.Namespace) -> None:
    """Under the suite (``--record``): write the result there. Alone: print the machine and the part's
    section, and write its JSON record under ``benchmarks/results/``."""
    if args.record is not None:
        args.record.write_text(json.dumps(asdict(part), default=_jsonable) + "\n")
        return
    machine = machine_info()
    print(f"Machine: {machine.describe()}. Seed {args.seed}.\n\n{part.markdown}")
    path = write_json(part.name, part.record, seed=args.seed, machine=machine)
    print(f"\nJSON: {path}", file=sys.stderr)


def progress(text: str) -> None:
    """A progress line on stderr: stdout carries only the report."""
    print(text, file=sys.stderr, flush=True)


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field} line")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _total_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("x%"))
    except ValueError:
        return False
    return True


def _jsonable(value: object) -> object:
    """NumPy scalars and other stragglers as plain JSON values."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    return str(value)
