"""The scan's bookkeeping without a server: walking, the state file that makes scans resumable, the
report's rows, and a scan whose server cannot be reached."""

import csv
import io
import json
import os
import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from scanner.client import MatchClient, MatchResult, Retrying
from scanner.config import ScanConfig
from scanner.errors import ServerUnavailable, StateFileError
from scanner.hashfile import HashOptions
from scanner.hashing import Hash
from scanner.output import RowWriter
from scanner.problems import Problem, ProblemKind
from scanner.report import REPORT_COLUMNS, Report, Summary
from scanner.scan import run_scan
from scanner.state import SCHEMA_VERSION, Answered, ScanState
from scanner.walking import FileEntry, walk
from tests.fixtures.images import photo, save_jpeg

SETTINGS = {"root": "/data", "server": "http://127.0.0.1:1", "types": ["pdq"]}


def entry_for(root: Path, relative: str) -> FileEntry:
    (entry,) = [found for found in walk(root) if found.relative == relative]
    return entry


SENT = (Hash("md5", "ab" * 16), Hash("pdq", "cd" * 32), Hash("pdq", "ef" * 32, variant=True))


def answered(entry: FileEntry, matched: bool, version: str | None = "v1") -> Answered:
    notice = "ntc_1" if matched else None
    result = MatchResult(entry.relative, matched, "high" if matched else None, (), notice, None)
    return Answered(entry, SENT, result, version)


def test_walk_is_sorted_relative_and_skips(tmp_path: Path) -> None:
    for name in ("b/2.jpg", "b/1.jpg", "a.txt", "c/d/e.png", "state.db"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * len(name))
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = list(walk(tmp_path, skip=[tmp_path / "state.db"]))
    assert [entry.relative for entry in found] == ["a.txt", "b/1.jpg", "b/2.jpg", "c/d/e.png"]
    assert found[1].size == len("b/1.jpg")
    assert [entry.relative for entry in walk(tmp_path / "b" / "1.jpg")] == ["1.jpg"]


def test_walk_reports_files_it_cannot_stat(tmp_path: Path) -> None:
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    (tmp_path / "ok.jpg").write_bytes(b"x")
    errors: list[Path] = []
    found = [entry.relative for entry in walk(tmp_path, on_error=lambda path, _: errors.append(path))]
    assert found == ["ok.jpg"]
    assert errors == [tmp_path / "dangling.jpg"]


def test_state_skips_only_unchanged_files(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"one")
    (root / "b.jpg").write_bytes(b"two")
    with closing(ScanState(tmp_path / "state.db", SETTINGS)) as state:
        state.record([answered(entry_for(root, "a.jpg"), True), answered(entry_for(root, "b.jpg"), False)])
    (root / "b.jpg").write_bytes(b"changed")  # another size
    (root / "c.jpg").write_bytes(b"new")
    with closing(ScanState(tmp_path / "state.db", SETTINGS)) as state:
        assert [state.is_unchanged(entry) for entry in walk(root)] == [True, False, False]
        os.utime(root / "a.jpg", ns=(0, 12345))  # same size, another time
        assert not state.is_unchanged(entry_for(root, "a.jpg"))


def test_state_belongs_to_one_scan(tmp_path: Path) -> None:
    ScanState(tmp_path / "state.db", SETTINGS).close()
    with pytest.raises(StateFileError, match=r"another server, types \(server='http://127.0.0.1:1', types"):
        ScanState(tmp_path / "state.db", {**SETTINGS, "server": "http://other", "types": ["md5"]})
    (tmp_path / "other.db").write_text("not a database " * 100)
    with pytest.raises(StateFileError, match="is not a scan state file"):
        ScanState(tmp_path / "other.db", SETTINGS)


def test_a_state_from_before_videos_were_hashed_serves_the_scan_that_hashes_them(tmp_path: Path) -> None:
    """The default types gained vpdq: a state file of the same scan without it is taken over (a hoster's
    cron job keeps its state), and its files without a perceptual hash (videos among them, hashed by
    their digests only then) are hashed once more; pictures are not."""
    root = tmp_path / "data"
    root.mkdir()
    for name in ("a.jpg", "clip.mp4"):
        (root / name).write_bytes(name.encode())
    before = {**SETTINGS, "types": ["pdq", "md5"]}
    digests_only = (Hash("md5", "ab" * 16),)
    clip = entry_for(root, "clip.mp4")
    with closing(ScanState(tmp_path / "state.db", before)) as state:
        state.record([answered(entry_for(root, "a.jpg"), False)])
        unmatched = MatchResult("clip.mp4", False, None, (), None, None)
        state.record([Answered(clip, digests_only, unmatched, "v1")])
    now = {**SETTINGS, "types": ["pdq", "vpdq", "md5"], "video_interval": 1.0}
    with closing(ScanState(tmp_path / "state.db", now)) as state:
        assert [state.is_unchanged(entry) for entry in walk(root)] == [True, False]
    with closing(ScanState(tmp_path / "state.db", now)) as state:  # the settings are the new ones now
        assert state.settings == now
    with pytest.raises(StateFileError, match="another types"):  # any other change of types is refused
        ScanState(tmp_path / "state.db", {**now, "types": ["pdq", "vpdq", "md5", "sha1"]})


def test_state_records_a_batch_all_or_none(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"one")
    entry = entry_for(root, "a.jpg")

    def failing() -> list[Answered]:
        return [answered(entry, True), answered(FileEntry(root / "b", "b", None, 0), False)]  # type: ignore[arg-type]

    with closing(ScanState(tmp_path / "state.db", SETTINGS)) as state:
        with pytest.raises(Exception, match="NOT NULL"):
            state.record(failing())
        assert not state.is_unchanged(entry)


@pytest.mark.parametrize("output_format", ["csv", "ndjson"])
def test_report_rows(output_format: str) -> None:
    stream = io.StringIO()
    report = Report(RowWriter(stream, REPORT_COLUMNS, output_format), Summary(), "run-1")  # type: ignore[arg-type]
    report.result(MatchResult("s3://b/x.jpg", True, "high", ("md5", "pdq"), "N-1", None), None)
    report.result(
        MatchResult("s3://b/y.txt", False, None, (), None, None), Problem(ProblemKind.NOT_IMAGE, "text")
    )
    report.unsent("s3://b/z.jpg", Problem(ProblemKind.UNREADABLE, "Permission denied"))
    if output_format == "csv":
        rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
        assert rows[0] == {
            "run": "run-1",
            "source": "scan",
            "ref": "s3://b/x.jpg",
            "matched": "true",
            "confidence": "high",
            "signals": "md5+pdq",
            "notice_id": "N-1",
            "reupload_of": "",
            "problem": "",
        }
    else:
        rows = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert rows[0]["matched"] is True
        assert rows[2]["matched"] is None
    assert rows[1]["problem"] == "not_image: text"
    assert rows[2]["problem"] == "unreadable: Permission denied"
    assert report.summary.matched == 1


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_an_unreachable_server_stops_the_scan_with_nothing_recorded(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for seed in range(3):
        save_jpeg(photo(seed), root / f"{seed}.jpg")
    (root / "notes.txt").write_text("text")
    server = closed_port()
    waits: list[float] = []
    config = ScanConfig(root, HashOptions(dihedral=True, trim=True), progress=False, batch_items=30)
    stream = io.StringIO()
    report = Report(RowWriter(stream, REPORT_COLUMNS, "csv"), Summary(), "run-1")
    with (
        closing(ScanState(tmp_path / "state.db", config.settings(server))) as state,
        closing(MatchClient(server, "key", Retrying(retries=3, backoff=0.01), sleep=waits.append)) as client,
    ):
        with pytest.raises(
            ServerUnavailable, match=r"/v1/me after 4 attempts \(ConnectError.*run the scan again to resume"
        ):
            run_scan(config, client, state, report)
        assert not any(state.is_unchanged(entry) for entry in walk(root))
    assert len(waits) == 3
    assert waits[0] <= 0.01 < waits[2] <= 0.04  # backoff doubles, with jitter
    assert report.summary.found == report.summary.hashed == 0  # the server is checked first
    assert report.summary.sent == 0


def test_a_version_1_state_file_is_upgraded_and_its_files_hashed_once_more(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"one")
    entry = entry_for(root, "a.jpg")
    with closing(sqlite3.connect(tmp_path / "state.db")) as db:  # what the first scanner wrote
        db.executescript(
            "CREATE TABLE settings (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL);"
            "CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
            " matched INTEGER NOT NULL, sent_at TEXT NOT NULL);"
        )
        db.execute("INSERT INTO settings VALUES (1, ?)", (json.dumps(SETTINGS, sort_keys=True),))
        db.execute("INSERT INTO files VALUES ('a.jpg', ?, ?, 0, 'then')", (entry.size, entry.mtime_ns))
        db.commit()
    with closing(ScanState(tmp_path / "state.db", SETTINGS)) as state:
        assert not state.is_unchanged(entry)  # no stored hashes: hashed once more
        assert state.stale_count("v1") == 0
        state.record([answered(entry, False)])
        assert state.is_unchanged(entry)
    with closing(sqlite3.connect(tmp_path / "state.db")) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_stored_files_not_matched_by_the_served_version_are_stale(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    for name in ("a", "b", "c", "d"):
        (root / name).write_bytes(name.encode())
    entries = {name: entry_for(root, name) for name in "abcd"}
    with closing(ScanState(tmp_path / "state.db", SETTINGS)) as state:
        state.record(
            [
                answered(entries["a"], False, "v1"),
                answered(entries["b"], True, "v1"),  # matched: its notice exists
                answered(entries["c"], False, "v2"),
                answered(entries["d"], False, None),  # a server that did not say
            ]
        )
        assert state.stale_count("v2") == 2
        stale = list(state.stale("v2", page=1))
        assert [stored.path for stored in stale] == ["a", "d"]
        assert stale[0].hashes == SENT  # variants still marked when they are sent again
        state.rematched([("a", MatchResult("a", True, "high", ("md5",), "ntc_2", None))], "v2")
        assert [stored.path for stored in state.stale("v2")] == ["d"]
        assert state.noticed() == [("a", "ntc_2"), ("b", "ntc_1")]
