"""Notices held for review: a hoster's ``review`` result (a lone pHash its own PDQ contradicts) opens a
notice in ``review`` that only the hotline (and admins) see, until the hotline confirms it (an open notice
with its deadline from then, and the hoster's ``notice.created``) or dismisses it."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from db import make_session_factory
from db.models import Notice, Organisation, Webhook, WebhookDelivery
from notices.outbox import fan_out
from tests.api.support import World, flip

REPORT = "/v1/reports/compliance?group_by=total&start=2026-11-01T00:00:00Z&end=2026-12-31T00:00:00Z"


def stereo(world: World, ref: str = "stereo.jpg") -> list[dict[str, object]]:
    """A ref whose pHash is near img1's while its PDQ says another picture: a ``review`` result."""
    h = world.hashes
    return [
        {"type": "pdq", "hash": flip(h["img1.pdq"], 100), "ref": ref},
        {"type": "phash", "hash": flip(h["img1.phash"], 4), "ref": ref},
    ]


def held(world: World) -> str:
    """The hoster's call; the public id of the notice it held for review."""
    answer = world.match("hoster", stereo(world)).json()["results"]
    assert [(r["matched"], r["confidence"], r["notice_id"]) for r in answer] == [(False, None, None)]
    with make_session_factory(world.engine)() as session:
        query = select(Notice).where(Notice.ref == "stereo.jpg", Notice.active_ref.is_not(None))
        notices = session.scalars(query).all()
        assert [(n.status, n.confidence) for n in notices] == [("review", "review")]
        return notices[0].public_id


def listed(world: World, who: str, query: str = "") -> list[dict[str, Any]]:
    answer = world.client.get(f"/v1/notices{query}", headers=world.auth(who))
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def hooks(world: World) -> None:
    for who in ("hoster", "hotline"):
        made = world.client.post(
            "/v1/webhooks", json={"url": f"https://{who}.example/h"}, headers=world.auth(who)
        )
        assert made.status_code == 201, made.text


def deliveries(world: World) -> dict[str, list[tuple[str, str]]]:
    """Fan out the events so far; every delivery so far per organisation: (event type, action)."""
    sessions = make_session_factory(world.engine)
    with sessions.begin() as session:
        fan_out(session, world.clock.now())
    with sessions() as session:
        rows = session.execute(
            select(Organisation.name, WebhookDelivery.event, WebhookDelivery.payload)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .join(Organisation, Organisation.id == Webhook.organisation_id)
            .order_by(WebhookDelivery.id)
        ).all()
    found: dict[str, list[tuple[str, str]]] = {}
    for name, event, payload in rows:
        found.setdefault(name, []).append((event, payload["action"]))
    return found


def reported(world: World) -> int:
    answer = world.client.get(REPORT, headers=world.auth("authority"))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["rows"][0]["notices"])


def test_a_review_result_holds_a_notice_the_hoster_never_sees_and_the_hotline_does(world: World) -> None:
    hooks(world)
    notice_id = held(world)
    assert listed(world, "hoster") == []
    assert listed(world, "hoster", "?status=review") == []
    assert world.client.get(f"/v1/notices/{notice_id}", headers=world.auth("hoster")).status_code == 404
    assert reported(world) == 0
    queue = listed(world, "hotline", "?status=review")
    assert [(n["id"], n["status"], n["confidence"]) for n in queue] == [(notice_id, "review", "review")]
    assert [(m["item"], m["hash_type"]) for m in queue[0]["matches"]] == [("img1", "phash")]
    assert [n["id"] for n in listed(world, "admin", "?status=review")] == [notice_id]
    assert listed(world, "hotline2") == []  # IWF's lists are not matched
    assert world.client.get(f"/v1/notices/{notice_id}", headers=world.auth("hotline2")).status_code == 404
    assert deliveries(world) == {"EOKM": [("notice.created", "created")]}

    again = world.match("hoster", stereo(world)).json()["results"]  # a retry: the same held notice
    assert (again[0]["matched"], again[0]["notice_id"]) == (False, None)
    assert [n["id"] for n in listed(world, "hotline", "?status=review")] == [notice_id]


def test_confirming_opens_it_for_the_hoster_with_its_deadline_from_then(world: World) -> None:
    hooks(world)
    notice_id = held(world)
    deliveries(world)
    world.clock.advance(timedelta(hours=30))  # longer than the list's 24 hours: the deadline was not running
    now = world.clock.now()
    confirmed = world.client.post(
        f"/v1/notices/{notice_id}/confirm", json={"reason": "the same child"}, headers=world.auth("hotline")
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "open"
    mine = world.client.get(f"/v1/notices/{notice_id}", headers=world.auth("hoster")).json()
    assert (mine["status"], mine["created_at"], mine["deadline"]) == (
        "open",
        now.isoformat(),
        (now + timedelta(hours=24)).isoformat(),
    )
    assert "matches" not in mine
    # the hoster's history starts when the notice opened for it: nothing of the review shows
    assert [(e["action"], e["status"], e["reason"]) for e in mine["history"]] == [("created", "open", "")]
    assert [n["id"] for n in listed(world, "hoster")] == [notice_id]
    assert reported(world) == 1
    assert deliveries(world) == {
        "EOKM": [("notice.created", "created"), ("notice.status_changed", "confirmed")],
        "Example Hosting": [("notice.created", "confirmed")],
    }
    with make_session_factory(world.engine)() as session:
        assert session.scalar(select(Notice.status).where(Notice.public_id == notice_id)) == "open"
    again = world.match("hoster", stereo(world)).json()["results"]
    assert len(listed(world, "hotline", "?status=open")) == 1
    assert again[0]["notice_id"] is None


def test_dismissing_closes_it_unseen_and_the_location_can_be_held_again(world: World) -> None:
    hooks(world)
    notice_id = held(world)
    post = world.client.post
    url = f"/v1/notices/{notice_id}/dismiss"
    no_reason = post(url, json={}, headers=world.auth("hotline"))
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    dismissed = post(url, json={"reason": "the other half of a stereo pair"}, headers=world.auth("hotline"))
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["status"], dismissed.json()["history"][-1]["action"]) == (
        "dismissed",
        "dismissed",
    )
    assert listed(world, "hoster", "?status=dismissed") == []
    assert listed(world, "hoster") == []
    assert reported(world) == 0
    assert "Example Hosting" not in deliveries(world)
    assert post(f"/v1/notices/{notice_id}/confirm", json={}, headers=world.auth("hotline")).status_code == 409
    assert held(world) != notice_id  # a new call holds a new one (the dismissed one is closed)


def test_a_match_replaces_a_notice_in_review(world: World) -> None:
    notice_id = held(world)
    h = world.hashes
    matched = world.match("hoster", [{"type": "pdq", "hash": flip(h["img1.pdq"], 3), "ref": "stereo.jpg"}])
    result = matched.json()["results"][0]
    assert result["matched"]
    assert result["notice_id"] not in (None, notice_id)
    assert [n["id"] for n in listed(world, "hoster")] == [result["notice_id"]]
    old = world.client.get(f"/v1/notices/{notice_id}", headers=world.auth("hotline")).json()
    assert (old["status"], old["history"][-1]["actor"]) == ("dismissed", None)


def test_only_the_hotline_of_a_matched_list_or_an_admin_decides_a_review(world: World) -> None:
    notice_id = held(world)
    post = world.client.post
    for who in ("hoster", "authority"):
        assert post(f"/v1/notices/{notice_id}/confirm", json={}, headers=world.auth(who)).status_code == 403
        assert (
            post(
                f"/v1/notices/{notice_id}/dismiss", json={"reason": "x"}, headers=world.auth(who)
            ).status_code
            == 403
        )
    assert (
        post(f"/v1/notices/{notice_id}/confirm", json={}, headers=world.auth("hotline2")).status_code == 404
    )
    assert post(f"/v1/notices/{notice_id}/removed", json={}, headers=world.auth("hoster")).status_code == 404
    by_admin = post(f"/v1/notices/{notice_id}/confirm", json={}, headers=world.auth("admin"))
    assert by_admin.status_code == 200
    assert by_admin.json()["status"] == "open"
