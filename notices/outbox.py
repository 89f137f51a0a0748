"""The webhook outbox: which deliveries a notice event (or another event) makes.

Every ``NoticeEvent`` is written in the same transaction as the change it records. ``fan_out`` turns
each event not yet fanned out into one ``WebhookDelivery`` per active webhook of each organisation
concerned (the hoster, and the hotlines owning the matched lists), carrying the notice as that
organisation may see it; the hoster gets none of a notice in review (or dismissed there), and its
``notice.created`` when a hotline confirms it. ``notify_organisations`` queues an event that is no
notice's. Apart from the sending (``notices.delivery``): what is queued is decided in the database's
transactions, what is sent goes over the network outside them.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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
from notices.views import render


def event_type(action: str, role: str) -> str:
    """The ``X-Hashmatch-Event`` of a notice event's action for a receiver of ``role`` (a hoster's
    notice is created when a hotline confirms it out of review)."""
    if action == "created" or (action == "confirmed" and role == "hoster"):
        return "notice.created"
    if action == "reminded":
        return "notice.reminder"
    return "notice.status_changed"


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
