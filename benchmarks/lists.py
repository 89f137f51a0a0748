"""Benchmark: a hotline's list from file to served index, at 10M PDQ entries (``--quick``: 1M).

Generates a CSV file of random PDQ hashes, then times each step on the embedded default (SQLite file,
local index files): reading and validating the file, the import (one list version), the publish (index
build, files, pointer), a daily full replace changing 1 % of the entries, and the reload of the
served index by a watcher (the API's background swap). The baseline, measured in the same run, is the
matcher alone: reading the same file and building the index, without a database. Wall and CPU time
are both shown: on a shared machine the wall time includes waiting for a core.

    python -m benchmarks --only lists [--quick]
    python -m benchmarks.lists [--quick] [--entries N] [--database-url URL]   # alone
"""

import argparse
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.report import (
    Cell,
    PartResult,
    add_part_arguments,
    finish_part,
    markdown_table,
    progress,
    ratio,
)
from db import make_engine, make_session_factory, upgrade
from db.models import HashList, Organisation
from indexer.formats import read_list
from indexer.listfile import ListFile
from indexer.lists import Mode, create_list, import_list
from indexer.publishing import publish
from indexer.watcher import IndexWatcher
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


def write_csv(path: Path, lists: Mapping[str, np.ndarray]) -> None:
    """``type,hash`` rows of every hash type's codes, written a block at a time."""
    with path.open("w") as stream:
        stream.write("type,hash\n")
        for name, codes in lists.items():
            for start in range(0, codes.shape[0], 500_000):
                block = codes[start : start + 500_000]
                stream.write("".join(f"{name},{row.hex()}\n" for row in (bytes(r) for r in block)))


def bench_list(database_url: str) -> tuple[sessionmaker[Session], int]:
    """A migrated database with one hotline's empty list: its sessions and the list's id."""
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        session.add(Organisation(name="EOKM", role="hotline"))
        session.flush()
        return sessions, create_list(session, "EOKM", "bench").id


def read_csv(path: Path) -> ListFile:
    """The validated rows of a list file in CSV."""
    with path.open() as stream:
        return read_list(stream, "csv")


def import_found(
    sessions: sessionmaker[Session], list_id: int, found: ListFile, mode: Mode, source: str
) -> None:
    """Import ``found`` as the list's next version (one transaction)."""
    with sessions.begin() as session:
        hash_list = session.get(HashList, list_id)
        assert hash_list is not None
        import_list(session, hash_list, found, mode=mode, source=source)


def run(entries: int, workdir: Path, database_url: str, seed: int) -> list[Step]:
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
        progress(f"lists {name}: {steps[-1].seconds:.1f} s")

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (entries, 32), dtype=np.uint8)
    csv_file = workdir / "list.csv"
    write_csv(csv_file, {"pdq": codes})
    changed = codes.copy()
    replaced = rng.choice(entries, entries // 100, replace=False)
    changed[replaced] = rng.integers(0, 256, (replaced.size, 32), dtype=np.uint8)
    update_file = workdir / "update.csv"
    write_csv(update_file, {"pdq": changed})
    del codes, changed
    size_mb = csv_file.stat().st_size / 2**20

    sessions, list_id = bench_list(database_url or f"sqlite:///{workdir / 'hashmatch.db'}")
    index_dir = workdir / "indexes"

    total, total_cpu = time.perf_counter(), time.process_time()
    with step("read + validate CSV", f"{size_mb:.0f} MB"):
        found = read_csv(csv_file)
    with step("import (version 1)"):
        import_found(sessions, list_id, found, "full", csv_file.name)
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
        import_found(sessions, list_id, read_csv(update_file), "full", update_file.name)
        result = publish(sessions, index_dir)
    steps[-1].note = f"{result.removed:,} entries replaced"

    watcher = IndexWatcher(index_dir)
    with step("reload: watcher loads and swaps the served index"):
        watcher.check()
    query = get_hash_type("pdq").parse_many([bytes(32).hex()])
    assert watcher.current is not None
    watcher.current.search("pdq", query, 48)

    with step("baseline: matcher only, CSV read + index build, no database"):
        hashes = read_csv(csv_file).by_type["pdq"]
        get_hash_type("pdq").build_index(hashes.codes, hashes.lines)
        del hashes
    memory._stop.set()
    return steps


HEADERS = ("step", "wall s", "CPU s", "peak RSS MB", "vs matcher only (wall)", "note")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.lists",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_part_arguments(parser, "1M entries instead of 10M")
    parser.add_argument("--entries", type=int, help="number of PDQ entries")
    parser.add_argument("--database-url", default="", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args(argv)
    entries = args.entries or (10**6 if args.quick else 10**7)
    workdir = Path(tempfile.mkdtemp(prefix="hashmatch-bench-lists-"))
    progress(f"lists: {entries:,} PDQ entries in {workdir}")
    try:
        steps = run(entries, workdir, args.database_url, args.seed)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    database = args.database_url.split(":", 1)[0] if args.database_url else "SQLite"
    baseline = steps[-1]
    end_to_end = next(s for s in steps if "end to end" in s.name)
    rows: list[list[Cell]] = [
        [
            step.name,
            step.seconds,
            step.cpu_seconds,
            step.peak_mb,
            ratio(step.seconds, baseline.seconds),
            step.note,
        ]
        for step in steps
    ]
    markdown = (
        f"{entries:,} random PDQ hashes, CSV `type,hash`; {database}. Baseline: the matcher alone "
        "(CSV read + index build, no database), same run.\n\n"
        + markdown_table(HEADERS, rows)
        + f"\n\nEnd to end {end_to_end.seconds / entries * 1e6:.2f} µs per entry. Load average at the end: "
        f"{os.getloadavg()[0]:.1f} (wall time above CPU time: the process waited for a core or the disk)."
    )
    record = {"entries": entries, "database": database, "steps": [step.__dict__ for step in steps]}
    finish_part(PartResult("lists", "Lists: import, publish, reload", markdown, record), args)


if __name__ == "__main__":
    main()
