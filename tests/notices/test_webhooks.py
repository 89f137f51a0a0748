"""Webhooks end to end: events fanned out per organisation, signed POSTs to a real local receiver,
retries with backoff on a manual clock."""

import hashlib
import hmac
import json
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import WebhookDelivery
from notices.errors import InvalidRequest, NotAllowed, WebhookNotFound
from notices.lifecycle import dispute, tick
from notices.webhooks import (
    DeliverySummary,
    RetryPolicy,
    UrllibClient,
    deliver_due,
    delivery_view,
    disable_webhook,
    fan_out,
    list_deliveries,
    list_webhooks,
    register_webhook,
    webhook_view,
)
from tests.notices.conftest import T0, World
from tests.notices.receiver import Received, Receiver, running_receiver

CLIENT = UrllibClient()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def verified(request: Received, secret: str) -> dict[str, object]:
    """The body, after checking the signature the way a receiver would (README example)."""
    signed = request.headers["X-Hashmatch-Timestamp"].encode() + b"." + request.body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Hashmatch-Signature"], expected)
    body: dict[str, object] = json.loads(request.body)
    return body


def test_each_concerned_organisation_gets_its_own_signed_view(world: World, receiver: Receiver) -> None:
    with world.sessions.begin() as session:
        hoster_hook = register_webhook(session, world.host_a, receiver.url + "/a", T0)
        hotline_hook = register_webhook(session, world.eokm, receiver.url + "/eokm", T0)
        register_webhook(session, world.host_b, receiver.url + "/b", T0)  # not concerned
        notice = world.notice(session, [world.eokm_pdq])
    assert hoster_hook.secret != hotline_hook.secret
    assert deliver_due(world.sessions, T0, CLIENT) == DeliverySummary(2, 2, 0, 0)
    by_path = {request.path: request for request in receiver.requests}
    assert sorted(by_path) == ["/hooks/a", "/hooks/eokm"]
    for_hoster = verified(by_path["/hooks/a"], hoster_hook.secret)
    for_hotline = verified(by_path["/hooks/eokm"], hotline_hook.secret)
    assert for_hoster["type"] == for_hotline["type"] == "notice.created"
    assert by_path["/hooks/a"].headers["X-Hashmatch-Event"] == "notice.created"
    assert by_path["/hooks/a"].headers["X-Hashmatch-Timestamp"] == str(int(T0.timestamp()))
    hoster_view = for_hoster["notice"]
    assert isinstance(hoster_view, dict)
    assert hoster_view["id"] == notice.public_id
    assert "matches" not in hoster_view
    assert "distance" not in by_path["/hooks/a"].body.decode()
    assert bytes(range(32)).hex() not in by_path["/hooks/a"].body.decode()
    assert bytes(range(32)).hex() in by_path["/hooks/eokm"].body.decode()
    # a wrong secret does not verify
    with pytest.raises(AssertionError):
        verified(by_path["/hooks/a"], hotline_hook.secret)
    # out of time budget: nothing attempted, the due deliveries wait for the next run
    reminder_time = T0 + timedelta(hours=18)
    with world.sessions.begin() as session:
        tick(session, reminder_time)
    assert deliver_due(world.sessions, reminder_time, CLIENT, budget=-1) == DeliverySummary(2, 0, 0, 0)
    assert deliver_due(world.sessions, reminder_time, CLIENT) == DeliverySummary(0, 2, 0, 0)
    assert len(receiver.requests) == 4
    # nothing new: nothing sent again
    assert deliver_due(world.sessions, reminder_time + timedelta(minutes=30), CLIENT) == DeliverySummary(
        0, 0, 0, 0
    )
    assert len(receiver.requests) == 4
    # status changes
    with world.sessions.begin() as session:
        dispute(session, session.merge(notice), world.host_a, reason="not ours", now=T0 + timedelta(hours=19))
    deliver_due(world.sessions, T0 + timedelta(hours=19), CLIENT)
    events = [(r.path, r.headers["X-Hashmatch-Event"]) for r in receiver.requests[2:]]
    assert sorted(events) == [
        ("/hooks/a", "notice.reminder"),
        ("/hooks/a", "notice.status_changed"),
        ("/hooks/eokm", "notice.reminder"),
        ("/hooks/eokm", "notice.status_changed"),
    ]
    disputed = [verified(r, hoster_hook.secret) for r in receiver.requests if r.path == "/hooks/a"][-1]
    assert (disputed["action"], disputed["status"], disputed["reason"]) == (
        "disputed",
        "disputed",
        "not ours",
    )


def test_failures_are_retried_with_backoff_and_logged(world: World, receiver: Receiver) -> None:
    policy = RetryPolicy(first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=3), max_attempts=10)
    receiver.answers = [500, 503, 404, 500]
    with world.sessions.begin() as session:
        hook = register_webhook(session, world.host_a, receiver.url, T0)
        world.notice(session, [world.eokm_pdq])
    # attempt n fails -> next after 1, 2, 3 (capped), 3 minutes
    schedule = [(0, "failed"), (1, "failed"), (3, "failed"), (6, "failed"), (9, "delivered")]
    for minute, outcome in schedule:
        now = T0 + timedelta(minutes=minute)
        if minute:
            before = deliver_due(world.sessions, now - timedelta(seconds=1), CLIENT, policy)
            assert (before.delivered, before.failed) == (0, 0), f"minute {minute}: attempted too early"
        summary = deliver_due(world.sessions, now, CLIENT, policy)
        assert getattr(summary, outcome) == 1, minute
    with world.sessions() as session:
        (delivery,) = list_deliveries(session, world.host_a, hook.webhook.id)
    view = delivery_view(delivery)
    assert (view["event"], view["attempts"], view["last_status"], view["gave_up_at"]) == (
        "notice.created",
        5,
        200,
        None,
    )
    assert view["log"][0] == {"at": T0.isoformat(), "status": 500, "error": "HTTP 500"}
    assert (delivery.attempts, delivery.delivered_at, delivery.next_attempt_at) == (
        5,
        T0 + timedelta(minutes=9),
        None,
    )
    assert [(entry["status"], entry["error"]) for entry in delivery.log] == [
        (500, "HTTP 500"),
        (503, "HTTP 503"),
        (404, "HTTP 404"),
        (500, "HTTP 500"),
        (200, None),
    ]
    ids = {request.headers["X-Hashmatch-Delivery"] for request in receiver.requests}
    assert ids == {str(delivery.id)}  # one delivery id across retries: receivers deduplicate on it
    timestamps = [request.headers["X-Hashmatch-Timestamp"] for request in receiver.requests]
    assert len(set(timestamps)) == 5  # each attempt signed afresh
    for request in receiver.requests:
        verified(request, hook.secret)


def test_an_unreachable_webhook_is_given_up_after_the_last_attempt(world: World) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = RetryPolicy(first_delay=timedelta(seconds=10), max_attempts=3, timeout=2.0)
    with world.sessions.begin() as session:
        register_webhook(session, world.eokm, f"http://127.0.0.1:{port}/x", T0)
        world.notice(session, [world.eokm_pdq])
    outcomes = [
        deliver_due(world.sessions, T0 + timedelta(seconds=s), CLIENT, policy) for s in (0, 10, 30, 70)
    ]
    assert [(o.failed, o.gave_up) for o in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    with world.sessions() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert (delivery.attempts, delivery.gave_up_at, delivery.next_attempt_at) == (
        3,
        T0 + timedelta(seconds=30),
        None,
    )
    assert delivery.last_status is None
    assert delivery.last_error is not None
    assert "refused" in delivery.last_error.lower()


def test_register_list_and_disable(world: World, receiver: Receiver) -> None:
    with world.sessions.begin() as session:
        for url in ("ftp://example.org/x", "http://", "not a url", "https://x.org/" + "a" * 2000):
            with pytest.raises(InvalidRequest, match="url"):
                register_webhook(session, world.host_a, url, T0)
        with pytest.raises(NotAllowed):
            register_webhook(session, world.atkm, receiver.url, T0)
        first = register_webhook(session, world.host_a, receiver.url, T0).webhook
        second = register_webhook(session, world.host_a, receiver.url + "/2", T0).webhook
        world.notice(session, [world.eokm_pdq])
        world.notice(session, [world.eokm_pdq])
        assert fan_out(session, T0) == 4
    with world.sessions.begin() as session:
        for outsider in (world.host_b, world.eokm):
            with pytest.raises(WebhookNotFound):
                disable_webhook(session, outsider, first.id, T0)
            with pytest.raises(WebhookNotFound):
                list_deliveries(session, outsider, first.id)
        disable_webhook(session, world.host_a, second.id, T0)
    # the pending deliveries to the disabled webhook are given up, never sent
    assert deliver_due(world.sessions, T0, CLIENT) == DeliverySummary(0, 2, 0, 0)
    assert [request.path for request in receiver.requests] == ["/hooks", "/hooks"]
    with world.sessions.begin() as session:
        assert [(hook.id, hook.disabled_at) for hook in list_webhooks(session, world.host_a)] == [
            (first.id, None),
            (second.id, T0),
        ]
        views = [webhook_view(hook) for hook in list_webhooks(session, world.host_a)]
        assert views[1] == {
            "id": second.id,
            "url": receiver.url + "/2",
            "created_at": T0.isoformat(),
            "disabled_at": T0.isoformat(),
        }
        assert second.secret not in json.dumps(views)
        given_up = list_deliveries(session, world.host_a, second.id)
        assert [(d.gave_up_at, d.last_error, d.attempts) for d in given_up] == [
            (T0, "webhook disabled", 0)
        ] * 2
        world.notice(session, [world.eokm_pdq])
    assert deliver_due(world.sessions, T0, CLIENT).fanned_out == 1  # only the active webhook
