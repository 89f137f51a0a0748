"""``hashmatch serve --workers 2``: two uvicorn worker processes on one port, each mapping the served
index, both answering, one budget between them; and a worker is not ready before its warm-up."""

import http.client
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import numpy as np
import psutil
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from db import make_engine, upgrade
from db.clock import ManualClock
from indexer.serving import served_version
from indexer.watcher import IndexWatcher
from tests.api.support import START, issue_keys, make_settings, publish_lists, sample_lists
from tests.api.test_server import _free_port

RATE, BURST = 20, 40
"""The budget of the test's organisation: 40 calls at once, then 20 a second."""


class Workers:
    """``hashmatch serve --workers 2`` in a session of its own (everything in it is killed at the end)."""

    def __init__(self, data_dir: Path, numba_cache: Path, **settings: str) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.log = data_dir / "server.log"
        env = {
            **os.environ,
            "HASHMATCH_DATA_DIR": str(data_dir),
            "HASHMATCH_DATABASE_URL": "",
            "NUMBA_CACHE_DIR": str(numba_cache),
            **{f"HASHMATCH_{name.upper()}": value for name, value in settings.items()},
        }
        command = [sys.executable, "-m", "cli.main", "serve", "--port", str(self.port), "--workers", "2"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def workers(self) -> list[int]:
        """The worker processes: the server's children that map the served index files."""
        index_dir = str((self.data_dir / "indexes").resolve())
        found = []
        for child in psutil.Process(self.process.pid).children():
            try:
                if any(index_dir in mapped.path for mapped in child.memory_maps(grouped=True)):
                    found.append(child.pid)
            except psutil.NoSuchProcess:
                continue
        return sorted(found)

    def wait(self, workers: int, other_than: tuple[int, ...] = ()) -> list[int]:
        """The pids once ``workers`` workers (none of ``other_than``) map the index and one answers ready."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            found = self.workers()
            if len(found) == workers and not set(found) & set(other_than) and self.get("/readyz")[0] == 200:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{workers} workers were not ready within 120 s:\n{self.output()}")

    def get(self, path: str, key: str | None = None) -> tuple[int, bytes]:
        """One request on a new connection (0: refused)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
            response = connection.getresponse()
            return response.status, response.read()
        except OSError:
            return 0, b""
        finally:
            connection.close()

    def connection_to(self, worker: int) -> http.client.HTTPConnection:
        """A keep-alive connection that ``worker`` accepted: connections are opened until it takes one
        (whichever worker accepts first gets a new connection, and one still warming up takes none),
        seen in /proc as its socket's owner."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            assert connection.sock is not None
            local = connection.sock.getsockname()[1]
            owners = psutil.Process(worker).net_connections("tcp")
            if any(each.raddr and each.raddr.port == local for each in owners):
                return connection
            connection.close()
            time.sleep(0.02)
        raise AssertionError(f"worker {worker} accepted no connection within 120 s:\n{self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=60)
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left of the session


@pytest.fixture(scope="module")
def numba_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of compiled kernels for every server of these tests: only the first one compiles."""
    return tmp_path_factory.mktemp("numba-cache")


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A SQLite database with the sample lists published, and keys of every role."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hashmatch.db'}")
    upgrade(engine)
    specs, _ = sample_lists(np.random.default_rng(7))
    publish_lists(engine, tmp_path / "indexes", specs)
    keys = issue_keys(engine, ManualClock(START))
    engine.dispose()
    return tmp_path, keys


def _me(connection: http.client.HTTPConnection, key: str) -> int:
    connection.request("GET", "/v1/me", headers={"Authorization": f"Bearer {key}"})
    response = connection.getresponse()
    response.read()
    return response.status


def test_two_workers_answer_each_alone_and_a_killed_one_is_replaced(
    world: tuple[Path, dict[str, str]], numba_cache: Path
) -> None:
    data_dir, keys = world
    server = Workers(data_dir, numba_cache)
    try:
        first, second = server.wait(2)
        for worker in (first, second):
            assert _me(server.connection_to(worker), keys["hoster"]) == 200  # each answers
        os.kill(first, signal.SIGKILL)
        for _ in range(10):  # the other one goes on answering alone
            assert server.get("/v1/me", keys["hoster"])[0] == 200
        replaced = server.wait(2, other_than=(first,))
        assert second in replaced
        os.kill(second, signal.SIGKILL)
        for _ in range(10):  # and so does the replacement
            assert server.get("/v1/me", keys["hoster"])[0] == 200
        last = server.wait(2, other_than=(first, second))
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
    finally:
        server.stop()
    output = server.output()
    assert output.count("Application shutdown complete") == 2, output  # graceful, in both workers
    assert not any(psutil.pid_exists(pid) for pid in last)
    assert "Traceback" not in output


def test_the_rate_budget_holds_across_two_workers(
    world: tuple[Path, dict[str, str]], numba_cache: Path
) -> None:
    """Calls alternating between a connection to each worker get the organisation's one budget
    (burst + rate x time), within 10 %."""
    data_dir, keys = world
    server = Workers(
        data_dir, numba_cache, rate_hashes_per_second=str(RATE), rate_burst_hashes=str(BURST), max_items="40"
    )
    try:
        workers = server.wait(2)
        connections = [server.connection_to(worker) for worker in workers]
        granted = refused = 0
        started = time.monotonic()
        for call in range(400):  # about 4 s: 400 calls, every 10 ms
            status = _me(connections[call % 2], keys["hoster"])
            assert status in (200, 429)
            granted, refused = granted + (status == 200), refused + (status == 429)
            time.sleep(0.01)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    budget = BURST + RATE * elapsed
    assert 0.9 * budget <= granted <= budget + 1, (granted, refused, elapsed)


def test_a_worker_is_not_ready_before_its_warm_up(tmp_path: Path) -> None:
    """The app answers /readyz 503 until its startup compiled the search kernels and searched the
    served index once (startup: the lifespan; a served index and a database alone are not enough)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hashmatch.db'}")
    upgrade(engine)
    specs, _ = sample_lists(np.random.default_rng(7))
    publish_lists(engine, tmp_path / "indexes", specs)
    engine.dispose()
    watcher = IndexWatcher(tmp_path / "indexes")
    watcher.start()
    try:
        app = create_app(make_settings(f"sqlite:///{tmp_path / 'hashmatch.db'}", tmp_path), watcher=watcher)
        cold = TestClient(app).get("/readyz")  # no lifespan: nothing warmed up
        assert cold.status_code == 503
        assert cold.json()["detail"] == "warming up: loading the compiled search"
        with TestClient(app) as client:
            ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["index_version"] == served_version(tmp_path / "indexes")
    finally:
        watcher.stop()
