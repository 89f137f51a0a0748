"""``hashmatch scan`` against the real match API: ``hashmatch serve`` (uvicorn) on 127.0.0.1, with a
list made by ``hashmatch hash`` and imported, published and keyed through the command line. Repeated
scans: stored files matched again when a list grows, reports that accumulate, the notice report, a bad
key refused before any file is read, Ctrl-C that leaves a state to resume."""

import csv
import hashlib
import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
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

    def __init__(self, data: Path, environment: Mapping[str, str] | None = None) -> None:
        self.data = data
        self.environment = dict(environment or {})
        self.url = f"http://127.0.0.1:{free_port()}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        environment = {**os.environ, **self.environment, "HASHMATCH_DATA_DIR": str(self.data)}
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
        deadline = time.monotonic() + 120  # a loaded machine (a full suite beside other work) starts slowly
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/", timeout=1)  # any answer, even 404: the server is up
                return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the API server did not start within 120 s")

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


INTERRUPTIBLE = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'hashmatch'; runpy.run_module('cli.main', run_name='__main__')"
)
"""``python -m cli.main`` with Ctrl-C raising KeyboardInterrupt, whatever SIGINT's inherited disposition."""


def scan_until_first_answer(argv: list[str], tmp_path: Path) -> "subprocess.Popen[bytes]":
    """A scan in its own process, once the server has answered its first batch. Its Ctrl-C is a
    terminal's (a suite started in the background, ``make test &``, passes SIGINT on ignored)."""
    scanning = subprocess.Popen([sys.executable, "-c", INTERRUPTIBLE, *argv])
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
    mirrored_copy = rows["s3://bucket/users/1/mirrored.jpg"]  # the flipped pHash and dHash corroborate
    assert (mirrored_copy["confidence"], mirrored_copy["signals"]) == ("high", "dhash+pdq+phash")
    assert "5 files hashed and 5 sent" in capsys.readouterr().out

    save_jpeg(photo(23), root / "users/3/new.jpg")
    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    assert list(report_rows(tmp_path))[-1] == "s3://bucket/users/3/new.jpg"
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
    rows = runs(tmp_path)
    assert (
        len([row for row in rows if row["run"] == rows[-1]["run"]]) == 63 - recorded
    )  # what was not recorded


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


def served_version(url: str) -> str | None:
    version = httpx.get(url + "/healthz", timeout=5).json().get("index_version")
    return None if version is None else str(version)


def add_to_list(running: Server, tmp_path: Path, md5: str) -> None:
    """The hotline adds one MD5 to its list (a published delta); returns once the server serves it."""
    before = served_version(running.url)
    delta = tmp_path / "delta.csv"
    delta.write_text(f"type,hash,item\nmd5,{md5},reported-today\n")
    environment = {**os.environ, "HASHMATCH_DATA_DIR": str(running.data)}
    environment.pop("HASHMATCH_DATABASE_URL", None)
    command = [sys.executable, "-m", "cli.main", "lists", "import", "EOKM/main", str(delta), "--delta"]
    subprocess.run([*command, "--publish"], env=environment, check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while served_version(running.url) == before:
        assert time.monotonic() < deadline, "the new index version was not served within 30 s"
        time.sleep(0.2)


def runs(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "report.csv").open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_a_list_entry_added_later_reaches_a_file_already_scanned(
    server: tuple[Server, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running, key = server
    root = tmp_path / "storage"
    storage(root)
    old = root / "users/3/100.jpg"
    listed_md5 = hashlib.md5(old.read_bytes()).hexdigest()
    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    assert report_rows(tmp_path)["s3://bucket/users/3/100.jpg"]["matched"] == "false"
    capsys.readouterr()

    # the file's bytes change behind the scanner's back (same size and time): were it read again, its
    # MD5 would not match; a match proves it was matched from the stored hashes
    stat = old.stat()
    old.write_bytes(b"\0" * stat.st_size)
    os.utime(old, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    add_to_list(running, tmp_path, listed_md5)

    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "5 unchanged since the last scan (skipped)" in out
    assert "0 files hashed" in out
    assert "2 stored files matched again against a newer index version; 1 matched now" in out
    second = [row for row in runs(tmp_path) if row["run"] != runs(tmp_path)[0]["run"]]
    assert [(row["source"], row["ref"], row["matched"]) for row in second] == [
        ("rematch", "s3://bucket/users/3/100.jpg", "true")
    ]
    notice = second[0]["notice_id"]
    assert notice

    # the next run has nothing to match again: the served version answered every stored file
    assert main(scan_argv(root, running.url, key, tmp_path, "--rematch-only")) == 0
    assert "matched again" not in capsys.readouterr().out

    # the notice report: every file of the state with an active notice, its status from the server
    listing = tmp_path / "notices.csv"
    state = str(tmp_path / "state.db")
    assert main(["scan", "report", "--state", state, "--key", key, "--report", str(listing)]) == 0
    with listing.open(newline="") as stream:
        noticed = {row["ref"]: row for row in csv.DictReader(stream)}
    assert set(noticed) == MATCHED | {"s3://bucket/users/3/100.jpg"}
    assert noticed["s3://bucket/users/3/100.jpg"]["notice_id"] == notice
    assert {row["status"] for row in noticed.values()} == {"open"}


def test_reports_accumulate_run_by_run(server: tuple[Server, str], tmp_path: Path) -> None:
    running, key = server
    root = tmp_path / "storage"
    storage(root)
    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    save_jpeg(photo(23), root / "users/3/new.jpg")
    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    rows = runs(tmp_path)
    first_run, second_run = dict.fromkeys(row["run"] for row in rows)
    assert [row["ref"] for row in rows if row["run"] == second_run] == ["s3://bucket/users/3/new.jpg"]
    first = {row["ref"]: row for row in rows if row["run"] == first_run}
    assert len(first) == 5
    assert all(first[ref]["notice_id"] for ref in MATCHED)  # the first run's notice ids are kept

    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    argv = scan_argv(root, running.url, key, tmp_path)
    argv[argv.index("--report") + 1] = str(tmp_path / "other.csv")
    assert main(argv) == 1  # not a scan report: refused, not appended to
    assert (tmp_path / "other.csv").read_text() == "a,b\n1,2\n"


def test_a_bad_key_is_refused_before_any_file_is_read(
    server: tuple[Server, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running, _ = server
    root = tmp_path / "storage"
    storage(root, unrelated=40)
    assert main(scan_argv(root, running.url, "hm_bad_key", tmp_path)) == 1
    out, err = capsys.readouterr()
    assert err.startswith("hashmatch: error: server refused the request (HTTP 401): ")
    assert len(err.splitlines()) == 1
    assert out == ""  # nothing found, nothing hashed
    assert sent_files(tmp_path) == 0


def test_ctrl_c_leaves_a_state_that_resumes(server: tuple[Server, str], tmp_path: Path) -> None:
    running, key = server
    root = tmp_path / "storage"
    storage(root, unrelated=400)  # small batches of many files: the scan cannot end before the signal
    argv = scan_argv(root, running.url, key, tmp_path, "--batch-size", "4", "--workers", "2")
    scanning = scan_until_first_answer(argv, tmp_path)
    scanning.send_signal(signal.SIGINT)
    assert scanning.wait(timeout=60) == 130
    recorded = sent_files(tmp_path)
    assert 0 < recorded < 403

    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    assert sent_files(tmp_path) == 403
    rows = runs(tmp_path)
    last = rows[-1]["run"]
    assert len([row for row in rows if row["run"] == last]) == 403 - recorded
    matched = {row["ref"] for row in rows if row["matched"] == "true"}
    assert matched == MATCHED
    assert len(io.StringIO((tmp_path / "report.csv").read_text()).readline().split(",")) == 9
