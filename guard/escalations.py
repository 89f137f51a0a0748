"""The probing guard's escalations as the owners of the lists concerned may read them (and the operator):
from the audit log, where every escalation is recorded in the transaction that made it."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditRecord, Entry, HashList, Organisation


@dataclass(frozen=True)
class Escalation:
    """One step of the guard (``probing.throttled``, ``probing.suspended``) as an owner may see it."""

    at: datetime
    organisation: str
    level: str
    probes: int
    entries: list[dict[str, Any]]


def escalations(session: Session, owner: int | None, limit: int = 100) -> list[Escalation]:
    """The guard's escalations, newest first, each with the entries it concerned; with ``owner``
    only those concerning that hotline's lists, and only its own entries (by id, item and list)."""
    records = session.execute(
        select(AuditRecord, Organisation.name)
        .join(Organisation, Organisation.id == AuditRecord.organisation_id)
        .where(AuditRecord.action.in_(("probing.throttled", "probing.suspended")))
        .order_by(AuditRecord.id.desc())
        .limit(limit if owner is None else 10 * limit)
    ).all()
    ids = {int(entry) for record, _ in records for entry in record.detail.get("entries", [])}
    shown = {
        entry["entry"]: entry
        for list_owner, entries in described(session, ids).items()
        if owner is None or list_owner == owner
        for entry in entries
    }
    found = []
    for record, name in records:
        entries = [shown[int(entry)] for entry in record.detail.get("entries", []) if int(entry) in shown]
        if entries:
            found.append(
                Escalation(record.at, name, record.detail["level"], record.detail["probes"], entries)
            )
    return found[:limit]


def described(session: Session, entry_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The entries by the organisation owning their list, each as its owner may see it: id, item
    and list (never its hash)."""
    owners: dict[int, list[dict[str, Any]]] = {}
    ids = sorted(entry_ids)
    if not ids:
        return owners
    rows = session.execute(
        select(Entry.id, Entry.item, HashList.id, HashList.name, HashList.organisation_id)
        .join(HashList, HashList.id == Entry.list_id)
        .where(Entry.id.in_(ids))
        .order_by(Entry.id)
    )
    for entry_id, item, list_id, name, owner in rows:
        owners.setdefault(owner, []).append(
            {"entry": entry_id, "item": item, "list_id": list_id, "list": name}
        )
    return owners
