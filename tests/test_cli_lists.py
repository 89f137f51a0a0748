"""``hashmatch lists`` end to end on SQLite and PostgreSQL: readable output, one-line errors, exit codes."""

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from cli.common import open_database
from cli.main import main
from config import get_settings
from db.base import utcnow
from db.models import Entry, Notice, Organisation, Publication
from indexer.serving import ServedIndexes, serve
from matching import match, parse_items
from tests.commands import run
from tests.conftest import Configure
from tests.listdata import codes, hotline, plain


@pytest.fixture
def settings_env(database_url: str, tmp_path: Path, configure: Configure) -> Path:
    configure(database_url=database_url, data_dir=tmp_path / "data", import_error_cap=2)
    with open_database(get_settings()) as sessions, sessions.begin() as session:
        hotline(session, "EOKM")
        hotline(session, "Hoster BV", role="hoster")
    return tmp_path


def test_a_hotline_analysts_tour(settings_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tmp_path = settings_env
    code, out, _ = run(
        capsys, "lists", "create", "main", "--org", "EOKM", "--category", "A", "--threshold", "pdq=40"
    )
    assert code == 0
    assert out.startswith("created list EOKM/main (id 1)")

    values = codes(4, 1)
    source = tmp_path / "list.csv"
    rows = [f"pdq,{bytes(r).hex()},case-{n},,{90 - 20 * n}" for n, r in enumerate(values)]
    source.write_text(
        "type,hash,item,category,quality,note\n" + "\n".join(rows) + "\npdq,xyz,,,\nmd5,12,,,\nmd5,13,,,\n"
    )
    code, out, err = run(capsys, "lists", "import", "EOKM/main", str(source), "--full", "--allow-low-quality")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"{source} line 6: invalid pdq hash: expected 64 hexadecimal digits, got 3 characters (value 'xyz')",
        f"{source} line 7: invalid md5 hash: expected 32 hexadecimal digits, got 2 characters (value '12')",
        f"{source}: 1 more bad line not shown",
        "hashmatch: error: list.csv: line 6: invalid pdq hash: expected 64 hexadecimal digits, "
        "got 3 characters (and 2 more bad lines); nothing was imported (--skip-bad imports the valid lines)",
    ]

    code, out, _ = run(
        capsys,
        "lists",
        "import",
        "main",
        str(source),
        "--full",
        "--skip-bad",
        "--allow-low-quality",
        "--publish",
    )
    assert code == 0
    assert out.splitlines()[:4] == [
        "EOKM/main version 1 (full): 4 entries added (pdq 4), 0 removed, 0 unchanged; 4 active",
        "  3 bad lines skipped",
        "  1 entry with PDQ quality below 50 kept and flagged",
        "  columns ignored: note",
    ]
    assert "published index version" in out
    assert "search thresholds: pdq 40" in out

    code, out, _ = run(capsys, "lists", "show")
    assert code == 0
    assert out.splitlines()[1].split() == ["EOKM/main", "1", "1", "1", "4", "pdq:4"]
    code, out, _ = run(capsys, "lists", "show", "main")
    assert "default category  A" in out
    assert "thresholds        pdq 40" in out

    # a hoster's notice resting only on entry 2 is withdrawn by the publish that retracts it
    with open_database(get_settings()) as sessions, sessions.begin() as session:
        hoster = session.scalars(select(Organisation).where(Organisation.name == "Hoster BV")).one()
        item = {"type": "pdq", "hash": session.get_one(Entry, 2).value.hex(), "ref": "s3://b/x.jpg"}
        served = ServedIndexes.open(get_settings().index_dir)
        outcome = match(session, served, hoster.id, "hoster", parse_items([item])[0], {}, utcnow())
        notice_id = outcome.results[0].notice_id
    code, out, _ = run(
        capsys, "lists", "retract", "main", "--entry", "2", "--reason", "stock photo", "--publish"
    )
    assert code == 0
    assert out.startswith("EOKM/main version 2 (retract): 1 entry retracted, 3 active")
    assert "1 entry no longer served" in out
    with open_database(get_settings()) as sessions, sessions() as session:
        notice = session.scalars(select(Notice).where(Notice.public_id == notice_id)).one()
        assert notice.status == "withdrawn"

    delta = tmp_path / "delta.ndjson"
    delta.write_text(
        json.dumps({"type": "pdq", "hash": bytes(values[0]).hex(), "action": "retract"})
        + "\n"
        + json.dumps({"type": "md5", "hash": "a" * 32, "item": "case-9"})
        + "\n"
    )
    code, out, _ = run(capsys, "lists", "import", "main", str(delta), "--delta")
    assert code == 0
    assert (
        out.splitlines()[0]
        == "EOKM/main version 3 (delta): 1 entry added (md5 1), 1 removed, 0 unchanged; 3 active"
    )
    assert out.splitlines()[-1] == "not served until 'hashmatch lists publish'"

    retracted = tmp_path / "fp.txt"
    retracted.write_text(plain("pdq", values[2:3]))
    code, out, _ = run(capsys, "lists", "retract", "main", str(retracted), "--reason", "false positive")
    assert code == 0
    assert out.startswith("EOKM/main version 4 (retract): 0 entries added, 1 removed")

    code, out, _ = run(capsys, "lists", "versions", "main")
    assert code == 0
    table = [line.split()[:2] for line in out.splitlines()[1:-1]]
    assert table == [["1", "full"], ["2", "*"], ["3", "delta"], ["4", "retract"]]
    assert "stock photo" in out

    code, out, _ = run(capsys, "lists", "publish", "EOKM/main")
    assert code == 0
    assert "2 entries no longer served" in out
    served = ServedIndexes.open(get_settings().index_dir)
    assert served is not None
    assert [len(served.search("pdq", values[n : n + 1], 0)) for n in range(4)] == [0, 0, 0, 1]
    code, out, _ = run(capsys, "lists", "publish")
    assert out.startswith("already served: index version")

    # a crash between the publication's commit and the pointer move: 'show' says so, 'publish' finishes it
    newest = served.version
    with open_database(get_settings()) as sessions, sessions() as session:
        older = session.scalars(select(Publication.version).order_by(Publication.id)).first()
    assert older is not None
    serve(get_settings().index_dir, older)
    code, out, _ = run(capsys, "lists", "show")
    assert f"publication {newest} was interrupted: 'hashmatch lists publish' finishes it" in out
    code, out, _ = run(capsys, "lists", "publish")
    assert out.splitlines()[:2] == [
        "finished an interrupted publication first",
        f"already served: index version {newest} (md5 1, pdq 1)",
    ]

    # the served version's files damaged on disk: 'publish' builds them again from the database
    os.truncate(get_settings().index_dir / newest / "pdq" / "entry_ids.npy", 10)
    code, out, _ = run(capsys, "lists", "publish")
    assert code == 0
    assert out.splitlines()[:2] == [
        f"rebuilt damaged index version {newest} from the database",
        f"already served: index version {newest} (md5 1, pdq 1)",
    ]
    served = ServedIndexes.open(get_settings().index_dir)
    assert served is not None
    assert len(served.search("pdq", values[3:4], 0)) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lists", "create", "x", "--org", "NCMEC"], "no organisation named 'NCMEC'"),
        (["lists", "create", "x", "--org", "Hoster BV"], "is a hoster, not a hotline"),
        (["lists", "create", "x", "--org", "EOKM", "--threshold", "pdq=x"], "expected TYPE=N"),
        (["lists", "create", "x", "--org", "EOKM", "--threshold", "pdq=99"], "invalid threshold 99 for pdq"),
        (["lists", "import", "nope", "f.txt", "--full"], "no list 'nope'"),
        (["lists", "retract", "main"], "give either a FILE of hashes or --entry ID"),
        (["lists", "retract", "main", "--entry", "77"], "not active entries of list EOKM/main: 77"),
        (["lists", "import", "main", "missing.txt", "--full"], "missing.txt: no such file: check the path"),
        (["lists", "import", "main", "header.csv", "--full"], "must name the columns type and hash"),
        (["lists", "versions", "EOKM/other"], "no list 'EOKM/other'"),
    ],
)
def test_errors_are_one_line_with_exit_code_1(
    settings_env: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(settings_env)
    (settings_env / "header.csv").write_text("kind,value\n")
    assert run(capsys, "lists", "create", "main", "--org", "EOKM")[0] == 0
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_the_mode_of_an_import_must_be_chosen(settings_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["lists", "import", "main", "f.txt"])
    assert exited.value.code == 2
    assert "one of the arguments --full --delta is required" in capsys.readouterr().err


def test_show_without_lists_and_without_a_publish(
    settings_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "lists", "show")
    assert code == 0
    assert out.splitlines() == [
        "no lists yet: 'hashmatch lists create NAME --org HOTLINE'",
        "served index version: none (nothing published yet)",
    ]


def test_unchanged_empty_undecodable_and_trivial_files(
    settings_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path = settings_env
    assert run(capsys, "lists", "create", "main", "--org", "EOKM")[0] == 0
    day = tmp_path / "day.txt"
    day.write_bytes(b"\xef\xbb\xbf" + plain("pdq", codes(3, 41)).encode())  # a byte order mark is fine
    assert run(capsys, "lists", "import", "main", str(day), "--full")[0] == 0
    code, out, _ = run(capsys, "lists", "import", "main", str(day), "--full")
    assert code == 0
    assert out.splitlines() == [
        "EOKM/main unchanged: the file holds the 3 active entries of version 1; no new version",
        "not served until 'hashmatch lists publish'",
    ]

    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, out, err = run(capsys, "lists", "import", "main", str(empty), "--full")
    assert (code, out) == (1, "")
    assert err == (
        "hashmatch: error: empty.txt: no valid rows: as a full import it would remove all 3 entries of the "
        "list; nothing was imported (--allow-empty empties the list)\n"
    )
    code, out, _ = run(capsys, "lists", "import", "main", str(empty), "--full", "--allow-empty")
    assert code == 0
    assert out.startswith("EOKM/main version 2 (full): 0 entries added, 3 removed, 0 unchanged; 0 active")

    bad = tmp_path / "bad.txt"
    bad.write_bytes(
        b"pdq " + bytes(codes(1, 42)[0]).hex().encode() + b"\n"
        b"md5 caf\xe9" + b"0" * 29 + b"\n"
        b"md5 d41d8cd98f00b204e9800998ecf8427e\n"
        b"pdq " + b"0" * 64 + b"\x00\n"
    )
    code, out, err = run(capsys, "lists", "import", "main", str(bad), "--delta")
    assert (code, out) == (1, "")
    shown = err.splitlines()
    assert shown[0].startswith(f"{bad} line 2: not valid UTF-8: byte 0xe9 at column 8 (value 'md5 caf")
    assert shown[1] == (
        f"{bad} line 3: md5 of an empty file: it would match every such file "
        "(value 'd41d8cd98f00b204e9800998ecf8427e')"
    )
    assert "(and 2 more bad lines); nothing was imported" in err.splitlines()[-1]

    quality = tmp_path / "quality.csv"
    quality.write_text(f"type,hash,quality\npdq,{bytes(codes(1, 43)[0]).hex()},20\n")
    code, _, err = run(capsys, "lists", "import", "main", str(quality), "--delta")
    assert code == 1
    assert "quality 20 is below 50: unreliable (--allow-low-quality keeps it)" in err
    code, out, _ = run(capsys, "lists", "import", "main", str(quality), "--delta", "--allow-low-quality")
    assert code == 0
    assert "1 entry with PDQ quality below 50 kept and flagged" in out
