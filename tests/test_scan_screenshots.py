"""``hashmatch scan`` of screenshots against a real server (uvicorn, see tests/test_scan_http.py): a
listed photo shown inside drawn UI chrome (a phone app, a browser, a chat) matches through the picture
the scanner finds inside it; a screenshot of an unrelated photo in the same chrome does not."""

import re
from pathlib import Path

import pytest

from cli.main import main
from tests.fixtures.images import photo, save_jpeg
from tests.fixtures.screens import browser, chat, phone
from tests.test_scan_http import HOTLINE_SEEDS, Server, report_rows, scan_argv, server

__all__ = ["server"]  # the fixture


def test_a_listed_photo_inside_ui_chrome_matches(
    server: tuple[Server, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running, key = server
    root = tmp_path / "storage"
    for seed, chrome in zip(HOTLINE_SEEDS, (phone, browser, chat), strict=True):
        save_jpeg(chrome(photo(seed), seed)[0], root / f"listed/{chrome.__name__}.jpg", quality=85)
    for seed, chrome in zip((200, 201, 202), (phone, browser, chat), strict=True):
        save_jpeg(chrome(photo(seed), seed)[0], root / f"unrelated/{chrome.__name__}.jpg", quality=85)

    assert main(scan_argv(root, running.url, key, tmp_path, "--max-regions", "0")) == 0
    rows = report_rows(tmp_path)
    assert not any(row["matched"] == "true" for row in rows.values())  # without extraction: missed
    assert "found inside" not in capsys.readouterr().out

    (tmp_path / "state.db").unlink()
    (tmp_path / "report.csv").unlink()
    assert main(scan_argv(root, running.url, key, tmp_path)) == 0
    rows = report_rows(tmp_path)
    matched = {ref for ref, row in rows.items() if row["matched"] == "true"}
    assert matched == {f"s3://bucket/listed/{name}.jpg" for name in ("phone", "browser", "chat")}
    assert all(rows[ref]["notice_id"] for ref in matched)
    found = re.search(
        r"(\d+) regions found inside 6 files \(pictures in screenshots", capsys.readouterr().out
    )
    assert found is not None
    assert 6 <= int(found.group(1)) <= 18  # one to three candidate boxes of each picture
