"""A hotline's own lists over HTTP: read, import (dry run first), retract, publish; never another's."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import Engine, select

import audit
from db import make_session_factory
from db.models import AuditRecord, Entry
from tests.api.support import World, flip, open_world, random_hex

CSV = {"Content-Type": "text/csv"}
NEW_PDQ = (random_hex(np.random.default_rng(1), "pdq"), random_hex(np.random.default_rng(2), "pdq"))


def _import(world: World, who: str, name: str, body: str, query: str, **headers: str) -> httpx.Response:
    answer: httpx.Response = world.client.post(
        f"/v1/lists/{name}/imports?{query}",
        content=body.encode(),
        headers={**world.auth(who), **CSV, **headers},
    )
    return answer


def _lists(world: World, who: str) -> dict[str, Any]:
    answer = world.client.get("/v1/lists", headers=world.auth(who))
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _actions(world: World) -> list[str]:
    world.flush_audit()
    with make_session_factory(world.engine)() as session:
        assert audit.verify(session).ok
        return list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)))


def test_a_hotline_sees_its_own_lists_with_counts_and_versions(world: World) -> None:
    eokm = _lists(world, "hotline")
    assert eokm["index_version"] == world.index_version
    (main,) = eokm["lists"]
    assert (main["name"], main["entries"], main["newest_version"], main["served_version"]) == (
        "eokm-main", 7, 1, 1
    )  # fmt: skip
    assert main["types"] == {"ahash": 1, "md5": 1, "pdq": 2, "phash": 2, "whash": 1}
    assert main["thresholds"] == {"pdq": 31}
    assert [found["name"] for found in _lists(world, "hotline2")["lists"]] == ["iwf-hashes"]
    (version,) = world.client.get("/v1/lists/eokm-main/versions", headers=world.auth("hotline")).json()
    assert (version["number"], version["mode"], version["entries"], version["served"]) == (1, "full", 7, True)
    assert version["source"] == "eokm-main.csv"
    assert "lists.list" in _actions(world)


def test_another_hotlines_list_is_not_found_exactly_like_a_missing_one(world: World) -> None:
    body = "type,hash\nmd5,0123456789abcdef0123456789abcdef\n"
    for name in ("iwf-hashes", "no-such-list"):
        calls = [
            world.client.get(f"/v1/lists/{name}/versions", headers=world.auth("hotline")),
            _import(world, "hotline", name, body, "mode=delta"),
            _import(world, "hotline", name, body, "mode=delta&dry_run=true"),
            world.client.post(
                f"/v1/lists/{name}/retractions",
                json={"entries": [1], "reason": "x"},
                headers=world.auth("hotline"),
            ),
        ]
        for answer in calls:
            assert answer.status_code == 404, answer.text
            assert answer.json() == {"detail": f"no list {name!r}"}
    assert [found["newest_version"] for found in _lists(world, "hotline2")["lists"]] == [1]


def test_an_import_is_checked_as_a_dry_run_then_refused_whole_or_imported(world: World) -> None:
    good, other = NEW_PDQ
    body = f"type,hash,item\npdq,{good},img8\npdq,abc,img9\npdq,{other},img10\n"
    dry = _import(world, "hotline", "eokm-main", body, "mode=delta&dry_run=true")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["dry_run"], report["changed"], report["version"], report["rows"]) == (True, True, None, 3)
    assert report["added"] == {"pdq": 2}
    assert report["bad_lines"] == 1
    (error,) = report["errors"]
    assert (error["index"], error["field"]) == (3, "line")
    assert error["reason"].startswith("invalid pdq hash: ")
    assert error["reason"].endswith("(value 'abc')")
    refused = _import(world, "hotline", "eokm-main", body, "mode=delta")
    assert refused.status_code == 422
    assert refused.json()["errors"] == report["errors"]
    assert "skip_bad=true" in refused.json()["detail"]
    assert _lists(world, "hotline")["lists"][0]["newest_version"] == 1  # neither wrote anything
    done = _import(world, "hotline", "eokm-main", body, "mode=delta&skip_bad=true&source=update.csv")
    assert done.status_code == 200, done.text
    assert (done.json()["version"], done.json()["entries"], done.json()["added"]) == (2, 9, {"pdq": 2})
    main = _lists(world, "hotline")["lists"][0]
    assert (main["newest_version"], main["served_version"], main["types"]["pdq"]) == (2, 1, 4)
    item = {"type": "pdq", "hash": good, "ref": "new.jpg"}
    assert world.match("hoster", [item]).json()["results"][0]["matched"] is False  # not published yet
    published = world.client.post("/v1/lists/publish", headers=world.auth("hotline"))
    assert published.status_code == 200, published.text
    assert published.json()["changed"] is True
    assert published.json()["index_version"] == world.index_version
    assert world.match("hoster", [item]).json()["results"][0]["matched"] is True  # served at once
    assert {"lists.import_checked", "lists.imported", "lists.published"} <= set(_actions(world))


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-ndjson", '{"type": "md5", "hash": "0123456789abcdef0123456789abcdef"}\n'),
        ("text/plain; charset=utf-8", "# a comment\nmd5 0123456789abcdef0123456789abcdef\n"),
    ],
)
def test_ndjson_and_plain_files_are_read_by_their_content_type(
    world: World, content_type: str, body: str
) -> None:
    answer = _import(world, "hotline", "eokm-main", body, "mode=delta", **{"Content-Type": content_type})
    assert answer.status_code == 200, answer.text
    assert answer.json()["added"] == {"md5": 1}


def test_uploads_of_other_content_types_and_files_that_cannot_be_read_are_refused(world: World) -> None:
    for content_type, status in (("application/json", 415), ("image/png", 415), ("", 415)):
        answer = _import(
            world, "hotline", "eokm-main", "md5 00\n", "mode=delta", **{"Content-Type": content_type}
        )
        assert answer.status_code == status, content_type
    headerless = _import(world, "hotline", "eokm-main", "md5,0123456789abcdef0123456789abcdef\n", "mode=full")
    assert headerless.status_code == 422
    assert "header" in headerless.json()["detail"]
    emptying = _import(world, "hotline", "eokm-main", "type,hash\n", "mode=full")
    assert emptying.status_code == 409
    assert "allow_empty=true" in emptying.json()["detail"]
    for query, field in (("mode=retract", "mode"), ("", "mode"), ("mode=full&dryrun=true", "dryrun")):
        wrong = _import(world, "hotline", "eokm-main", "type,hash\n", query)
        assert wrong.status_code == 422, query
        assert wrong.json()["errors"][0]["field"] == field, query
    assert _lists(world, "hotline")["lists"][0]["newest_version"] == 1


@pytest.fixture
def small_bodies(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[World]:
    with open_world(engine, database_url, tmp_path, max_body_bytes=1024) as opened:
        yield opened


def test_an_upload_over_the_body_limit_is_refused(small_bodies: World) -> None:
    rows = "".join(f"md5 {index:032x}\n" for index in range(1, 40))
    answer = _import(
        small_bodies, "hotline", "eokm-main", rows, "mode=delta", **{"Content-Type": "text/plain"}
    )
    assert answer.status_code == 413
    assert _lists(small_bodies, "hotline")["lists"][0]["newest_version"] == 1


def test_a_retraction_published_through_the_api_stops_the_match_and_withdraws_the_notice(
    world: World,
) -> None:
    h = world.hashes
    item = {"type": "md5", "hash": h["img1.md5"], "ref": "beach.jpg"}
    notice = world.match("hoster", [item]).json()["results"][0]["notice_id"]
    assert notice is not None
    retracted = world.client.post(
        "/v1/lists/eokm-main/retractions",
        json={"entries": [world.entries[h["img1.md5"]]], "reason": "a stock photo", "publish": True},
        headers=world.auth("hotline"),
    )
    assert retracted.status_code == 201, retracted.text
    answer = retracted.json()
    assert (answer["version"], answer["removed"], answer["entries"]) == (2, 1, 6)
    assert answer["published"]["changed"] is True
    assert answer["published"]["removed"] == 1
    shown = world.client.get(f"/v1/notices/{notice}", headers=world.auth("hoster")).json()
    assert shown["status"] == "withdrawn"
    again = world.match("hoster", [{**item, "ref": "beach2.jpg"}]).json()["results"][0]
    assert again["matched"] is False
    versions = world.client.get("/v1/lists/eokm-main/versions", headers=world.auth("hotline")).json()
    assert [(v["mode"], v["served"], v["reason"]) for v in versions] == [
        ("full", False, ""),
        ("retract", True, "a stock photo"),
    ]
    assert {"lists.retracted", "lists.published"} <= set(_actions(world))


def test_retractions_by_hash_name_each_bad_one_and_write_nothing_until_all_are_good(world: World) -> None:
    h = world.hashes
    post = world.client.post
    auth = world.auth("hotline")
    bad = post(
        "/v1/lists/eokm-main/retractions",
        json={
            "hashes": [{"type": "pdq", "hash": h["img2.pdq"]}, {"type": "pdq", "hash": "abc"}],
            "reason": "fp",
        },
        headers=auth,
    )
    assert bad.status_code == 422
    (error,) = bad.json()["errors"]
    assert (error["index"], error["field"]) == (1, "hashes")
    assert error["reason"].startswith("invalid pdq hash")
    for body, field in (
        ({"hashes": [{"type": "pdq", "hash": "ab\ncd"}], "reason": "fp"}, "hashes.hash"),
        ({"entries": [1], "hashes": [{"type": "pdq", "hash": h["img2.pdq"]}], "reason": "fp"}, "entries"),
        ({"reason": "fp"}, "entries"),
        ({"entries": [1]}, "reason"),
    ):
        refused = post("/v1/lists/eokm-main/retractions", json=body, headers=auth)
        assert refused.status_code == 422, body
        assert refused.json()["errors"][0]["field"] == field, body
    foreign = post(
        "/v1/lists/eokm-main/retractions",
        json={"entries": [world.entries[h["iwf.sha1"]]], "reason": "not ours"},
        headers=auth,
    )
    assert foreign.status_code == 404
    assert (
        foreign.json()["detail"]
        == f"not active entries of list EOKM/eokm-main: {world.entries[h['iwf.sha1']]}"
    )
    assert _lists(world, "hotline")["lists"][0]["newest_version"] == 1
    pairs = [{"type": "pdq", "hash": h["img2.pdq"]}, {"type": "pdq", "hash": flip(h["img2.pdq"], 1)}]
    good = post("/v1/lists/eokm-main/retractions", json={"hashes": pairs, "reason": "fp"}, headers=auth)
    assert good.status_code == 201, good.text
    assert (good.json()["removed"], good.json()["not_found"], good.json()["published"]) == (1, 1, None)
    with make_session_factory(world.engine)() as session:
        entry = session.get_one(Entry, world.entries[h["img2.pdq"]])
        assert entry.removal == "retracted"


def test_a_hotline_publishes_only_its_own_lists_and_an_admin_all(world: World) -> None:
    row = "type,hash\nmd5,0123456789abcdef0123456789abcdef\n"
    assert _import(world, "hotline", "eokm-main", row, "mode=delta").status_code == 200
    assert _import(world, "hotline2", "iwf-hashes", row, "mode=delta").status_code == 200
    assert world.client.post("/v1/lists/publish", headers=world.auth("hotline")).status_code == 200
    served = {
        found["name"]: found["served_version"]
        for who in ("hotline", "hotline2")
        for found in _lists(world, who)["lists"]
    }
    assert served == {"eokm-main": 2, "iwf-hashes": 1}
    again = world.client.post("/v1/lists/publish", headers=world.auth("hotline")).json()
    assert again["changed"] is False
    assert world.client.post("/v1/lists/publish", headers=world.auth("admin")).json()["changed"] is True
    assert _lists(world, "hotline2")["lists"][0]["served_version"] == 2


def test_resolving_a_dispute_can_withdraw_retract_and_publish_at_once(world: World) -> None:
    h = world.hashes
    item = {"type": "md5", "hash": h["img1.md5"], "ref": "a.jpg"}
    disputed = world.match("hoster", [item]).json()["results"][0]["notice_id"]
    other = world.match("hoster2", [{**item, "ref": "b.jpg"}]).json()["results"][0]["notice_id"]
    post = world.client.post
    post(f"/v1/notices/{disputed}/dispute", json={"reason": "a stock photo"}, headers=world.auth("hoster"))
    alone = post(
        f"/v1/notices/{disputed}/resolve",
        json={"outcome": "withdrawn", "reason": "false positive", "publish": True},
        headers=world.auth("hotline"),
    )
    assert alone.status_code == 422
    assert alone.json()["errors"][0]["field"] == "publish"
    resolved = post(
        f"/v1/notices/{disputed}/resolve",
        json={"outcome": "withdrawn", "reason": "false positive", "retract": True, "publish": True},
        headers=world.auth("hotline"),
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "withdrawn"
    assert (
        world.client.get(f"/v1/notices/{other}", headers=world.auth("hoster2")).json()["status"]
        == "withdrawn"
    )
    assert world.match("hoster", [{**item, "ref": "c.jpg"}]).json()["results"][0]["matched"] is False
    assert _lists(world, "hotline")["lists"][0]["served_version"] == 2


def test_a_publish_the_server_cannot_write_is_a_503_saying_so_and_nothing_is_served(world: World) -> None:
    """A fault of the server's disk or index store is not the caller's error and no 500 either: the
    answer says what failed and that the served version is unchanged."""
    row = "type,hash\nmd5,0123456789abcdef0123456789abcdef\n"
    assert _import(world, "hotline", "eokm-main", row, "mode=delta").status_code == 200
    shutil.rmtree(world.index_dir)
    world.index_dir.write_text("not a directory: no index version can be written here\n")
    answer = world.client.post("/v1/lists/publish", headers=world.auth("hotline"))
    assert answer.status_code == 503, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("publishing failed")
    assert "nothing was published" in detail
    assert str(world.index_dir) not in detail  # no server path on the wire
    assert {found["name"]: found["served_version"] for found in _lists(world, "hotline")["lists"]} == {
        "eokm-main": 1
    }
