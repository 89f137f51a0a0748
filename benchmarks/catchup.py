"""Replica catch-up: from a publish's commit to a replica serving the new version out of an S3 index store,
10M PDQ entries (``--quick``: 1M).

moto's server (a real S3 API on loopback, as the tests start it) is the store; the database is a SQLite file
(or ``--database-url``) shared by this process, the publisher, and the replicas (``hashmatch serve``, one
worker, their own data directories, the default poll interval). The benchmark watches each replica's cache
directory and its ``/readyz``: **wait** (commit to the download's staging directory: the poll interval),
**download** (to the last byte of the manifest's files), **verify** (the checksums of the download, its
fsyncs, the rename into the cache), **load** (to ``/readyz`` answering the version: the watcher maps the files
its download verified, swaps). Two cases: a replica with an empty cache catches up on the full publish;
then a second replica, its cache seeded with that version, catches up on a delta publish adding 1 % more
entries. Baseline, same run: a local copy of the same version's files (``shutil.copytree``, page cache to
page cache, no fsync; the fastest of three).

    python -m benchmarks --only catchup [--quick]
    python -m benchmarks.catchup [--quick] [--entries N] [--database-url URL]   # alone
"""

import argparse
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from benchmarks.lists import bench_list, import_found, read_csv, write_csv
from benchmarks.report import (
    Cell,
    PartResult,
    add_part_arguments,
    finish_part,
    markdown_table,
    progress,
    ratio,
)
from benchmarks.server import start_server
from indexer.lists import Mode
from indexer.publishing import publish
from indexer.serving import read_manifest
from indexer.store import IndexStore
from tests.s3 import s3_server

TIMEOUT = 3600.0


@dataclass
class CatchUp:
    case: str
    version: str
    seconds: dict[str, float]  # wait, download, verify, load, total
    downloaded_bytes: int
    copy_seconds: float


def written(path: Path) -> int:
    """Bytes written into a file: its allocated blocks (s3fs sizes a file it downloads in parts before it
    writes them), at most its size."""
    stat = path.stat()
    return min(stat.st_size, stat.st_blocks * 512)


def watch_cache(cache: Path, version: str, size: int, marks: dict[str, float], stop: threading.Event) -> None:
    """Record in ``marks`` when the download of ``version`` into ``cache`` starts, has written ``size`` bytes,
    and is renamed into place (polled every 5 ms)."""
    while not stop.is_set() and "renamed" not in marks:
        now = time.perf_counter()
        try:
            for staging in cache.glob(f".{version}.download-*"):
                marks.setdefault("started", now)
                if sum(written(path) for path in staging.rglob("*") if path.is_file()) >= size:
                    marks.setdefault("downloaded", now)
        except OSError:  # renamed or removed while listed
            pass
        if (cache / version).is_dir():
            marks["renamed"] = now
        time.sleep(0.005)


def catch_up(port: int, cache: Path, version: str, size: int, committed: float) -> dict[str, float]:
    """Seconds of each step (see the module) of the replica on ``port`` from ``committed`` to serving
    ``version``."""
    marks: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch_cache, args=(cache, version, size, marks, stop), daemon=True)
    watcher.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while True:
                answer = client.get("/readyz")
                if answer.status_code == 200 and answer.json().get("index_version") == version:
                    served = time.perf_counter()
                    break
                if time.perf_counter() - committed > TIMEOUT:
                    raise RuntimeError(f"the replica did not serve {version}: {answer.text}")
                time.sleep(0.02)
    finally:
        stop.set()
        watcher.join()
    renamed = marks.get("renamed", served)
    downloaded = marks.get("downloaded", renamed)  # a step shorter than one look: none seen
    started = marks.get("started", downloaded)
    return {
        "wait": started - committed,
        "download": downloaded - started,
        "verify": renamed - downloaded,
        "load": served - renamed,
        "total": served - committed,
    }


def local_copy(source: Path, target: Path, runs: int = 3) -> float:
    """Seconds to copy a version's directory on this machine, the fastest of ``runs``: the baseline. The
    last copy stays."""
    times = []
    for _ in range(runs):
        shutil.rmtree(target, ignore_errors=True)
        started = time.perf_counter()
        shutil.copytree(source, target)
        times.append(time.perf_counter() - started)
    return min(times)


def stop_server(server: "subprocess.Popen[bytes]") -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=120)


def run(entries: int, workdir: Path, database_url: str, seed: int) -> tuple[list[CatchUp], dict[str, float]]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (entries + entries // 100, 32), dtype=np.uint8)
    write_csv(workdir / "list.csv", {"pdq": codes[:entries]})
    write_csv(workdir / "delta.csv", {"pdq": codes[entries:]})
    del codes
    database_url = database_url or f"sqlite:///{workdir / 'hashmatch.db'}"
    sessions, list_id = bench_list(database_url)
    publisher = workdir / "publisher" / "indexes"
    steps: dict[str, float] = {}
    results: list[CatchUp] = []
    with s3_server() as s3:
        store = IndexStore(s3.fresh_store(), s3.endpoint_url)
        settings = {
            "HASHMATCH_DATABASE_URL": database_url,
            "HASHMATCH_INDEX_STORE": store.url,
            "HASHMATCH_S3_ENDPOINT_URL": s3.endpoint_url,
            "HASHMATCH_TICK_SECONDS": "0",
        }

        def publish_and_measure(case: str, mode: Mode, name: str, port: int, cache: Path) -> CatchUp:
            started = time.perf_counter()
            import_found(sessions, list_id, read_csv(workdir / name), mode, name)
            steps[f"{mode} import"] = time.perf_counter() - started
            started = time.perf_counter()
            version = publish(sessions, publisher, store=store).version
            committed = time.perf_counter()  # publish returns right after its commit and the CURRENT hint
            steps[f"{mode} publish (build, upload, commit)"] = committed - started
            assert version is not None
            files = read_manifest(publisher, version)["files"]
            size = sum(int(listed["size"]) for listed in files.values())
            progress(f"catchup {case}: published {version}, {size / 2**20:.0f} MiB; waiting for the replica")
            seconds = catch_up(port, cache, version, size, committed)
            progress(f"catchup {case}: served after {seconds['total']:.1f} s")
            manifest_bytes = (publisher / version / "manifest.json").stat().st_size
            return CatchUp(case, version, seconds, size + manifest_bytes, 0.0)

        first, second = workdir / "replica-1", workdir / "replica-2"
        replica, port = start_server(first, settings=settings, ready="/healthz")  # nothing published yet
        try:
            results.append(
                publish_and_measure("empty cache, full publish", "full", "list.csv", port, first / "indexes")
            )
        finally:
            stop_server(replica)
        version = results[0].version
        results[0].copy_seconds = local_copy(first / "indexes" / version, second / "indexes" / version)
        replica, port = start_server(second, settings=settings)  # serves the seeded version
        try:
            results.append(
                publish_and_measure(
                    "holding it, delta publish +1 %", "delta", "delta.csv", port, second / "indexes"
                )
            )
        finally:
            stop_server(replica)
        results[1].copy_seconds = local_copy(second / "indexes" / results[1].version, workdir / "copy")
    return results, steps


HEADERS = (
    "replica", "wait s", "download s", "verify s", "load s", "**commit to served s**", "MiB downloaded",
    "download MiB/s", "local copy s", "download vs local copy",
)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.catchup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_part_arguments(parser, "1M entries instead of 10M")
    parser.add_argument("--entries", type=int, help="number of PDQ entries")
    parser.add_argument("--database-url", default="", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args(argv)
    entries = args.entries or (10**6 if args.quick else 10**7)
    workdir = Path(tempfile.mkdtemp(prefix="hashmatch-bench-catchup-"))
    progress(f"catchup: {entries:,} PDQ entries in {workdir}")
    load_before = os.getloadavg()[0]
    try:
        results, steps = run(entries, workdir, args.database_url, args.seed)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()[0]
    rows: list[list[Cell]] = []
    for result in results:
        seconds, megabytes = result.seconds, result.downloaded_bytes / 2**20
        rows.append(
            [
                result.case,
                *(seconds[step] for step in ("wait", "download", "verify", "load", "total")),
                megabytes,
                megabytes / seconds["download"] if seconds["download"] else None,
                result.copy_seconds,
                ratio(seconds["download"], result.copy_seconds),
            ]
        )
    database = args.database_url.split(":", 1)[0] if args.database_url else "SQLite"
    publishing = ", ".join(f"{name} {value:.1f} s" for name, value in steps.items())
    markdown = (
        f"{entries:,} random PDQ entries, then {entries // 100:,} more; moto's S3 server on loopback; "
        f"{database}; `hashmatch serve`, 1 worker, polling every 2 s. Baseline: a local copy of the same "
        f"version's files (fastest of 3), same run. Load average {load_before:.1f} at the start, "
        f"{load_after:.1f} at the end.\n\n"
        + markdown_table(HEADERS, rows)
        + f"\n\nThe publisher, in this process: {publishing}."
    )
    record = {
        "entries": entries,
        "database": database,
        "load_average": {"start": load_before, "end": load_after},
        "publisher_seconds": steps,
        "replicas": [result.__dict__ for result in results],
    }
    finish_part(PartResult("catchup", "Replica catch-up from the S3 index store", markdown, record), args)


if __name__ == "__main__":
    main()
