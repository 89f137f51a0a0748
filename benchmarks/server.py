"""A served list for the HTTP benchmarks (http, rematch, catchup): a hotline list built through the real
import and publish, ``hashmatch serve`` started on it, keep-alive clients, the load generator, and the
memory of the processes serving."""

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil

from accounts import create_organisation, issue_key
from benchmarks.lists import import_found, read_csv, write_csv
from db import make_engine, make_session_factory, upgrade
from indexer.lists import create_list
from indexer.publishing import publish
from indexer.serving import ServedIndexes
from matcher import Index

PDQ_THRESHOLD = 31


def _now() -> datetime:
    return datetime.now(UTC)


def build(data_dir: Path, size: int, rng: np.random.Generator) -> tuple[str, np.ndarray, Index]:
    """A hotline list of ``size`` PDQ and ``size`` MD5 entries through the real import and publish (a CSV
    file, one list version, the served index); a hoster's key, the PDQ codes and the served PDQ index."""
    engine = make_engine(f"sqlite:///{data_dir / 'hashmatch.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        create_organisation(session, "Bench Hotline", "hotline", _now())
        hoster = create_organisation(session, "Bench Hosting", "hoster", _now())
        key = issue_key(session, hoster, "bench", _now()).secret
        list_id = create_list(session, "Bench Hotline", "bench", thresholds={"pdq": PDQ_THRESHOLD}).id
    pdq = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    csv_file = data_dir / "list.csv"
    write_csv(csv_file, {"pdq": pdq, "md5": rng.integers(0, 256, (size, 16), dtype=np.uint8)})
    import_found(sessions, list_id, read_csv(csv_file), "full", csv_file.name)
    csv_file.unlink()
    publish(sessions, data_dir / "indexes")
    with engine.connect() as connection:  # fold the import into the database file, as after any large import
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    served = ServedIndexes.open(data_dir / "indexes")
    assert served is not None
    return key, pdq, served.indexes["pdq"]


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


def start_server(
    data_dir: Path, workers: int = 1, settings: Mapping[str, str] | None = None, ready: str = "/readyz"
) -> tuple[subprocess.Popen[bytes], int]:
    """``hashmatch serve`` on a free port over ``data_dir`` (and its database unless ``settings`` name
    another), without rate limits, once ``ready`` answers 200."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {
        **os.environ,
        "HASHMATCH_DATA_DIR": str(data_dir),
        "HASHMATCH_DATABASE_URL": "",
        "HASHMATCH_RATE_HASHES_PER_SECOND": "1000000000",
        "HASHMATCH_RATE_BURST_HASHES": "1000000000000",  # 1,000 s: a take waiting on a busy database fits
        **(settings or {}),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", ready)
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not become ready")


def load(port: int, key: str, bodies: list[bytes], connections: int) -> tuple[float, list[float]]:
    """The load generator: ``connections`` threads, each with its own keep-alive connection, send
    ``bodies`` between them as fast as the server answers; requests per second and every latency."""
    clients = [Client(port, key) for _ in range(connections)]
    times: list[list[float]] = [[] for _ in clients]

    def send(worker: int) -> None:
        client = clients[worker]
        for body in bodies[worker::connections]:
            started = time.perf_counter()
            client.post("/v1/match", body)
            times[worker].append(time.perf_counter() - started)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for client in clients:
        client.connection.close()
    return len(bodies) / elapsed, [t for worker in times for t in worker]


def memory_kib(server: subprocess.Popen[bytes]) -> tuple[int, int]:
    """RSS and PSS in KiB of the processes serving: the server, or its worker processes."""
    parent = psutil.Process(server.pid)
    children = [child for child in parent.children() if "spawn_main" in " ".join(child.cmdline())]
    rss = pss = 0
    for process in children or [parent]:
        for line in Path(f"/proc/{process.pid}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("Rss", "Pss"):
                kib = int(value.split()[0])
                rss, pss = (rss + kib, pss) if name == "Rss" else (rss, pss + kib)
    return rss, pss
