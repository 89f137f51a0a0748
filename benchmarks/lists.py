"""Benchmark: a hotline's list from file to served index, at 10M PDQ entries (``--quick``: 1M).

Generates a CSV file of random PDQ hashes, then times each step on the embedded default (SQLite file,
local index files): reading and validating the file, the import (one list version), the publish (index
build, files, pointer), a daily full replace changing 1 % of the entries, and the reload of the
served index by a watcher (the API's background swap). The baseline, measured in the same run, is the
matcher alone: reading the same file and building the index, without a database. Wall and CPU time
are both shown: on a shared machine the wall time includes waiting for a core.

    python -m benchmarks.lists [--quick] [--entries N] [--database-url URL]
"""

import argparse
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from db import make_engine, make_session_factory, upgrade
from db.models import HashList, Organisation
from indexer.formats import ListFile, read_list
from indexer.lists import create_list, import_list
from indexer.publishing import publish
from indexer.serving import IndexWatcher
from matcher import get_hash_type


@dataclass
class Step:
    name: str
    seconds: float
    cpu_seconds: float  # of every thread of this process: the work, whatever else the machine runs
    peak_mb: float
    note: str = ""


class PeakMemory:
    """Samples this process's resident memory every 20 ms; ``peak`` since the last reset."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        self._peak = self._process.memory_info().rss

    @property
    def peak_mb(self) -> float:
        rss: int = self._process.memory_info().rss
        return max(self._peak, rss) / 2**20

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._peak = max(self._peak, self._process.memory_info().rss)


def write_csv(path: Path, codes: np.ndarray) -> None:
    """``type,hash`` rows, written a block at a time."""
    with path.open("w") as stream:
        stream.write("type,hash\n")
        for start in range(0, codes.shape[0], 500_000):
            block = codes[start : start + 500_000]
            stream.write("".join(f"pdq,{row.hex()}\n" for row in (bytes(r) for r in block)))


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def run(entries: int, workdir: Path, database_url: str) -> list[Step]:
    steps: list[Step] = []
    memory = PeakMemory()

    @contextmanager
    def step(name: str, note: str = "") -> Iterator[None]:
        memory.reset()
        started, cpu = time.perf_counter(), time.process_time()
        yield
        steps.append(
            Step(name, time.perf_counter() - started, time.process_time() - cpu, memory.peak_mb, note)
        )
        print(f"  {name}: {steps[-1].seconds:.1f} s", flush=True)

    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, (entries, 32), dtype=np.uint8)
    csv_file = workdir / "list.csv"
    write_csv(csv_file, codes)
    changed = codes.copy()
    replaced = rng.choice(entries, entries // 100, replace=False)
    changed[replaced] = rng.integers(0, 256, (replaced.size, 32), dtype=np.uint8)
    update_file = workdir / "update.csv"
    write_csv(update_file, changed)
    del codes, changed
    size_mb = csv_file.stat().st_size / 2**20

    engine = make_engine(database_url or f"sqlite:///{workdir / 'hashmatch.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        session.add(Organisation(name="EOKM", role="hotline"))
        session.flush()
        list_id = create_list(session, "EOKM", "bench").id
    index_dir = workdir / "indexes"

    def read(path: Path) -> ListFile:
        with path.open() as stream:
            return read_list(stream, "csv")

    total, total_cpu = time.perf_counter(), time.process_time()
    with step("read + validate CSV", f"{size_mb:.0f} MB"):
        found = read(csv_file)
    with step("import (version 1)"):
        with sessions.begin() as session:
            hash_list = session.get(HashList, list_id)
            assert hash_list is not None
            import_list(session, hash_list, found, mode="full", source=csv_file.name)
        del found
    with step("publish (build + write + serve)"):
        publish(sessions, index_dir)
    end_to_end = Step(
        "**import + publish, end to end**",
        time.perf_counter() - total,
        time.process_time() - total_cpu,
        max(s.peak_mb for s in steps[-3:]),
    )
    steps.append(end_to_end)

    with step("daily full replace, 1 % changed (read + import + publish)"):
        found = read(update_file)
        with sessions.begin() as session:
            hash_list = session.get(HashList, list_id)
            assert hash_list is not None
            import_list(session, hash_list, found, mode="full", source=update_file.name)
        del found
        result = publish(sessions, index_dir)
    steps[-1].note = f"{result.removed:,} entries replaced"

    watcher = IndexWatcher(index_dir)
    with step("reload: watcher loads and swaps the served index"):
        watcher.check()
    query = get_hash_type("pdq").parse_many([bytes(32).hex()])
    assert watcher.current is not None
    watcher.current.search("pdq", query, 48)

    with step("baseline: matcher only, CSV read + index build, no database"):
        hashes = read(csv_file).by_type["pdq"]
        get_hash_type("pdq").build_index(hashes.codes, hashes.lines)
        del hashes
    memory._stop.set()
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1M entries instead of 10M")
    parser.add_argument("--entries", type=int, help="number of PDQ entries")
    parser.add_argument("--database-url", default="", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    entries = args.entries or (10**6 if args.quick else 10**7)
    workdir = Path(tempfile.mkdtemp(prefix="hashmatch-bench-lists-"))
    print(f"benchmark: {entries:,} PDQ entries in {workdir}", flush=True)
    try:
        steps = run(entries, workdir, args.database_url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    database = args.database_url.split(":", 1)[0] if args.database_url else "SQLite"
    print(f"Machine: {machine()}. List: {entries:,} random PDQ hashes, CSV `type,hash`; {database}.")
    print()
    print("| step | wall time | CPU time | peak memory (RSS) | note |")
    print("|---|---:|---:|---:|---|")
    for found in steps:
        print(
            f"| {found.name} | {_duration(found.seconds)} | {_duration(found.cpu_seconds)} "
            f"| {found.peak_mb:,.0f} MB | {found.note} |"
        )
    baseline = steps[-1]
    end_to_end = next(s for s in steps if "end to end" in s.name)
    print()
    print(
        f"End to end {end_to_end.seconds / entries * 1e6:.2f} µs per entry, "
        f"{end_to_end.seconds / baseline.seconds:.1f}x the matcher alone ({baseline.seconds:.1f} s). "
        f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(wall time above CPU time: the process waited for a core or the disk)."
    )


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


if __name__ == "__main__":
    main()
