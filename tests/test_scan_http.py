"""``hashmatch scan`` against the real match API: ``hashmatch serve`` (uvicorn) on 127.0.0.1, with a
list made by ``hashmatch hash`` and imported, published and keyed through the command line."""

import csv
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.main import main
from tests.fixtures.images import mirrored, photo, save_jpeg, with_border

HOTLINE_SEEDS = (11, 12, 13)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The API under uvicorn on one port, stopped and started again over the same data."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        environment = {**os.environ, "HASHMATCH_DATA_DIR": str(self.data)}
        port = self.url.rsplit(":", 1)[1]
        command = [
            sys.executable,
            "-m",
            "cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--workers",
            "1",
        ]
        self.process = subprocess.Popen(command, env=environment)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/", timeout=1)  # any answer, even 404: the server is up
                return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the API server did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def provision(data: Path, list_csv: Path) -> str:
    """Import and publish the hotline's list and create a hoster's key; returns the key."""
    environment = {**os.environ, "HASHMATCH_DATA_DIR": str(data)}
    environment.pop("HASHMATCH_DATABASE_URL", None)

    def hashmatch(*argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *argv],
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    hashmatch("orgs", "create", "EOKM", "--role", "hotline")
    hashmatch("lists", "create", "main", "--org", "EOKM")
    hashmatch("lists", "import", "EOKM/main", str(list_csv), "--full", "--publish")
    hashmatch("orgs", "create", "Hoster BV", "--role", "hoster")
    return hashmatch("keys", "create", "Hoster BV").splitlines()[0].strip()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """A running server with one list (the hotline's photos) and a hoster's key."""
    material = tmp_path / "hotline"
    for seed in HOTLINE_SEEDS:
        save_jpeg(photo(seed), material / f"{seed}.jpg")
    list_csv = tmp_path / "list.csv"
    assert main(["hash", str(material), "--out", str(list_csv)]) == 0
    running = Server(tmp_path / "server")
    key = provision(running.data, list_csv)
    running.start()
    yield running, key
    running.stop()


def storage(root: Path, unrelated: int = 2) -> None:
    """A hoster's files: an exact copy, a mirrored copy, a framed copy, unrelated photos."""
    save_jpeg(photo(HOTLINE_SEEDS[0]), root / "copy.jpg")
    save_jpeg(mirrored(photo(HOTLINE_SEEDS[1])), root / "users/1/mirrored.jpg", quality=80)
    save_jpeg(with_border(photo(HOTLINE_SEEDS[2])), root / "users/2/framed.jpg", quality=80)
    for seed in range(100, 100 + unrelated):
        save_jpeg(photo(seed, (160, 120)), root / f"users/3/{seed}.jpg")


def scan_argv(root: Path, url: str, key: str, tmp_path: Path, *extra: str) -> list[str]:
    report = tmp_path / "report.csv"
    argv = ["scan", str(root), "--server", url, "--key", key, "--state", str(tmp_path / "state.db")]
    return [*argv, "--report", str(report), "--ref-prefix", "s3://bucket/", "--workers", "1", *extra]


def report_rows(tmp_path: Path) -> dict[str, dict[str, str]]:
    with (tmp_path / "report.csv").open(newline="") as stream:
        return {row["ref"]: row for row in csv.DictReader(stream)}


def sent_files(tmp_path: Path) -> int:
    """Files the state file records as answered (0 before the scan has created it)."""
    try:
        with sqlite3.connect(tmp_path / "state.db") as db:
            return int(db.execute("SELECT count(*) FROM files").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def scan_until_first_answer(argv: list[str], tmp_path: Path) -> "subprocess.Popen[bytes]":
    """A scan in its own process, once the server has answered its first batch."""
    scanning = subprocess.Popen([sys.executable, "-m", "cli.main", *argv])
    deadline = time.monotonic() + 60
    while sent_files(tmp_path) == 0:
        assert time.monotonic() < deadline, "no batch was answered within 60 s"
        time.sleep(0.05)
    return scanning


MATCHED = {"s3://bucket/copy.jpg", "s3://bucket/users/1/mirrored.jpg", "s3://bucket/users/2/framed.jpg"}


def test_scan_finds_copies_and_resumes(
    server: tuple[Server, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running, key = server
    root = tmp_path / "storage"
    storage(root)
    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    rows = report_rows(tmp_path)
    assert {ref for ref, row in rows.items() if row["matched"] == "true"} == MATCHED
    assert all(rows[ref]["notice_id"] for ref in MATCHED)  # each match has its notice
    assert "5 files hashed and 5 sent" in capsys.readouterr().out

    save_jpeg(photo(23), root / "users/3/new.jpg")
    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    assert list(report_rows(tmp_path)) == ["s3://bucket/users/3/new.jpg"]
    assert "5 unchanged since the last scan (skipped)" in capsys.readouterr().out

    save_jpeg(photo(24), root / "users/3/newer.jpg")
    assert main(scan_argv(root, running.url, "not-a-key", tmp_path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("hashmatch: error: server refused the request (HTTP 401): ")
    assert len(err.splitlines()) == 1


def test_a_server_that_goes_away_mid_scan_loses_nothing(server: tuple[Server, str], tmp_path: Path) -> None:
    running, key = server
    root = tmp_path / "storage"
    storage(root, unrelated=60)
    argv = scan_argv(root, running.url, key, tmp_path, "--batch-size", "12", "--retries", "0")
    scanning = scan_until_first_answer(argv, tmp_path)
    running.stop()
    assert scanning.wait(timeout=60) == 1  # no retries left: it stops, saying how to resume
    recorded = sent_files(tmp_path)
    assert 0 < recorded < 63

    running.start()
    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    assert sent_files(tmp_path) == 63
    resumed = report_rows(tmp_path)
    assert len(resumed) == 63 - recorded  # only what the first run had not recorded


def test_retries_ride_out_a_restart(server: tuple[Server, str], tmp_path: Path) -> None:
    running, key = server
    root = tmp_path / "storage"
    storage(root, unrelated=30)
    argv = scan_argv(root, running.url, key, tmp_path, "--batch-size", "12", "--retries", "6")
    scanning = scan_until_first_answer(argv, tmp_path)
    running.stop()
    time.sleep(1)
    running.start()
    assert scanning.wait(timeout=120) == 0  # backoff waited for the server to come back
    assert sent_files(tmp_path) == 33
    assert {ref for ref, row in report_rows(tmp_path).items() if row["matched"] == "true"} == MATCHED
