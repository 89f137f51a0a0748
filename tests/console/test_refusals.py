"""What goes wrong in a console action reaches a person as a console page that says it in words (a 4xx
status for what the core refuses), never the API's JSON nor a 500, also when the action was committed
and only the publish after it failed."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from db import make_session_factory
from db.models import HashList, ListVersion
from tests.api.support import World, open_world
from tests.console.support import signed_in


def _page(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    return answer.text


def _eokm_list(world: World) -> int:
    with make_session_factory(world.engine)() as session:
        return session.scalars(select(HashList.id).where(HashList.name == "eokm-main")).one()


def test_a_publish_that_fails_after_the_import_is_written_says_both_on_a_page(world: World) -> None:
    list_id = _eokm_list(world)
    client, csrf = signed_in(world, "hotline")
    body = "type,hash,item\nmd5," + "ab" * 16 + ",new1\n"
    confirm = {"csrf": csrf, "mode": "delta", "format": "csv", "source": "more.csv", "text": body}
    shutil.rmtree(world.index_dir)
    world.index_dir.write_text("not a directory: no index version can be written here\n")
    answer = client.post(f"/console/lists/{list_id}/import/confirm", data={**confirm, "publish": "yes"})
    page = _page(answer, 503)
    assert "Version 2 written: 1 added, 0 removed." in page  # committed: the person is told so
    assert "publishing failed" in page
    assert "try again" in page
    assert str(world.index_dir) not in page  # where it failed is in the log, not on the page
    with make_session_factory(world.engine)() as session:
        numbers = session.scalars(select(ListVersion.number).where(ListVersion.list_id == list_id)).all()
    assert sorted(numbers) == [1, 2]


def test_a_request_the_console_does_not_take_is_a_page_not_json(world: World) -> None:
    client, csrf = signed_in(world, "hotline")
    page = _page(client.post("/console/lists", data={"csrf": csrf}), 405)
    assert "Method Not Allowed" in page
    assert 'href="/console/"' in page


@pytest.fixture
def small_bodies(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[World]:
    with open_world(engine, database_url, tmp_path, max_body_bytes=4096) as opened:
        yield opened


def test_a_file_over_the_body_limit_is_refused_with_a_page(small_bodies: World) -> None:
    client, csrf = signed_in(small_bodies, "hotline")
    rows = "".join(f"md5 {index:032x}\n" for index in range(1, 200))
    files = {"file": ("big.txt", rows.encode(), "text/plain")}
    answer = client.post("/console/lists/1/import", data={"csrf": csrf, "mode": "delta"}, files=files)
    assert "larger than the limit of 4096 bytes" in _page(answer, 413)
    api = small_bodies.client.post(
        "/v1/lists/eokm-main/imports",
        content=rows,
        headers={**small_bodies.auth("hotline"), "Content-Type": "text/plain"},
    )
    assert api.status_code == 413
    assert "larger than the limit" in api.json()["detail"]
