"""Webhook subscriptions: an organisation registers, lists and disables its webhooks, sees their
deliveries and queues a test event.

A webhook receives the organisation's notice events (``notices.outbox`` decides which, ``notices.delivery``
sends them, signed with the webhook's secret). The secret is shown once, at registration, and stored
sealed (``db.sealing``); ``notices.outbound`` decides which URLs may be registered.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Organisation, Webhook, WebhookDelivery
from db.sealing import Sealer
from notices.delivery import give_up
from notices.errors import InvalidRequest, NotAllowed, WebhookNotFound
from notices.outbound import Outbound, Refused, generic
from notices.views import iso_or_none

RECEIVERS = ("hoster", "hotline")
"""The roles notice events are delivered to."""


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str
    """Shown once, at registration: the receiver keeps it to verify signatures."""


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
        give_up(delivery, now, "webhook disabled")
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


def _own_webhook(session: Session, organisation: Organisation, webhook_id: int) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.organisation_id != organisation.id:
        raise WebhookNotFound(webhook_id)
    return webhook
