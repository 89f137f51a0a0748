"""Appending to the audit chain and verifying it.

Each record's ``digest`` is SHA-256 over the previous record's digest and the record's canonical JSON
(time, organisation, key, action, detail). Changing, removing or reordering a record breaks the chain
from there on. Appends are serialized so the chain never forks: on PostgreSQL by a transaction-scoped
advisory lock, on SQLite by taking the database's write lock before reading the chain's head; either
way the lock is held until the caller's transaction ends, so append last, just before committing.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from db.models import AuditRecord

GENESIS = "0" * 64
"""The ``prev_digest`` of the first record."""
_LOCK_KEY = 0x6861736861756474  # the advisory lock of the audit chain ("hashaudt")


def canonical(
    at: datetime, organisation_id: int | None, key_id: int | None, action: str, detail: Mapping[str, Any]
) -> bytes:
    """The bytes a record's digest covers: sorted keys, no spaces, UTF-8, UTC time to the microsecond."""
    record = {
        "at": at.isoformat(timespec="microseconds"),
        "organisation_id": organisation_id,
        "key_id": key_id,
        "action": action,
        "detail": detail,
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_digest(prev_digest: str, payload: bytes) -> str:
    return hashlib.sha256(prev_digest.encode("ascii") + payload).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        # A write statement (matching no row) makes SQLite take its write lock now, before the head is read.
        session.execute(update(AuditRecord).where(AuditRecord.id < 0).values(action=AuditRecord.action))


@dataclass(frozen=True)
class AuditEntry:
    """A record to append: what happened, when, and who did it."""

    action: str
    detail: Mapping[str, Any]
    at: datetime
    organisation_id: int | None = None
    key_id: int | None = None


def append_many(session: Session, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
    """Add records at the head of the chain, in order (flushed, in the caller's transaction).

    ``detail`` must be JSON of strings, integers, booleans, lists and objects (no floats: they would
    not survive the round trip exactly)."""
    _lock_chain(session)
    prev = session.scalar(select(AuditRecord.digest).order_by(AuditRecord.id.desc()).limit(1)) or GENESIS
    added = []
    for entry in entries:
        detail = dict(entry.detail)
        payload = canonical(entry.at, entry.organisation_id, entry.key_id, entry.action, detail)
        record = AuditRecord(
            at=entry.at,
            organisation_id=entry.organisation_id,
            key_id=entry.key_id,
            action=entry.action,
            detail=detail,
            prev_digest=prev,
            digest=chain_digest(prev, payload),
        )
        session.add(record)
        added.append(record)
        prev = record.digest
    session.flush()
    return added


def append(
    session: Session,
    action: str,
    detail: Mapping[str, Any],
    at: datetime,
    organisation_id: int | None = None,
    key_id: int | None = None,
) -> AuditRecord:
    """Add one record at the head of the chain (see :func:`append_many`)."""
    return append_many(session, [AuditEntry(action, detail, at, organisation_id, key_id)])[0]


@dataclass(frozen=True)
class Verification:
    """The result of checking the chain: ``broken_id`` is the first record that does not verify."""

    records: int
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Recompute every digest in chain order; stop at the first record that does not verify."""
    expected_prev = GENESIS
    checked = 0
    last_id = -1
    while True:
        rows = session.execute(
            select(
                AuditRecord.id,
                AuditRecord.at,
                AuditRecord.organisation_id,
                AuditRecord.key_id,
                AuditRecord.action,
                AuditRecord.detail,
                AuditRecord.prev_digest,
                AuditRecord.digest,
            )
            .where(AuditRecord.id > last_id)
            .order_by(AuditRecord.id)
            .limit(batch)
        ).all()
        if not rows:
            return Verification(checked)
        for record in rows:
            if record.prev_digest != expected_prev:
                return Verification(
                    checked, record.id, "its previous digest is not the digest of the record before it"
                )
            payload = canonical(
                record.at, record.organisation_id, record.key_id, record.action, record.detail
            )
            if chain_digest(record.prev_digest, payload) != record.digest:
                return Verification(checked, record.id, "its content does not match its digest")
            expected_prev = record.digest
            checked += 1
            last_id = record.id


def records(
    session: Session, after: int = 0, limit: int = 100, action: str | None = None
) -> list[AuditRecord]:
    """Records in chain order with an id above ``after`` (optionally of one ``action``), ``limit`` at most."""
    query = select(AuditRecord).where(AuditRecord.id > after)
    if action is not None:
        query = query.where(AuditRecord.action == action)
    return list(session.scalars(query.order_by(AuditRecord.id).limit(limit)))
