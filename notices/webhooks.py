"""Signed webhooks for notice events, through an outbox.

Every ``NoticeEvent`` is written in the same transaction as the change it records. ``fan_out`` turns
each event not yet fanned out into one ``WebhookDelivery`` per active webhook of each organisation
concerned (the hoster, and the hotlines owning the matched lists), carrying the notice as that
organisation may see it. ``deliver_due`` POSTs the deliveries that are due::

    X-Hashmatch-Event: notice.created | notice.reminder | notice.status_changed
    X-Hashmatch-Delivery: <delivery id>       (the same on every retry: deduplicate on it)
    X-Hashmatch-Timestamp: <unix seconds>
    X-Hashmatch-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>." + raw body, keyed by the secret>

Signing the timestamp lets a receiver refuse replays (an old timestamp). A 2xx answer delivers;
anything else (another status, a refused connection, a timeout, a redirect) is retried with
exponential backoff up to a cap, and given up after ``RetryPolicy.max_attempts``. Every attempt is
logged on the delivery.
"""

import hashlib
import hmac
import http.client
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import HashList, Notice, NoticeEvent, NoticeMatch, Organisation, Webhook, WebhookDelivery
from notices.errors import InvalidRequest, NotAllowed, WebhookNotFound
from notices.views import iso_or_none, render

RECEIVERS = ("hoster", "hotline")
"""The roles notice events are delivered to."""
MAX_URL_LENGTH = 2000


class HttpClient(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        """POST ``body``; the HTTP status of the answer. Raises ``OSError`` when no answer came."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (from 1) failing waits ``first_delay * 2 ** (n - 1)``, at most ``max_delay``."""

    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=6)
    max_attempts: int = 12
    timeout: float = 10.0

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


def register_webhook(session: Session, organisation: Organisation, url: str, now: datetime) -> NewWebhook:
    """A new webhook for ``organisation`` with a fresh secret."""
    if organisation.role not in RECEIVERS:
        raise NotAllowed("register a webhook", f"notice events go to {' and '.join(RECEIVERS)}s only")
    if not _deliverable(url):
        raise InvalidRequest(
            "url", f"expected an http(s) URL with a host, at most {MAX_URL_LENGTH} characters, no spaces"
        )
    secret = "whsec_" + secrets.token_hex(32)
    webhook = Webhook(organisation_id=organisation.id, url=url, secret=secret, created_at=now)
    session.add(webhook)
    session.flush()
    return NewWebhook(webhook, secret)


def _deliverable(url: str) -> bool:
    """An absolute http(s) URL with a host (and a valid port, if any), without spaces or control
    characters (RFC 3986 has none): one the HTTP client can send to."""
    if len(url) > MAX_URL_LENGTH or any(char.isspace() or not char.isprintable() for char in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:  # e.g. an unclosed [IPv6 address
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


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
    """One delivery and its attempt log, JSON-ready."""
    return {
        "id": delivery.id,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "attempts": delivery.attempts,
        "next_attempt_at": iso_or_none(delivery.next_attempt_at),
        "delivered_at": iso_or_none(delivery.delivered_at),
        "gave_up_at": iso_or_none(delivery.gave_up_at),
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "log": list(delivery.log),
    }


def event_type(action: str) -> str:
    """The ``X-Hashmatch-Event`` of a notice event's action."""
    if action == "created":
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
            key = (notice.id, organisation.id)
            if key not in views:
                views[key] = render(session, [notice], organisation)[0]
            payload = {
                "type": event_type(event.action),
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
    http_client: HttpClient,
    policy: RetryPolicy = RetryPolicy(),
    limit: int = 100,
    budget: float = 60.0,
) -> DeliverySummary:
    """Fan out new events, then attempt up to ``limit`` deliveries due at ``now``, each claimed in its own
    transaction (so concurrent workers never send one twice) and recorded after the POST (no
    transaction stays open across the network). No new attempt starts after ``budget`` seconds of
    real time: every request is signed with ``now``'s timestamp, which must stay fresh for receivers;
    the rest wait for the next run."""
    started = time.monotonic()
    with session_factory.begin() as session:
        fanned_out = fan_out(session, now)
    with session_factory.begin() as session:
        due = session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        ).all()
    outcomes = {"delivered": 0, "failed": 0, "gave_up": 0}
    for delivery_id in due:
        if time.monotonic() - started > budget:
            break
        request = _claim(session_factory, delivery_id, now, policy)
        if request is None:
            continue
        url, body, headers = request
        status: int | None = None
        try:
            status = http_client.post(url, body, headers, policy.timeout)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except OSError as failure:
            error = str(failure) or type(failure).__name__
        with session_factory.begin() as session:
            outcome = _record_attempt(
                session.get_one(WebhookDelivery, delivery_id), now, status, error, policy
            )
        outcomes[outcome] += 1
    return DeliverySummary(fanned_out=fanned_out, **outcomes)


class UrllibClient:
    """The standard library's HTTP client, never following redirects."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect())

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as answer:
            return answer.code
        except http.client.HTTPException as failure:
            raise OSError(f"bad HTTP answer: {failure!r}") from failure


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


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
    session_factory: sessionmaker[Session], delivery_id: int, now: datetime, policy: RetryPolicy
) -> tuple[str, bytes, dict[str, str]] | None:
    """Push the delivery's next attempt past this one, if still due; what to POST, or None."""
    lease = now + timedelta(seconds=policy.timeout) + policy.first_delay
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
        body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "hashmatch-webhooks/1",
            "X-Hashmatch-Event": delivery.event,
            "X-Hashmatch-Delivery": str(delivery.id),
            "X-Hashmatch-Timestamp": str(timestamp),
            "X-Hashmatch-Signature": sign(webhook.secret, timestamp, body),
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
