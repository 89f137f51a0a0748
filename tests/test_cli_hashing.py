"""``hashmatch hash`` and ``hashmatch scan`` on the command line: the list import format, one-line
errors, bad files reported by path and reason."""

import csv
import io
import json
from pathlib import Path

import pytest

from matcher import get_hash_type
from scanner.progress import PlainLines
from tests.commands import run
from tests.fixtures.images import noise_texture, photo, save_jpeg, write_bad_files
from tests.test_scan_state import closed_port


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "material"
    save_jpeg(photo(1), root / "a.jpg")
    save_jpeg(photo(2), root / "sub" / "b.jpg")
    write_bad_files(root / "bad")
    return root


def test_hash_prints_the_list_import_csv(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "hash", str(folder), "--workers", "1")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["type", "hash", "item", "quality"]
    by_item: dict[str, list[str]] = {}
    for row in rows:
        by_item.setdefault(row["item"], []).append(row["type"])
        get_hash_type(row["type"]).parse(row["hash"])  # every hash in its type's text form
        assert row["hash"] == row["hash"].lower()
        assert (row["quality"] != "") == (row["type"] == "pdq")
    assert by_item["a.jpg"] == by_item["sub/b.jpg"] == ["pdq", "phash", "dhash", "md5", "sha256"]
    assert by_item["bad/notes.txt"] == ["md5", "sha256"]  # not an image: still its digests
    assert by_item["bad/animated.gif"] == ["pdq", "phash", "dhash", "md5", "sha256"]
    assert "bad/truncated.jpg: corrupt: truncated or damaged image" in err
    assert "bad/bomb.png: too_large:" in err
    assert err.splitlines()[-1] == "6 files, 21 hashes, 4 files with problems"


def test_hash_ndjson_with_chosen_types(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "hash", str(folder / "a.jpg"), "--types", "pdq,sha1", "--format", "ndjson")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert list(rows[0]) == ["type", "hash", "item", "quality"]
    assert [(row["type"], row["item"]) for row in rows] == [("pdq", "a.jpg"), ("sha1", "a.jpg")]
    assert isinstance(rows[0]["quality"], int)
    assert rows[1]["quality"] is None


def test_hash_with_a_category_column(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "hash", str(folder / "sub"), "--types", "md5", "--category", "A")
    assert code == 0
    assert out.splitlines()[0] == "type,hash,item,quality,category"
    assert out.splitlines()[1].endswith(",b.jpg,,A")


def test_hash_to_a_file_takes_its_format_from_the_name(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "list.ndjson"
    code, out, _ = run(capsys, "hash", str(folder / "sub"), "--out", str(out_file))
    assert code == 0
    assert out == ""
    assert [json.loads(line)["item"] for line in out_file.read_text().splitlines()] == ["b.jpg"] * 5
    assert sorted(path.name for path in tmp_path.iterdir()) == ["list.ndjson", "material"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["hash", "missing"], "missing: no such file or directory"),
        (["hash", ".", "--types", "pdq,tmk"], "unknown hash type 'tmk'"),
        (["hash", ".", "--types", "pdq,photodna"], "photodna cannot be computed by hashmatch (the algorithm"),
        (["hash", ".", "--types", ","], "--types: name at least one hash type"),
        (["scan", ".", "--server", "http://127.0.0.1:1"], "no API key: pass --key or set HASHMATCH_API_KEY"),
        (["scan", "missing", "--server", "http://x", "--key", "k"], "missing is not a directory"),
        (["scan", ".", "--server", "http://x", "--key", "k", "--batch-size", "10001"], "--batch-size: "),
    ],
)
def test_bad_arguments_fail_in_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HASHMATCH_API_KEY", raising=False)
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert out == ""
    assert len(err.splitlines()) == 1
    assert message in err


def test_scan_with_the_server_away_fails_in_one_line_and_reports(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.csv"
    argv = ["scan", str(folder), "--server", closed_port(), "--key", "k", "--state", str(tmp_path / "s.db")]
    code, out, err = run(capsys, *argv, "--report", str(report), "--retries", "0", "--workers", "1")
    assert code == 1
    assert err.startswith("hashmatch: error: gave up on http://127.0.0.1:")
    assert "/v1/me after 1 attempt (ConnectError" in err  # checked before any file is read
    assert len(err.splitlines()) == 1
    assert out == ""
    assert report.read_text().splitlines() == [
        "run,source,ref,matched,confidence,signals,notice_id,reupload_of,problem"
    ]

    code, _, err = run(capsys, *argv, "--types", "md5", "--report", str(report), "--retries", "0")
    assert code == 1
    assert f"state file {tmp_path / 's.db'} belongs to a scan with another types" in err


def test_progress_off_a_terminal_is_a_plain_line_now_and_then() -> None:
    stream = io.StringIO()
    lines = PlainLines(3, "file", "hashing", stream, every=0.0)
    for _ in range(3):
        lines.update()
    lines.set_postfix_str("1 matched")
    lines.close()
    written = stream.getvalue().splitlines()
    assert len(written) == 4
    assert written[0].startswith("hashing: 1/3 files (33%), ")
    assert written[-1].startswith("hashing: 3/3 files (100%), ")
    assert written[-1].endswith(", 1 matched")
    quiet = io.StringIO()
    PlainLines(3, "file", "hashing", quiet).close()  # done within the first interval: nothing
    assert quiet.getvalue() == ""


def test_a_negative_region_bound_is_refused_in_one_line(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["scan", str(folder), "--server", closed_port(), "--key", "k", "--state", str(tmp_path / "s.db")]
    code, out, err = run(capsys, *argv, "--max-regions", "-1")
    assert (code, out) == (1, "")
    assert err == "hashmatch: error: --max-regions: expected 0 or more, got -1\n"
    assert not (tmp_path / "s.db").exists()


def test_hash_notes_a_pdq_that_does_not_survive_halving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    noise_texture(5).save(tmp_path / "grain.png")
    code, out, err = run(capsys, "hash", str(tmp_path / "grain.png"), "--workers", "1")
    assert code == 0
    pdq_row = next(row for row in csv.DictReader(io.StringIO(out)) if row["type"] == "pdq")
    assert pdq_row["quality"] == "0"
    assert f"hashmatch: warning: {tmp_path / 'grain.png'}: PDQ moves" in err
    assert err.splitlines()[-1] == "1 file, 5 hashes, 0 files with problems"
