"""Sending the webhook outbox: signed POSTs, retried with backoff, each attempt logged.

``deliver_due`` fans out new events (``notices.outbox``), then POSTs the deliveries that are due::

    X-Hashmatch-Event: notice.created | notice.reminder | notice.status_changed
    X-Hashmatch-Delivery: <delivery id>       (the same on every retry: deduplicate on it)
    X-Hashmatch-Timestamp: <unix seconds>
    X-Hashmatch-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>." + raw body, keyed by the secret>

Signing the timestamp lets a receiver refuse replays (an old timestamp). A 2xx answer delivers;
anything else (another status, a refused connection, a timeout, a redirect, an address no longer
allowed) is retried with exponential backoff up to a cap, and given up after
``RetryPolicy.max_attempts``. Every attempt is logged on the delivery, in generic words
(``notices.outbound`` decides where a webhook may go and sends there). Secrets are stored sealed
(``db.sealing``) and unsealed only to sign.
"""

import hashlib
import hmac
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Webhook, WebhookDelivery
from db.sealing import InvalidToken, Sealer
from notices.outbound import Outbound
from notices.outbox import fan_out

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (from 1) failing waits ``first_delay * 2 ** (n - 1)``, at most ``max_delay``."""

    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=6)
    max_attempts: int = 12

    def delay(self, attempts: int) -> timedelta:
        return min(self.first_delay * (1 << min(attempts - 1, 32)), self.max_delay)


@dataclass(frozen=True)
class DeliverySummary:
    fanned_out: int
    delivered: int
    failed: int
    gave_up: int


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Hashmatch-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


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
    run = _Run(session_factory, now, outbound, sealer, policy)

    def deliver_queue(queue: list[int]) -> list[str]:
        outcomes = []
        for delivery_id in queue:
            if time.monotonic() > deadline:
                break
            outcome = run.attempt(delivery_id)
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


def give_up(delivery: WebhookDelivery, now: datetime, error: str) -> None:
    """Attempt the delivery no more, ``error`` saying why."""
    delivery.gave_up_at = now
    delivery.next_attempt_at = None
    delivery.last_error = error


@dataclass(frozen=True)
class _Run:
    """One delivery run: what each of its attempts is made with."""

    session_factory: sessionmaker[Session]
    now: datetime
    outbound: Outbound
    sealer: Sealer
    policy: RetryPolicy

    def attempt(self, delivery_id: int) -> str | None:
        """Claim, POST and record one delivery: "delivered", "failed", "gave_up", or None if not claimed."""
        request = self._claim(delivery_id)
        if request is None:
            return None
        url, body, headers = request
        status, error = self.outbound.post(url, body, headers)
        with self.session_factory.begin() as session:
            return self._record(session.get_one(WebhookDelivery, delivery_id), status, error)

    def _claim(self, delivery_id: int) -> tuple[str, bytes, dict[str, str]] | None:
        """Push the delivery's next attempt past this one, if still due; what to POST, or None."""
        now = self.now
        lease = now + timedelta(seconds=self.outbound.longest_attempt) + self.policy.first_delay
        with self.session_factory.begin() as session:
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
                give_up(delivery, now, "webhook disabled")
                return None
            try:
                secret = self.sealer.unseal(webhook.secret)
            except InvalidToken:  # the server's fault, not the receiver's: retried after the lease
                log.error(
                    "webhook %s: its secret was sealed with another key (set HASHMATCH_SECRET_KEY)",
                    webhook.id,
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

    def _record(self, delivery: WebhookDelivery, status: int | None, error: str | None) -> str:
        now = self.now
        delivery.attempts += 1
        delivery.last_status = status
        delivery.last_error = error
        delivery.log = [*delivery.log, {"at": now.isoformat(), "status": status, "error": error}]
        if error is None:
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            return "delivered"
        if delivery.attempts >= self.policy.max_attempts:
            give_up(delivery, now, error)
            return "gave_up"
        delivery.next_attempt_at = now + self.policy.delay(delivery.attempts)
        return "failed"
