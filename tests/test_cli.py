"""The command line: readable output, one-line errors, exit codes."""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from tests.commands import run
from tests.conftest import Configure

FIXTURES = Path(__file__).parent / "fixtures"


def test_types_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "types")
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()[1:]] == [
        "pdq", "phash", "dhash", "ahash", "whash", "md5", "sha1", "sha256", "photodna", "vpdq",
    ]  # fmt: skip
    assert out.splitlines()[-2].split("\t")[:4] == ["photodna", "1152", "set per list", "3060"]
    assert out.splitlines()[-1].split("\t")[:4] == ["vpdq", "256", "31", "63"]


def test_build_then_match_the_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "index", "build", str(FIXTURES / "sample_list.txt"), "--out", str(tmp_path / "ix")
    )
    assert code == 0
    assert "pdq: 21 entries (20 distinct)" in out
    assert sorted(p.name for p in (tmp_path / "ix").iterdir()) == ["md5", "pdq", "phash", "sha256"]

    code, out, err = run(
        capsys, "match", "--index", str(tmp_path / "ix"), str(FIXTURES / "sample_queries.txt")
    )
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0] == ["query_line", "type", "entry", "distance"]
    # entries are list line numbers: line 5 and line 42 hold the same pdq value
    assert rows[1:] == [
        ["8", "md5", "33", "0"],
        ["2", "pdq", "5", "20"],
        ["2", "pdq", "42", "20"],
        ["3", "pdq", "9", "45"],
        ["6", "phash", "24", "5"],
        ["10", "sha256", "41", "0"],
    ]
    assert "9 queries, 5 matched" in err

    code, out, _ = run(
        capsys, "match", "--index", str(tmp_path / "ix"), "--threshold", "pdq=31", "--threshold", "phash=12",
        str(FIXTURES / "sample_queries.txt"),
    )  # fmt: skip
    assert code == 0
    assert "3\tpdq\t9\t45" not in out
    assert "7\tphash\t26\t11" in out


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ["pdq aaf912da04acce2dbf4cc3066759d1a3eaf18f5de5e69e77739c6f145f1fd95e", "pdq abc"],
            "line 2: invalid pdq hash: expected 64 hexadecimal digits, got 3 characters",
        ),
        (["tmk 00"], "line 1: unknown hash type 'tmk': expected one of pdq"),
        (["md5"], "line 1: expected '<type> <hash>'"),
        (
            ["phash zz00000000000000", "phash 1", "md5 2"],
            "line 1: invalid phash hash: character 'z' at position 0",
        ),
    ],
)
def test_a_bad_list_line_is_reported_in_one_line_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], message: str
) -> None:
    source = tmp_path / "list.txt"
    source.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "index", "build", str(source), "--out", str(tmp_path / "ix"))
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert message in err
    assert not (tmp_path / "ix").exists()


def test_errors_in_queries_and_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            capsys,
            "index",
            "build",
            str(FIXTURES / "sample_list.txt"),
            "--out",
            str(tmp_path / "ix"),
        )[0]
        == 0
    )
    queries = tmp_path / "q.txt"
    queries.write_text("pdq 12\n")
    cases = [
        (
            ["match", "--index", str(tmp_path / "ix"), str(queries)],
            "q.txt line 1: invalid pdq hash",
        ),
        (
            ["match", "--index", str(tmp_path / "none"), str(queries)],
            "is not a directory of indexes",
        ),
        (
            ["match", "--index", str(tmp_path / "ix"), "--threshold", "md5=1"],
            "invalid threshold 1 for md5",
        ),
        (["match", "--index", str(tmp_path / "ix"), "--threshold", "pdq=x"], "expected TYPE=N"),
        (
            ["index", "build", str(FIXTURES / "sample_list.txt"), "--out", str(tmp_path / "ix")],
            "already exists",
        ),
        (
            ["index", "build", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "new")],
            "missing.txt: no such file: check the path",
        ),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, *argv)
        assert code == 1, argv
        assert message in err, (argv, err)
        assert err.count("\n") == 1
        assert "Traceback" not in err


def test_console_script_reads_standard_input(tmp_path: Path) -> None:
    assert main(["index", "build", str(FIXTURES / "sample_list.txt"), "--out", str(tmp_path / "ix")]) == 0
    done = subprocess.run(
        [Path(sys.executable).parent / "hashmatch", "match", "--index", str(tmp_path / "ix"), "-"],
        input="md5 " + "0" * 31 + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert (
        done.stderr
        == "hashmatch: error: - line 1: invalid md5 hash: expected 32 hexadecimal digits, got 31 characters\n"
    )


@pytest.mark.parametrize(
    "argv",
    [["index", "build", "nope.txt", "--out", "ix"], ["match", "--index", ".", "nope.txt"]],
)
def test_a_missing_file_is_named_in_words(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pdq").mkdir()  # 'match' reads its queries after loading the indexes: give it one
    run(capsys, "index", "build", str(FIXTURES / "sample_list.txt"), "--out", "built")
    monkeypatch.chdir(tmp_path / "built")
    assert run(capsys, *argv) == (1, "", "hashmatch: error: nope.txt: no such file: check the path\n")


def test_a_bad_setting_is_one_line_naming_the_variable(
    tmp_path: Path, configure: Configure, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(data_dir=tmp_path, rate_burst_hashes=1)
    code, out, err = run(capsys, "lists", "show")
    assert (code, out) == (1, "")
    assert err == (
        "hashmatch: error: HASHMATCH_RATE_BURST_HASHES (1) must be at least HASHMATCH_MAX_ITEMS (10000): "
        "a batch larger than the burst could never pass (fix the environment)\n"
    )
    configure(max_items="many", index_poll_seconds=0)
    assert run(capsys, "lists", "show")[2] == (
        "hashmatch: error: HASHMATCH_INDEX_POLL_SECONDS='0': input should be greater than 0; "
        "HASHMATCH_MAX_ITEMS='many': input should be a valid integer, unable to parse string as an integer "
        "(fix the environment)\n"
    )


def test_version_is_the_installed_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"hashmatch {importlib.metadata.version('hashmatch')}\n"
