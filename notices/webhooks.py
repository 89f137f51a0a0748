"""Signed webhooks for notice events, through an outbox.

Every ``NoticeEvent`` is written in the same transaction as the change it records. ``fan_out`` turns
each event not yet fanned out into one ``WebhookDelivery`` per active webhook of each organisation
concerned (the hoster, and the hotlines owning the matched lists), carrying the notice as that
organisation may see it; the hoster gets none of a notice in review (or dismissed there), and its
``notice.created`` when a hotline confirms it. ``deliver_due`` POSTs the deliveries that are due::

    X-Hashmatch-Event: notice.created | notice.reminder | notice.status_changed
    X-Hashmatch-Delivery: <delivery id>       (the same on every retry: deduplicate on it)
    X-Hashmatch-Timestamp: <unix seconds>
    X-Hashmatch-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>." + raw body, keyed by the secret>

Signing the timestamp lets a receiver refuse replays (an old timestamp). A 2xx answer delivers;
anything else (another status, a refused connection, a timeout, a redirect, an address no longer
allowed) is retried with exponential backoff up to a cap, and given up after
``RetryPolicy.max_attempts``. Every attempt is logged on the delivery, in generic words
(``notices.outbound`` decides where a webhook may go and sends there). Secrets are stored sealed
(``db.sealing``).
"""

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import (
    UNSEEN_BY_HOSTER,
    HashList,
    Notice,
    NoticeEvent,
    NoticeMatch,
    Organisation,
    Webhook,
    WebhookDelivery,
)
from db.sealing import InvalidToken, Sealer
from notices.errors import InvalidRequest, NotAllowed, WebhookNotFound
from notices.outbound import Outbound, Refused, generic
from notices.views import iso_or_none, render

log = logging.getLogger(__name__)
RECEIVERS = ("hoster", "hotline")
"""The roles notice events are delivered to."""


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (from 1) failing waits ``first_delay * 2 ** (n - 1)``, at most ``max_delay``."""

    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=6)
    max_attempts: int = 12

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_delay * (1 << min(attempts - 1, 32)), self.max_delay)


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str
    """Shown once, at registration: the receiver keeps it to verify signatures."""


@dataclass(frozen=True)
class DeliverySummary:
    fanned_out: int
    delivered: int
    failed: int
    gave_up: int


def register_webhook(
    session: Session, organisation: Organisation, url: str, now: datetime, outbound: Outbound, sealer: Sealer
) -> NewWebhook:
    """A new webhook for ``organisation`` with a fresh secret (stored sealed), if ``outbound`` may send to
    ``url``."""
    if organisation.role not in RECEIVERS:
        raise NotAllowed("register a webhook", f"notice events go to {' and '.join(RECEIVERS)}s only")
    try:
        outbound.check(url)
    except Refused as refused:
        raise InvalidRequest("url", refused.reason) from None
    secret = "whsec_" + secrets.token_hex(32)
    webhook = Webhook(organisation_id=organisation.id, url=url, secret=sealer.seal(secret), created_at=now)
    session.add(webhook)
    session.flush()
    return NewWebhook(webhook, secret)


def list_webhooks(session: Session, organisation: Organisation) -> list[Webhook]:
    """The organisation's webhooks, disabled ones included, oldest first."""
    return list(
        session.scalars(
            select(Webhook).where(Webhook.organisation_id == organisation.id).order_by(Webhook.id)
        )
    )


def disable_webhook(session: Session, organisation: Organisation, webhook_id: int, now: datetime) -> Webhook:
    """Stop delivering to the webhook: no new deliveries, and the pending ones are given up."""
    webhook = _own_webhook(session, organisation, webhook_id)
    if webhook.disabled_at is None:
        webhook.disabled_at = now
    pending = session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.next_attempt_at.is_not(None)
        )
    )
    for delivery in pending:
        _give_up(delivery, now, "webhook disabled")
    return webhook


def list_deliveries(
    session: Session, organisation: Organisation, webhook_id: int, limit: int = 50
) -> list[WebhookDelivery]:
    """The webhook's latest deliveries, newest first, each with its attempt log."""
    _own_webhook(session, organisation, webhook_id)
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def webhook_view(webhook: Webhook) -> dict[str, Any]:
    """A webhook for its organisation, JSON-ready; never its secret (shown once, at registration)."""
    return {
        "id": webhook.id,
        "url": webhook.url,
        "created_at": webhook.created_at.isoformat(),
        "disabled_at": iso_or_none(webhook.disabled_at),
    }


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    """One delivery and its attempt log, JSON-ready, its errors in generic words only."""
    return {
        "id": delivery.id,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "attempts": delivery.attempts,
        "next_attempt_at": iso_or_none(delivery.next_attempt_at),
        "delivered_at": iso_or_none(delivery.delivered_at),
        "gave_up_at": iso_or_none(delivery.gave_up_at),
        "last_status": delivery.last_status,
        "last_error": generic(delivery.last_error),
        "log": [{**entry, "error": generic(entry.get("error"))} for entry in delivery.log],
    }


def event_type(action: str, role: str) -> str:
    """The ``X-Hashmatch-Event`` of a notice event's action for a receiver of ``role`` (a hoster's
    notice is created when a hotline confirms it out of review)."""
    if action == "created" or (action == "confirmed" and role == "hoster"):
        return "notice.created"
    if action == "reminded":
        return "notice.reminder"
    return "notice.status_changed"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Hashmatch-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def fan_out(session: Session, now: datetime, batch: int = 500) -> int:
    """Turn up to ``batch`` events not yet fanned out into deliveries; the number of deliveries."""
    events = session.scalars(
        select(NoticeEvent)
        .where(NoticeEvent.fanned_out_at.is_(None))
        .order_by(NoticeEvent.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    created = 0
    views: dict[tuple[int, int], dict[str, Any]] = {}
    for event in events:
        notice = session.get_one(Notice, event.notice_id)
        for webhook, organisation in _receivers(session, notice):
            if organisation.role == "hoster" and event.status in UNSEEN_BY_HOSTER:
                continue
            key = (notice.id, organisation.id)
            if key not in views:
                views[key] = render(session, [notice], organisation)[0]
            payload = {
                "type": event_type(event.action, organisation.role),
                "occurred_at": event.at.isoformat(),
                "action": event.action,
                "status": event.status,
                "reason": event.reason,
                "notice": views[key],
            }
            session.add(
                WebhookDelivery(
                    webhook_id=webhook.id,
                    event_id=event.id,
                    event=payload["type"],
                    payload=payload,
                    created_at=now,
                    next_attempt_at=now,
                    log=[],
                )
            )
            created += 1
        event.fanned_out_at = now
    return created


def deliver_due(
    session_factory: sessionmaker[Session],
    now: datetime,
    outbound: Outbound,
    sealer: Sealer,
    policy: RetryPolicy = RetryPolicy(),
    limit: int = 100,
    budget: float = 60.0,
    workers: int = 8,
) -> DeliverySummary:
    """Fan out new events, then attempt up to ``limit`` deliveries due at ``now``: each organisation's in
    order, up to ``workers`` organisations at a time, so a slow or dead receiver delays only its own
    organisation. Each delivery is claimed in its own transaction (so concurrent workers never send one
    twice) and recorded after the POST (no transaction stays open across the network). No new attempt
    starts after ``budget`` seconds of real time: every request is signed with ``now``'s timestamp, which
    must stay fresh for receivers; the rest wait for the next run."""
    deadline = time.monotonic() + budget
    with session_factory.begin() as session:
        fanned_out = fan_out(session, now)
    with session_factory.begin() as session:
        due = session.execute(
            select(WebhookDelivery.id, Webhook.organisation_id)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        ).all()
    queues: dict[int, list[int]] = {}
    for delivery_id, organisation_id in due:
        queues.setdefault(organisation_id, []).append(delivery_id)

    def deliver_queue(queue: list[int]) -> list[str]:
        outcomes = []
        for delivery_id in queue:
            if time.monotonic() > deadline:
                break
            outcome = _attempt(session_factory, delivery_id, now, outbound, sealer, policy)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    counts = {"delivered": 0, "failed": 0, "gave_up": 0}
    if queues:
        with ThreadPoolExecutor(min(workers, len(queues)), thread_name_prefix="webhooks") as pool:
            for outcomes in pool.map(deliver_queue, queues.values()):
                for outcome in outcomes:
                    counts[outcome] += 1
    return DeliverySummary(fanned_out=fanned_out, **counts)


def _attempt(
    session_factory: sessionmaker[Session],
    delivery_id: int,
    now: datetime,
    outbound: Outbound,
    sealer: Sealer,
    policy: RetryPolicy,
) -> str | None:
    """Claim, POST and record one delivery: "delivered", "failed", "gave_up", or None if not claimed."""
    request = _claim(session_factory, delivery_id, now, outbound, sealer, policy)
    if request is None:
        return None
    url, body, headers = request
    status, error = outbound.post(url, body, headers)
    with session_factory.begin() as session:
        return _record_attempt(session.get_one(WebhookDelivery, delivery_id), now, status, error, policy)


def _receivers(session: Session, notice: Notice) -> Sequence[tuple[Webhook, Organisation]]:
    """The active webhooks of the hoster and of the hotlines owning the lists the notice rests on."""
    owners = select(HashList.organisation_id).join(NoticeMatch, NoticeMatch.list_id == HashList.id)
    concerned = (Organisation.id == notice.hoster_id) | Organisation.id.in_(
        owners.where(NoticeMatch.notice_id == notice.id)
    )
    rows = session.execute(
        select(Webhook, Organisation)
        .join(Organisation, Organisation.id == Webhook.organisation_id)
        .where(concerned, Webhook.disabled_at.is_(None))
        .order_by(Webhook.id)
    )
    return list(rows)


def _own_webhook(session: Session, organisation: Organisation, webhook_id: int) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.organisation_id != organisation.id:
        raise WebhookNotFound(webhook_id)
    return webhook


def _claim(
    session_factory: sessionmaker[Session],
    delivery_id: int,
    now: datetime,
    outbound: Outbound,
    sealer: Sealer,
    policy: RetryPolicy,
) -> tuple[str, bytes, dict[str, str]] | None:
    """Push the delivery's next attempt past this one, if still due; what to POST, or None."""
    lease = now + timedelta(seconds=outbound.longest_attempt) + policy.first_delay
    with session_factory.begin() as session:
        claimed = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.next_attempt_at <= now)
            .values(next_attempt_at=lease)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None
        delivery = session.get_one(WebhookDelivery, delivery_id)
        webhook = session.get_one(Webhook, delivery.webhook_id)
        if webhook.disabled_at is not None:  # disabled since this attempt was scheduled
            _give_up(delivery, now, "webhook disabled")
            return None
        try:
            secret = sealer.unseal(webhook.secret)
        except InvalidToken:  # the server's fault, not the receiver's: retried after the lease
            log.error(
                "webhook %s: its secret was sealed with another key (set HASHMATCH_SECRET_KEY)", webhook.id
            )
            return None
        body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "hashmatch-webhooks/1",
            "X-Hashmatch-Event": delivery.event,
            "X-Hashmatch-Delivery": str(delivery.id),
            "X-Hashmatch-Timestamp": str(timestamp),
            "X-Hashmatch-Signature": sign(secret, timestamp, body),
        }
        return webhook.url, body, headers


def _record_attempt(
    delivery: WebhookDelivery, now: datetime, status: int | None, error: str | None, policy: RetryPolicy
) -> str:
    delivery.attempts += 1
    delivery.last_status = status
    delivery.last_error = error
    delivery.log = [*delivery.log, {"at": now.isoformat(), "status": status, "error": error}]
    if error is None:
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        return "delivered"
    if delivery.attempts >= policy.max_attempts:
        _give_up(delivery, now, error)
        return "gave_up"
    delivery.next_attempt_at = now + policy.delay(delivery.attempts)
    return "failed"


def _give_up(delivery: WebhookDelivery, now: datetime, error: str) -> None:
    delivery.gave_up_at = now
    delivery.next_attempt_at = None
    delivery.last_error = error


def notify_organisations(session: Session, payloads: Mapping[int, dict[str, Any]], now: datetime) -> int:
    """Queue one delivery of ``payloads[organisation id]`` (an event that is no notice's, e.g.
    ``probing.suspended`` for a list's owner) to every active webhook of each organisation; the
    number queued. Delivered, retried and logged like notice events."""
    if not payloads:
        return 0
    hooks = session.scalars(
        select(Webhook)
        .where(Webhook.organisation_id.in_(sorted(payloads)), Webhook.disabled_at.is_(None))
        .order_by(Webhook.id)
    ).all()
    session.add_all(
        WebhookDelivery(
            webhook_id=hook.id,
            event_id=None,
            event=payloads[hook.organisation_id]["type"],
            payload=payloads[hook.organisation_id],
            created_at=now,
            next_attempt_at=now,
            log=[],
        )
        for hook in hooks
    )
    return len(hooks)


def queue_test_delivery(session: Session, organisation: Organisation, webhook_id: int, now: datetime) -> None:
    """Queue a ``test`` event to one of ``organisation``'s webhooks: signed, delivered and logged like any
    event (by the next delivery run), so its owner sees the receiver answer."""
    hook = _own_webhook(session, organisation, webhook_id)
    if hook.disabled_at is not None:
        raise WebhookNotFound(webhook_id)
    payload = {"type": "test", "occurred_at": now.isoformat(), "organisation": organisation.name}
    session.add(
        WebhookDelivery(
            webhook_id=hook.id,
            event_id=None,
            event="test",
            payload=payload,
            created_at=now,
            next_attempt_at=now,
            log=[],
        )
    )
