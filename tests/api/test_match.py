"""POST /v1/match through the real ASGI app, on SQLite and PostgreSQL, against a published index."""

import json
from datetime import timedelta

from sqlalchemy import func, select

from api.deps import Services
from db import make_session_factory
from db.models import AuditRecord, HashList, Notice, NoticeEvent, NoticeMatch
from indexer.formats import read_list
from indexer.lists import import_list
from indexer.publishing import publish
from tests.api.support import START, World, flip

A = "s3://uploads/a.jpg"
B = "s3://uploads/b.jpg"
C = "s3://uploads/c.jpg"


def test_confidence_per_ref_and_one_result_per_ref_in_order(world: World) -> None:
    h = world.hashes
    items = [
        {"type": "pdq", "hash": flip(h["img2.pdq"], 20), "ref": B},  # one perceptual signal: medium
        {"type": "pdq", "hash": flip(h["img1.pdq"], 30), "ref": A},
        {"type": "phash", "hash": flip(h["img1.phash"], 3), "ref": A},  # two on the same item: high
        {"type": "md5", "hash": "00" * 16, "ref": C},  # no match
        {"type": "pdq", "hash": flip(h["img1.pdq"], 1), "ref": A},  # a second pdq for A: still one signal
    ]
    answer = world.match("hoster", items)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["counts"] == {"items": 5, "refs": 3, "matched": 2}
    assert body["index_version"] == world.index_version  # what a scanner's state records
    b, a, c = body["results"]
    assert [b["ref"], a["ref"], c["ref"]] == [B, A, C]
    assert (a["matched"], a["confidence"], a["signals"]) == (True, "high", ["pdq", "phash"])
    assert (b["matched"], b["confidence"], b["signals"]) == (True, "medium", ["pdq"])
    assert c == {
        "ref": C,
        "matched": False,
        "confidence": None,
        "signals": [],
        "notice_id": None,
        "reupload_of": None,
    }
    assert a["notice_id"].startswith("ntc_")
    assert len(a["notice_id"]) >= 20
    assert set(a) == {
        "ref",
        "matched",
        "confidence",
        "signals",
        "notice_id",
        "reupload_of",
    }  # nothing more for hosters


def test_cryptographic_match_is_high_and_weak_hashes_only_corroborate(world: World) -> None:
    h = world.hashes
    answer = world.match(
        "hoster",
        [
            {"type": "sha1", "hash": h["iwf.sha1"].upper(), "ref": "crypto"},
            {"type": "whash", "hash": h["img4.whash"], "ref": "weak-alone"},
            {"type": "phash", "hash": flip(h["img3.phash"], 2), "ref": "corroborated"},
            {"type": "ahash", "hash": flip(h["img3.ahash"], 1), "ref": "corroborated"},
        ],
    )
    results = {result["ref"]: result for result in answer.json()["results"]}
    assert results["crypto"]["confidence"] == "high"
    assert results["weak-alone"]["matched"] is False
    assert results["weak-alone"]["notice_id"] is None
    assert results["corroborated"]["confidence"] == "high"
    assert results["corroborated"]["signals"] == ["ahash", "phash"]


def test_list_and_request_thresholds_bound_every_match(world: World) -> None:
    h = world.hashes
    near = flip(h["img2.pdq"], 31)
    assert world.match("hoster", [{"type": "pdq", "hash": near, "ref": "x"}]).json()["counts"]["matched"] == 1
    beyond_list = flip(h["img2.pdq"], 32)  # EOKM's list sets pdq 31 though IWF's uses the default 48
    assert (
        world.match("hoster", [{"type": "pdq", "hash": beyond_list, "ref": "y"}]).json()["counts"]["matched"]
        == 0
    )
    iwf_far = flip(h["iwf.pdq"], 45)  # IWF's list keeps the default 48
    assert (
        world.match("hoster", [{"type": "pdq", "hash": iwf_far, "ref": "w"}]).json()["counts"]["matched"] == 1
    )
    lowered = world.match("hotline", [{"type": "pdq", "hash": near, "ref": "z"}], thresholds={"pdq": 30})
    assert lowered.json()["counts"]["matched"] == 0  # EOKM lowers its own list's threshold
    raised = world.match(
        "hotline", [{"type": "pdq", "hash": beyond_list, "ref": "v"}], thresholds={"pdq": 60}
    )
    assert raised.json()["counts"]["matched"] == 0  # a request can only lower


def test_a_hoster_may_not_send_thresholds_an_exact_distance_would_follow(world: World) -> None:
    """With thresholds of its choice a hoster reads an entry's distance off the answers (7 calls) and
    rebuilds it bit by bit: refused, naming the field, before anything is matched or written."""
    item = {"type": "pdq", "hash": flip(world.hashes["img2.pdq"], 5), "ref": "x"}
    for thresholds in ({"pdq": 30}, {"pdq": 48}, {}):
        answer = world.match("hoster", [item], thresholds=thresholds)
        assert answer.status_code == 403, answer.text
        assert [(e["field"], e["index"]) for e in answer.json()["errors"]] == [("thresholds", None)]
    streamed = world.client.post(
        "/v1/match/stream",
        params={"thresholds": "pdq:30"},
        content=json.dumps(item),
        headers={**world.auth("hoster"), "Content-Type": "application/x-ndjson"},
    )
    assert streamed.status_code == 403
    assert streamed.json()["errors"][0]["field"] == "thresholds"
    with make_session_factory(world.engine)() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_notices_are_committed_idempotent_and_carry_list_metadata(world: World) -> None:
    h = world.hashes
    items = [
        {"type": "md5", "hash": h["img1.md5"], "ref": A},
        {"type": "sha1", "hash": h["iwf.sha1"], "ref": B},
    ]
    first = world.match("hoster", items).json()["results"]
    again = world.match("hoster", items).json()["results"]  # a retried batch
    assert [r["notice_id"] for r in first] == [r["notice_id"] for r in again]
    other = world.match("hoster2", items[:1]).json()["results"][0]
    assert other["notice_id"] != first[0]["notice_id"]  # one per hoster
    sessions = make_session_factory(world.engine)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 3
        a = session.scalar(select(Notice).where(Notice.public_id == first[0]["notice_id"]))
        b = session.scalar(select(Notice).where(Notice.public_id == first[1]["notice_id"]))
        assert a is not None
        assert b is not None
        assert (a.status, a.ref, a.category, a.confidence) == ("open", A, "B", "high")
        assert a.created_at == START
        assert a.deadline == START + timedelta(hours=24)
        assert b.deadline == START + timedelta(hours=12)  # IWF's list: 12 h
        assert b.legal_basis == "Protection of Children Act 1978"
        matches = session.scalars(select(NoticeMatch).where(NoticeMatch.notice_id == a.id)).all()
        assert [(m.entry_id, m.hash_type, m.distance) for m in matches] == [
            (world.entries[h["img1.md5"]], "md5", 0)
        ]
        events = session.scalars(select(NoticeEvent).where(NoticeEvent.notice_id == a.id)).all()
        assert [(e.action, e.status, e.at) for e in events] == [("created", "open", START)]


def test_a_match_on_content_removed_before_links_the_reupload(world: World) -> None:
    h = world.hashes
    item = {"type": "md5", "hash": h["img1.md5"], "ref": A}
    first = world.match("hoster", [item]).json()["results"][0]["notice_id"]
    sessions = make_session_factory(world.engine)
    with sessions.begin() as session:  # what the lifecycle's confirm_removed does
        notice = session.scalar(select(Notice).where(Notice.public_id == first))
        assert notice is not None
        notice.status, notice.active_ref, notice.closed_at = "removed", None, START
    world.clock.advance(timedelta(days=3))
    again = world.match("hoster", [{**item, "ref": "s3://uploads/a-copy.jpg"}]).json()["results"][0]
    assert again["notice_id"] not in (None, first)
    assert again["reupload_of"] == first
    same_ref = world.match("hoster", [item]).json()["results"][0]
    assert same_ref["reupload_of"] == first
    assert same_ref["notice_id"] != first


def test_a_hotline_learns_about_its_own_lists_only_and_no_notices_are_opened(world: World) -> None:
    h = world.hashes
    items = [
        {"type": "pdq", "hash": flip(h["img2.pdq"], 5), "ref": A},
        {"type": "sha1", "hash": h["iwf.sha1"], "ref": A},
        {"type": "sha1", "hash": h["iwf.sha1"], "ref": B},
    ]
    mine, other = world.match("hotline", items).json()["results"]
    assert mine["notice_id"] is None
    assert (mine["matched"], mine["confidence"], mine["signals"]) == (True, "medium", ["pdq"])
    assert [(m["list"], m["type"], m["distance"]) for m in mine["matches"]] == [("eokm-main", "pdq", 5)]
    assert other == {**other, "matched": False, "confidence": None, "signals": [], "matches": []}
    theirs = world.match("hotline2", items).json()["results"]
    assert [(r["matched"], r["signals"]) for r in theirs] == [(True, ["sha1"]), (True, ["sha1"])]
    assert {m["list"] for r in theirs for m in r["matches"]} == {"iwf-hashes"}
    everything = world.match("admin", items).json()["results"][0]
    assert sorted((m["list"], m["distance"]) for m in everything["matches"]) == [
        ("eokm-main", 5),
        ("iwf-hashes", 0),
    ]
    assert world.match("authority", items).status_code == 403  # it reads figures, not lists
    with make_session_factory(world.engine)() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_every_bad_item_is_reported_with_index_field_and_reason_and_nothing_is_written(world: World) -> None:
    h = world.hashes
    items = [
        {"type": "md5", "hash": h["img1.md5"], "ref": A},
        {"type": "pdq", "hash": "abc", "ref": A},
        {"type": "nope", "hash": "00", "ref": A},
        {"type": "md5", "hash": h["img1.md5"], "ref": ""},
        "not an object",
        {"type": "phash", "hash": "zz" * 8, "ref": B, "extra": 1},
        {"type": "phash", "hash": "zz" * 8, "ref": B},
    ]
    answer = world.match("hoster", items)
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"].startswith("6 invalid item(s)")
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "hash"), (2, "type"), (3, "ref"), (4, "item"), (5, "extra"), (6, "hash"),
    ]  # fmt: skip
    assert "64 hexadecimal digits" in body["errors"][0]["reason"]
    assert "not hexadecimal" in body["errors"][5]["reason"]
    with make_session_factory(world.engine)() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 0
    bad_threshold = world.match("hotline", items[:1], thresholds={"pdq": 99})
    assert bad_threshold.status_code == 422
    assert bad_threshold.json()["errors"][0]["field"] == "thresholds.pdq"


def test_malformed_oversized_and_image_requests_get_clear_4xx(world: World) -> None:
    post = world.client.post
    auth = world.auth("hoster")
    not_json = post("/v1/match", content=b"{items", headers={**auth, "Content-Type": "application/json"})
    assert not_json.status_code == 422
    assert not_json.json()["errors"][0]["field"] == "body"
    assert post("/v1/match", json={"items": []}, headers=auth).status_code == 422
    too_many = [{"type": "md5", "hash": "00" * 16, "ref": str(i)} for i in range(10_001)]
    answer = post("/v1/match", json={"items": too_many}, headers=auth)
    assert answer.status_code == 413
    assert "10000" in answer.json()["detail"]
    as_json = {**auth, "Content-Type": "application/json"}
    big = post("/v1/match", content=b" " * (33 * 1024 * 1024), headers=as_json)
    assert big.status_code == 413
    unannounced = post("/v1/match", content=(b" " * 1024 * 1024 for _ in range(33)), headers=as_json)
    assert unannounced.status_code == 413  # no Content-Length: counted while read
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
    for content_type in ("image/jpeg", "application/json"):
        refused = post("/v1/match", content=jpeg, headers={**auth, "Content-Type": content_type})
        assert refused.status_code == 415
        assert "hashes only" in refused.json()["detail"]
    upload = post("/v1/match", files={"file": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")}, headers=auth)
    assert upload.status_code == 415
    text = post("/v1/match", content=b"md5 00", headers={**auth, "Content-Type": "text/plain"})
    assert text.status_code == 415


def test_the_audit_record_of_a_match_call_holds_counts_never_hashes(world: World) -> None:
    h = world.hashes
    secret_query = "ab" * 16
    world.match(
        "hoster",
        [{"type": "md5", "hash": secret_query, "ref": A}, {"type": "md5", "hash": h["img1.md5"], "ref": B}],
    )
    with make_session_factory(world.engine)() as session:
        records = session.scalars(select(AuditRecord).where(AuditRecord.action == "match")).all()
        assert len(records) == 1
        assert records[0].detail == {
            "items": 2,
            "refs": 2,
            "matched": 1,
            "refused": 0,
            "notices_created": 1,
            "index": world.index_version,
        }
        assert records[0].key_id is not None
        everything = str([(r.detail, r.action) for r in session.scalars(select(AuditRecord))])
        assert secret_query not in everything
        assert A not in everything


EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def test_a_trivial_query_hash_is_unmatchable_even_if_a_list_holds_it(world: World) -> None:
    """An entry imported before the rule (read here without the check) never matches the digest of the
    empty file: the query is answered as unmatchable and opens no notice."""
    sessions = make_session_factory(world.engine)
    legacy = read_list([f"md5 {EMPTY_MD5}\n"], "plain", adding=False)
    with sessions.begin() as session:
        hash_list = session.scalars(select(HashList).where(HashList.name == "eokm-main")).one()
        assert import_list(session, hash_list, legacy, mode="delta", source="old.txt").changed
    publish(sessions, world.index_dir)
    services: Services = world.client.app.state.services  # type: ignore[attr-defined]
    assert services.watcher.check()
    h = world.hashes
    items = [
        {"type": "md5", "hash": EMPTY_MD5.upper(), "ref": "empty.bin"},
        {"type": "phash", "hash": "8000000000000000", "ref": "blank.png"},  # pHash of a solid image
        {"type": "pdq", "hash": "0" * 64, "ref": "blank.png"},
        {"type": "md5", "hash": EMPTY_MD5, "ref": A},  # A matches by its other hash: the match stands
        {"type": "pdq", "hash": h["img1.pdq"], "ref": A},
    ]
    for who in ("hoster", "admin"):
        body = world.match(who, items).json()
        empty, blank, a = body["results"]
        assert empty == {
            "ref": "empty.bin",
            "matched": False,
            "confidence": None,
            "signals": [],
            "notice_id": None,
            "reupload_of": None,
            "unmatchable": "md5 of an empty file",
            **({"matches": []} if who == "admin" else {}),
        }
        assert (blank["matched"], blank["unmatchable"]) == (
            False,
            "near-constant phash: 1 of 64 bits set (a blank image)",
        )
        assert a["matched"] is True
        assert "unmatchable" not in a
        assert a["signals"] == ["pdq"]
        assert body["counts"] == {"items": 5, "refs": 3, "matched": 1}
    streamed = world.client.post(
        "/v1/match/stream",
        content=json.dumps(items[0]) + "\n",
        headers={**world.auth("hoster"), "Content-Type": "application/x-ndjson"},
    )
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert (lines[0]["matched"], lines[0]["unmatchable"], lines[0]["notice_id"]) == (
        False,
        "md5 of an empty file",
        None,
    )
    assert lines[-1]["index_version"] == world.index_version  # the final line says which version answered
    with sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Notice).where(Notice.ref.in_(["empty.bin", "blank.png"]))
            )
            == 0
        )
