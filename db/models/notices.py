"""Notices, the list entries they rest on, their history, and webhook deliveries."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow

ACTIVE = ("open", "disputed", "overdue")
"""Statuses of a notice that still asks something of the hoster."""
UNSEEN_BY_HOSTER = ("review", "dismissed")
"""Statuses of a notice its hoster never learns of: held for the hotline's review (it still holds the
location's one active notice, so retries never duplicate it), or dismissed there."""
STATUSES = (*ACTIVE, "removed", "withdrawn", *UNSEEN_BY_HOSTER)


class Notice(Base):
    """A takedown notice for one location (``ref``) at one hoster, after DSA Art. 16.

    ``active_ref`` is the SHA-256 of ``ref`` while the notice is active and NULL afterwards: the
    unique (hoster, active_ref) pair makes "one active notice per location" a database rule, so
    retried or concurrent match calls cannot duplicate a notice.
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("hoster_id", "active_ref"),
        Index("ix_notices_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    hoster_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    ref: Mapped[str] = mapped_column(Text)
    active_ref: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="open")
    confidence: Mapped[str] = mapped_column(String(8))  # high | medium | review
    signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    category: Mapped[str | None] = mapped_column(String(64))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    deadline: Mapped[datetime]  # not running in review: set anew when the hotline confirms
    binding_order: Mapped[bool] = mapped_column(default=False)  # escalated by the authority
    escalated_at: Mapped[datetime | None]  # when the binding order (and its deadline) was issued
    reminded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]  # removed, withdrawn or dismissed
    reupload_of: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))


class NoticeMatch(Base):
    """One list entry a notice rests on. Distances are for hotlines and the authority only."""

    __tablename__ = "notice_matches"
    __table_args__ = (UniqueConstraint("notice_id", "entry_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"))
    hash_type: Mapped[str] = mapped_column(String(16))
    distance: Mapped[int]


class NoticeEvent(Base):
    """One step of a notice's history: who (organisation, or NULL for the system), when, what.

    ``fanned_out_at`` is NULL until the event has been turned into webhook deliveries (the outbox).
    """

    __tablename__ = "notice_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    action: Mapped[str] = mapped_column(String(16))  # created, reminded, removed, disputed, upheld, ...
    status: Mapped[str] = mapped_column(String(12))  # the status after this step
    reason: Mapped[str] = mapped_column(Text, default="")
    fanned_out_at: Mapped[datetime | None] = mapped_column(index=True)


class Webhook(Base):
    """Where an organisation wants its events POSTed, signed with HMAC-SHA256 over its secret, stored
    sealed with the server key (``db.sealing``)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event for one webhook, retried with backoff until delivered or given up.

    ``next_attempt_at`` is NULL once the delivery is settled (delivered or given up); ``log`` holds
    every attempt: its time, HTTP status (or null) and error.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "event_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id"))
    event_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("notice_events.id")
    )  # NULL for an event that is no notice's (probing.throttled, probing.suspended)
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    gave_up_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
