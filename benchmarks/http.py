"""HTTP match benchmark: a real ``hashmatch serve`` (uvicorn) over loopback against a 1M-entry list
(``--full``: 10M as well).

For each size it writes a list of random PDQ entries (and as many MD5s) into a fresh SQLite database,
indexes and publishes them, starts the server and measures, with a keep-alive HTTP/1.1 client:

- single-hash latency (p50, p99) of ``POST /v1/match`` with one PDQ item, one MD5 item, and a matching
  PDQ item (which opens a notice: a write and a commit);
- batch throughput: batches of 1,000 PDQ items, hashes per second;
- baselines from the same run: ``GET /healthz`` over the same connection (the HTTP floor) and the
  in-process index search for the same queries (no HTTP, no database).

Run: ``python -m benchmarks.http`` (about 2 minutes) or ``python -m benchmarks.http --full``.
"""

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from accounts import create_organisation, issue_key
from db import make_engine, make_session_factory, upgrade
from db.models import Entry, HashList, ListVersion
from indexer.serving import publish
from matcher import HASH_TYPES, Index

PDQ_THRESHOLD = 31
CHUNK = 100_000


def _now() -> datetime:
    return datetime.now(UTC)


def build(data_dir: Path, size: int, rng: np.random.Generator) -> tuple[str, np.ndarray, dict[str, Index]]:
    """A database with a hotline list of ``size`` PDQ and ``size`` MD5 entries, published; a hoster's key."""
    engine = make_engine(f"sqlite:///{data_dir / 'hashmatch.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        hotline = create_organisation(session, "Bench Hotline", "hotline", _now())
        hoster = create_organisation(session, "Bench Hosting", "hoster", _now())
        key = issue_key(session, hoster, "bench", _now()).secret
        hash_list = HashList(organisation_id=hotline.id, name="bench", thresholds={"pdq": PDQ_THRESHOLD})
        session.add(hash_list)
        session.flush()
        version = ListVersion(list_id=hash_list.id, number=1, mode="full", state="complete")
        session.add(version)
        session.flush()
        list_id, version_id = hash_list.id, version.id
    pdq = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    md5 = rng.integers(0, 256, (size, 16), dtype=np.uint8)
    with engine.begin() as connection:
        for offset, (codes, name) in enumerate(((pdq, "pdq"), (md5, "md5"))):
            for start in range(0, size, CHUNK):
                rows = [
                    {
                        "id": offset * size + start + i + 1,
                        "list_id": list_id,
                        "hash_type": name,
                        "value": codes[start + i].tobytes(),
                        "item": f"item{start + i}",
                        "added_in": version_id,
                    }
                    for i in range(min(CHUNK, size - start))
                ]
                connection.execute(insert(Entry), rows)
    ids = np.arange(1, size + 1, dtype=np.int64)
    indexes = {
        "pdq": HASH_TYPES["pdq"].build_index(pdq, ids, design_threshold=PDQ_THRESHOLD),
        "md5": HASH_TYPES["md5"].build_index(md5, ids + size),
    }
    publish(data_dir / "indexes", "bench", indexes, {"search_thresholds": {"pdq": PDQ_THRESHOLD, "md5": 0}})
    with engine.connect() as connection:  # fold the import into the database file, as after any large import
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return key, pdq, indexes


class Client:
    """One keep-alive HTTP/1.1 connection: as little client overhead as the standard library allows."""

    def __init__(self, port: int, key: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(self, path: str, body: bytes) -> bytes:
        self.connection.request("POST", path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}: {data[:200]!r}")
        return data

    def get(self, path: str) -> bytes:
        self.connection.request("GET", path)
        return self.connection.getresponse().read()


def _timed(call: Callable[[int], object], count: int) -> np.ndarray:
    times = np.empty(count)
    for n in range(count):
        started = time.perf_counter()
        call(n)
        times[n] = time.perf_counter() - started
    return times * 1000


def _start(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {
        **os.environ,
        "HASHMATCH_DATA_DIR": str(data_dir),
        "HASHMATCH_DATABASE_URL": "",
        "HASHMATCH_RATE_PER_SECOND": "1000000",
        "HASHMATCH_RATE_BURST": "1000000",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not become ready")


def _items(kind: str, codes: np.ndarray, refs: str) -> bytes:
    return json.dumps(
        {
            "items": [
                {"type": kind, "hash": code.tobytes().hex(), "ref": f"{refs}{n}"}
                for n, code in enumerate(codes)
            ]
        }
    ).encode()


def run(size: int, singles: int, batches: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(size)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="hashmatch-http-") as directory:
        data_dir = Path(directory)
        started = time.perf_counter()
        key, listed, indexes = build(data_dir, size, rng)
        rows.append(("list build (DB rows + index + publish)", f"{time.perf_counter() - started:.1f} s"))
        server, port = _start(data_dir)
        try:
            client = Client(port, key)
            for _ in range(50):  # warm up
                client.get("/healthz")
                client.post("/v1/match", _items("md5", rng.integers(0, 256, (1, 16), dtype=np.uint8), "w"))
            floor = _timed(lambda n: client.get("/healthz"), singles)
            queries = rng.integers(0, 256, (singles, 32), dtype=np.uint8)
            bodies = [_items("pdq", queries[n : n + 1], "q") for n in range(singles)]
            pdq = _timed(lambda n: client.post("/v1/match", bodies[n]), singles)
            md5_bodies = [
                _items("md5", rng.integers(0, 256, (1, 16), dtype=np.uint8), "m") for _ in range(singles)
            ]
            md5 = _timed(lambda n: client.post("/v1/match", md5_bodies[n]), singles)
            near = listed[:singles].copy()
            near[:, 0] ^= 0x0F  # 4 bits away: a match, and a notice per ref
            hit_bodies = [_items("pdq", near[n : n + 1], f"hit{n}-") for n in range(singles)]
            hits = _timed(lambda n: client.post("/v1/match", hit_bodies[n]), singles)
            search = _timed(lambda n: indexes["pdq"].search(queries[n : n + 1], PDQ_THRESHOLD), singles)
            batch_codes = rng.integers(0, 256, (batches, 1000, 32), dtype=np.uint8)
            batch_bodies = [_items("pdq", batch_codes[n], "b") for n in range(batches)]
            batch = _timed(lambda n: client.post("/v1/match", batch_bodies[n]), batches)
            batch_search = _timed(lambda n: indexes["pdq"].search(batch_codes[n], PDQ_THRESHOLD), batches)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)

    def pct(times: np.ndarray) -> str:
        return f"{np.percentile(times, 50):.2f} / {np.percentile(times, 99):.2f} ms"

    rows += [
        ("GET /healthz (HTTP floor), p50 / p99", pct(floor)),
        ("match 1 PDQ, no match, p50 / p99", pct(pdq)),
        ("match 1 MD5, no match, p50 / p99", pct(md5)),
        ("match 1 PDQ, matched (notice written), p50 / p99", pct(hits)),
        ("in-process PDQ search only, p50 / p99", pct(search)),
        ("batch of 1,000 PDQ, hashes/s", f"{1000 * batches / (batch.sum() / 1000):,.0f}"),
        (
            "in-process search of the same batches, hashes/s",
            f"{1000 * batches / (batch_search.sum() / 1000):,.0f}",
        ),
        (
            "HTTP single PDQ p50 / in-process search p50",
            f"{np.percentile(pdq, 50) / np.percentile(search, 50):.1f}x",
        ),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="also run with a 10M-entry list")
    parser.add_argument("--singles", type=int, default=2000, help="single-hash requests per measurement")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 hashes")
    parser.add_argument("--size", type=int, help="one list of this many entries instead (a quick check)")
    args = parser.parse_args()
    sizes = [args.size] if args.size else [1_000_000, 10_000_000] if args.full else [1_000_000]
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("server: hashmatch serve (uvicorn, 1 worker), SQLite; client: keep-alive HTTP/1.1, loopback")
    for size in sizes:
        print(f"\n| {size:,} PDQ + {size:,} MD5 entries | value |\n|---|---|")
        for name, value in run(size, args.singles, args.batches):
            print(f"| {name} | {value} |", flush=True)


if __name__ == "__main__":
    main()
