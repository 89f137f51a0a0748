"""Webhooks end to end: events fanned out per organisation, signed POSTs to a real local receiver,
retries with backoff on a manual clock, organisations delivered to side by side."""

import hashlib
import hmac
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Organisation, Webhook, WebhookDelivery
from db.sealing import Sealer
from notices.delivery import DeliverySummary, RetryPolicy, deliver_due
from notices.errors import InvalidRequest, NotAllowed, WebhookNotFound
from notices.lifecycle import dispute, tick
from notices.outbound import Outbound
from notices.outbox import fan_out
from notices.webhooks import (
    NewWebhook,
    delivery_view,
    disable_webhook,
    list_deliveries,
    list_webhooks,
    register_webhook,
    webhook_view,
)
from tests.notices.conftest import T0, World
from tests.notices.receiver import Received, Receiver, dead_receiver, running_receiver

LOCAL = Outbound(allow_internal=True, timeout=3.0)
"""Local receivers allowed: these tests deliver to 127.0.0.1."""
SEALER = Sealer(Fernet.generate_key().decode(), Path("/nonexistent/unused.key"))


def register(
    session: Session, organisation: Organisation, url: str, outbound: Outbound = LOCAL
) -> NewWebhook:
    return register_webhook(session, organisation, url, T0, outbound, SEALER)


def deliver(world: World, now: datetime, outbound: Outbound = LOCAL, **options: Any) -> DeliverySummary:
    return deliver_due(world.sessions, now, outbound, SEALER, **options)


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
        hoster_hook = register(session, world.host_a, receiver.url + "/a")
        hotline_hook = register(session, world.eokm, receiver.url + "/eokm")
        register(session, world.host_b, receiver.url + "/b")  # not concerned
        notice = world.notice(session, [world.eokm_pdq])
    assert hoster_hook.secret != hotline_hook.secret
    assert deliver(world, T0) == DeliverySummary(2, 2, 0, 0)
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
    assert deliver(world, reminder_time, budget=-1) == DeliverySummary(2, 0, 0, 0)
    assert deliver(world, reminder_time) == DeliverySummary(0, 2, 0, 0)
    assert len(receiver.requests) == 4
    # nothing new: nothing sent again
    assert deliver(world, reminder_time + timedelta(minutes=30)) == DeliverySummary(0, 0, 0, 0)
    assert len(receiver.requests) == 4
    # status changes
    with world.sessions.begin() as session:
        dispute(session, session.merge(notice), world.host_a, reason="not ours", now=T0 + timedelta(hours=19))
    deliver(world, T0 + timedelta(hours=19))
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
        hook = register(session, world.host_a, receiver.url)
        world.notice(session, [world.eokm_pdq])
    # attempt n fails -> next after 1, 2, 3 (capped), 3 minutes
    schedule = [(0, "failed"), (1, "failed"), (3, "failed"), (6, "failed"), (9, "delivered")]
    for minute, outcome in schedule:
        now = T0 + timedelta(minutes=minute)
        if minute:
            before = deliver(world, now - timedelta(seconds=1), policy=policy)
            assert (before.delivered, before.failed) == (0, 0), f"minute {minute}: attempted too early"
        summary = deliver(world, now, policy=policy)
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
    policy = RetryPolicy(first_delay=timedelta(seconds=10), max_attempts=3)
    with world.sessions.begin() as session:
        register(session, world.eokm, f"http://127.0.0.1:{port}/x")
        world.notice(session, [world.eokm_pdq])
    outcomes = [deliver(world, T0 + timedelta(seconds=s), policy=policy) for s in (0, 10, 30, 70)]
    assert [(o.failed, o.gave_up) for o in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    with world.sessions() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
    assert (delivery.attempts, delivery.gave_up_at, delivery.next_attempt_at) == (
        3,
        T0 + timedelta(seconds=30),
        None,
    )
    assert delivery.last_status is None
    assert [entry["error"] for entry in delivery.log] == ["connection failed"] * 3  # never the OS's words
    # a log written before outcomes were generic shows no more
    with world.sessions.begin() as session:
        old = session.get_one(WebhookDelivery, delivery.id)
        old.last_error = "<urlopen error [Errno 111] Connection refused>"
        old.log = [{"at": T0.isoformat(), "status": None, "error": "timed out: 10.1.2.3:8080 [Errno 110]"}]
    with world.sessions() as session:
        view = delivery_view(session.get_one(WebhookDelivery, delivery.id))
    assert (view["last_error"], view["log"][0]["error"]) == ("connection failed", "connection failed")


def test_register_list_and_disable(world: World, receiver: Receiver) -> None:
    with world.sessions.begin() as session:
        for url in ("ftp://example.org/x", "http://", "not a url", "https://x.org/" + "a" * 2000):
            with pytest.raises(InvalidRequest, match="url"):
                register(session, world.host_a, url)
        with pytest.raises(NotAllowed):
            register(session, world.atkm, receiver.url)
        first = register(session, world.host_a, receiver.url).webhook
        new = register(session, world.host_a, receiver.url + "/2")
        second = new.webhook
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
    assert deliver(world, T0) == DeliverySummary(0, 2, 0, 0)
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
        assert new.secret not in json.dumps(views)
        stored = session.get_one(Webhook, second.id).secret
        assert new.secret not in stored  # sealed at rest
        assert SEALER.unseal(stored) == new.secret
        given_up = list_deliveries(session, world.host_a, second.id)
        assert [(d.gave_up_at, d.last_error, d.attempts) for d in given_up] == [
            (T0, "webhook disabled", 0)
        ] * 2
        world.notice(session, [world.eokm_pdq])
    assert deliver(world, T0).fanned_out == 1  # only the active webhook


# --- webhooks cannot reach inside -------------------------------------------------------------------

PUBLIC = "93.184.215.14"
"""A public address (these tests never connect to it)."""


def resolving_to(*addresses: str) -> Callable[[str, int], list[str]]:
    """A stand-in for DNS: every name resolves to ``addresses``."""
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data/", "resolves to a link-local address"),
        ("https://10.0.0.1/hook", "resolves to a private address"),
        ("https://[::1]/hook", "resolves to a loopback address"),
        ("https://127.1/hook", "resolves to a loopback address"),
        ("https://2130706433/hook", "resolves to a loopback address"),
        ("https://0x7f000001/hook", "resolves to a loopback address"),
        ("https://017700000001/hook", "resolves to a loopback address"),
        ("https://[::ffff:127.0.0.1]/hook", "resolves to a loopback address"),
        ("https://[::ffff:a9fe:a9fe]/hook", "resolves to a link-local address"),
        ("https://[2002:a00:1::]/hook", "resolves to a private address"),  # 6to4 of 10.0.0.1
        ("https://[64:ff9b::a00:1]/hook", "resolves to a private address"),  # NAT64 of 10.0.0.1
        ("https://[::127.0.0.1]/hook", "resolves to a reserved address"),
        ("https://[fe80::1]/hook", "resolves to a link-local address"),
        ("https://[fd00::1]/hook", "resolves to a private address"),
        ("https://[ff02::1]/hook", "resolves to a multicast address"),
        ("https://0.0.0.0/hook", "resolves to an unspecified address"),
        ("https://100.64.0.1/hook", "resolves to a shared address"),
        ("https://240.0.0.1/hook", "resolves to a private address"),
        ("https://localhost:8443/hook", "resolves to a loopback address"),
        ("http://8.8.8.8/hook", "plain http is not allowed: expected an https URL"),
        ("ftp://8.8.8.8/hook", "expected an https URL with a host, at most 2000 characters, no spaces"),
    ],
)
def test_urls_reaching_inside_are_refused_at_registration(world: World, url: str, reason: str) -> None:
    with world.sessions.begin() as session:
        with pytest.raises(InvalidRequest) as refused:
            register(session, world.host_a, url, Outbound())
        assert (refused.value.field, refused.value.reason) == ("url", reason)
        assert list_webhooks(session, world.host_a) == []


def test_a_name_is_refused_if_any_of_its_addresses_is_internal(world: World) -> None:
    with world.sessions.begin() as session:
        for addresses, reason in (
            ((PUBLIC, "10.1.2.3"), "resolves to a private address"),
            (("2606:4700::1111", "::1"), "resolves to a loopback address"),
            ((), "the host name does not resolve"),
        ):
            with pytest.raises(InvalidRequest, match=reason):
                register(
                    session,
                    world.host_a,
                    "https://hooks.hoster.test/",
                    Outbound(resolve=resolving_to(*addresses)),
                )
        accepted = register(
            session, world.host_a, "https://hooks.hoster.test/", Outbound(resolve=resolving_to(PUBLIC))
        )
        assert accepted.webhook.url == "https://hooks.hoster.test/"


def test_a_name_rebound_to_an_internal_address_after_registration_is_not_delivered_to(
    world: World, receiver: Receiver
) -> None:
    url = f"https://hooks.hoster.test:{receiver.port}/hooks"
    with world.sessions.begin() as session:
        register(session, world.host_a, url, Outbound(resolve=resolving_to(PUBLIC)))
        world.notice(session, [world.eokm_pdq])
    rebound = Outbound(resolve=resolving_to("127.0.0.1"))
    assert deliver(world, T0, rebound) == DeliverySummary(1, 0, 1, 0)
    assert receiver.requests == []
    with world.sessions() as session:
        (delivery,) = session.scalars(select(WebhookDelivery))
    assert delivery_view(delivery)["log"] == [
        {"at": T0.isoformat(), "status": None, "error": "address not allowed"}
    ]


def test_the_post_goes_to_the_address_checked_with_the_name_as_host(world: World, receiver: Receiver) -> None:
    """hooks.hoster.test resolves only through the stand-in: had the client resolved the name again,
    nothing would have arrived. Its first address does not connect (nothing listens on 127.0.0.2), the
    next is tried. Redirects are answers, not followed."""
    answers: list[list[str]] = [["127.0.0.2", "127.0.0.1"]]
    resolved: list[str] = []

    def once(host: str, port: int) -> list[str]:
        resolved.append(f"{host}:{port}")
        return answers.pop(0) if answers else []

    pinned = Outbound(allow_internal=True, resolve=once)
    url = f"http://hooks.hoster.test:{receiver.port}/hooks?x=1"
    with world.sessions.begin() as session:
        register(session, world.host_a, url, Outbound(allow_internal=True, resolve=resolving_to(PUBLIC)))
        world.notice(session, [world.eokm_pdq])
    assert deliver(world, T0, pinned) == DeliverySummary(1, 1, 0, 0)
    (request,) = receiver.requests
    assert (request.path, request.headers["Host"]) == ("/hooks?x=1", f"hooks.hoster.test:{receiver.port}")
    assert resolved == [f"hooks.hoster.test:{receiver.port}"]
    # a redirect is logged as its status and never followed; the next resolution fails: "host not found"
    receiver.answers = [302]
    with world.sessions.begin() as session:
        tick(session, T0 + timedelta(hours=18))
    answers.append(["127.0.0.1"])
    assert deliver(world, T0 + timedelta(hours=18), pinned) == DeliverySummary(1, 0, 1, 0)
    assert deliver(world, T0 + timedelta(hours=19), pinned) == DeliverySummary(0, 0, 1, 0)
    assert len(receiver.requests) == 2
    with world.sessions() as session:
        reminder = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())).first()
    assert reminder is not None
    assert [entry["error"] for entry in reminder.log] == ["HTTP 302", "host not found"]


def test_a_dead_receiver_delays_no_other_organisation(world: World, receiver: Receiver) -> None:
    """The hoster's two webhooks accept connections and never answer; the hotline's delivery comes in
    while the hoster's first one is still waiting, not after the timeouts."""
    with dead_receiver() as dead:
        receiver.observe = lambda: dead.hung_up
        with world.sessions.begin() as session:
            register(session, world.host_a, dead.url)  # delivered first, in order
            register(session, world.host_a, dead.url + "/2")
            register(session, world.eokm, receiver.url)
            world.notice(session, [world.eokm_pdq])
        assert deliver(world, T0) == DeliverySummary(3, 1, 2, 0)
    (request,) = receiver.requests
    assert request.observed == 0  # no dead connection had timed out yet
    with world.sessions() as session:
        logs = [d.log for d in session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]
    assert [[entry["error"] for entry in log] for log in logs] == [["timed out"], ["timed out"], [None]]


def test_https_is_verified_against_the_host_name_not_the_address(world: World, tmp_path: Path) -> None:
    """A local TLS receiver with a certificate for hooks.hoster.test from a test CA: delivered to at the
    checked address, the certificate checked against the name; another name on the same address fails."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.hoster.test").configure_cert(server)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    outbound = Outbound(allow_internal=True, ca_bundle=str(bundle), resolve=resolving_to("127.0.0.1"))
    with running_receiver(tls=server, host="hooks.hoster.test") as receiver:
        with world.sessions.begin() as session:
            hook = register(session, world.host_a, receiver.url, outbound)
            register(session, world.eokm, receiver.url.replace("hooks.", "other."), outbound)
            world.notice(session, [world.eokm_pdq])
        assert deliver(world, T0, outbound) == DeliverySummary(2, 1, 1, 0)
        (request,) = receiver.requests
        assert request.headers["Host"] == f"hooks.hoster.test:{receiver.port}"
        verified(request, hook.secret)
        # certifi's CAs do not know the test CA
        with world.sessions.begin() as session:
            world.notice(session, [world.eokm_pdq])
        certifi_only = Outbound(allow_internal=True, resolve=resolving_to("127.0.0.1"))
        assert deliver(world, T0, certifi_only) == DeliverySummary(2, 0, 2, 0)
    with world.sessions() as session:
        errors = [d.last_error for d in session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]
    assert errors[:2] == [None, "TLS error"]
    assert set(errors[2:]) == {"TLS error"}
