"""Re-matching stored files: ``hashmatch scan --rematch-only`` against the server's own match rate.

A hoster's state file keeps every file's hashes; once a hotline publishes a new version, every stored file
that did not match is sent again (no file is read). Is that bounded by the server or by the client? In one
run, on one served list (PDQ and MD5 entries, through the real import and publish):

- a real scan of a few photo-like JPEGs makes a state file with the scan's settings; its rows are then
  copied to ``--files`` stored files with random hashes of the same types and variants (what a scan of as
  many distinct images stores: 8 PDQ turns, pHash and dHash as stored and mirrored, MD5, SHA-256), all
  answered by an older index version;
- ``hashmatch scan --rematch-only`` (a new process, as cron runs it) re-matches them all: stored files and
  hashes per second, wall time;
- the baseline: the same hashes in the same batches (the scan's default batch size), sent by a minimal
  keep-alive client one request after another (what one client can get from the server: the server's rate
  at one connection) and by a load generator of two connections (the server's rate with its cores busy).

    python -m benchmarks --only rematch [--quick]
    python -m benchmarks.rematch --files 2000 --size 100000     # alone, small
"""

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.report import (
    Cell,
    PartResult,
    add_part_arguments,
    finish_part,
    markdown_table,
    progress,
    ratio,
)
from benchmarks.server import Client, build, load, start_server
from scanner.defaults import DEFAULT_BATCH_ITEMS
from tests.fixtures.images import photo, save_jpeg

HEADERS = (
    "measurement",
    "stored files/s",
    "hashes/s",
    "seconds",
    "client CPU s",
    "vs server at 1 connection",
)
OLD_VERSION = "0" * 32
"""The index version the copied rows were answered by: never the served one."""


def _scan(root: Path, state: Path, url: str, key: str, *extra: str) -> tuple[float, float]:
    """``hashmatch scan`` in a new process; its wall time and CPU time."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "scan",
            str(root),
            "--server",
            url,
            "--key",
            key,
            "--ref-prefix",
            "bench/",
            "--state",
            str(state),
            "--report",
            str(root.parent / "report.csv"),
            *extra,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime


def _random_hash(text: str, rng: np.random.Generator) -> str:
    return rng.integers(0, 256, len(text) // 2, dtype=np.uint8).tobytes().hex()


def fill_state(state: Path, files: int, rng: np.random.Generator) -> list[list[list[object]]]:
    """Copy the state's scanned rows to ``files`` rows of random hashes (same types and variants), all
    answered by an older version; the hashes of every row, as stored."""
    with sqlite3.connect(state) as db:
        templates = [json.loads(text) for (text,) in db.execute("SELECT hashes FROM files")]
        db.execute("DELETE FROM files")
        stored = []
        for n in range(files):
            template = templates[n % len(templates)]
            stored.append([[row[0], _random_hash(row[1], rng), *row[2:]] for row in template])
        db.executemany(
            "INSERT INTO files (path, size, mtime_ns, matched, sent_at, hashes, index_version) "
            "VALUES (?, 1, 1, 0, '2026-01-01T00:00:00+00:00', ?, ?)",
            (
                (f"stored/{n:08d}.jpg", json.dumps(row, separators=(",", ":")), OLD_VERSION)
                for n, row in enumerate(stored)
            ),
        )
    return stored


def _bodies(stored: list[list[list[object]]]) -> list[bytes]:
    """The same hashes in requests of the scan's default batch size (whole files per request)."""
    bodies: list[bytes] = []
    items: list[dict[str, object]] = []
    for n, hashes in enumerate(stored):
        file_items = [
            {
                "type": row[0],
                "hash": row[1],
                "ref": f"bench/stored/{n:08d}.jpg",
                **({"variant": True} if len(row) > 2 else {}),
            }
            for row in hashes
        ]
        if items and len(items) + len(file_items) > DEFAULT_BATCH_ITEMS:
            bodies.append(json.dumps({"items": items}).encode())
            items = []
        items.extend(file_items)
    if items:
        bodies.append(json.dumps({"items": items}).encode())
    return bodies


def run(size: int, files: int, seed: int) -> tuple[list[list[Cell]], str]:
    rng = np.random.default_rng([seed, size, files])
    with tempfile.TemporaryDirectory(prefix="hashmatch-rematch-") as directory:
        work = Path(directory)
        data_dir = work / "data"
        data_dir.mkdir()
        key, _, _ = build(data_dir, size, rng)
        root = work / "storage"
        root.mkdir()
        for n in range(4):
            save_jpeg(photo(seed + n, (800, 600)), root / f"{n}.jpg")
        state = work / "state.sqlite"
        server, port = start_server(data_dir, workers=2)
        url = f"http://127.0.0.1:{port}"
        try:
            _scan(root, state, url, key)  # the state file, with the scan's settings and real hashes
            stored = fill_state(state, files, rng)
            hashes = sum(len(row) for row in stored)
            progress(f"rematch: {files:,} stored files, {hashes:,} hashes against {size:,} entries")
            rematch_s, client_cpu = _scan(root, state, url, key, "--rematch-only")
            with sqlite3.connect(state) as db:
                left = db.execute(
                    "SELECT count(*) FROM files WHERE index_version = ?", (OLD_VERSION,)
                ).fetchone()
            if left[0]:
                raise RuntimeError(f"{left[0]} stored files were not matched again")
            bodies = _bodies(stored)
            client = Client(port, key)
            started = time.perf_counter()
            for body in bodies:
                client.post("/v1/match", body)
            one_s = time.perf_counter() - started
            client.connection.close()
            rate_two, _ = load(port, key, bodies, 2)
            two_s = len(bodies) / rate_two
        finally:
            server.terminate()
            server.wait(timeout=60)

    def row(name: str, seconds: float, cpu: float | None = None) -> list[Cell]:
        return [name, files / seconds, hashes / seconds, seconds, cpu, ratio(one_s, seconds)]

    rows = [
        row("`hashmatch scan --rematch-only` (new process, its start included)", rematch_s, client_cpu),
        row("server, the same batches, 1 connection (baseline)", one_s),
        row("server, the same batches, 2 connections", two_s),
    ]
    note = (
        f"{size:,} PDQ (threshold 31) + {size:,} MD5 entries; {files:,} stored files of {hashes / files:.0f} "
        f"hashes each, requests of at most {DEFAULT_BATCH_ITEMS:,} hashes; `hashmatch serve --workers 2`."
    )
    return rows, note


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.rematch", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add_part_arguments(parser, "100K entries and 20,000 stored files (default: 1M and 100,000)")
    parser.add_argument("--size", type=int, help="listed PDQ (and MD5) entries")
    parser.add_argument("--files", type=int, help="stored files to match again")
    args = parser.parse_args(argv)
    size = args.size or (100_000 if args.quick else 1_000_000)
    files = args.files or (20_000 if args.quick else 100_000)
    rows, note = run(size, files, args.seed)
    markdown = (
        f"{note} Last column: the time the server takes for the same batches at one connection over the "
        "row's time (1.00x: re-matching runs at the server's rate).\n\n" + markdown_table(HEADERS, rows)
    )
    finish_part(
        PartResult(
            "rematch", "Re-matching stored files", markdown, {"size": size, "files": files, "rows": rows}
        ),
        args,
    )


if __name__ == "__main__":
    main()
