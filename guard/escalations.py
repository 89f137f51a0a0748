"""The probing guard's escalations as the owners of the lists concerned may read them (and the operator):
from the audit log, where every escalation is recorded in the transaction that made it."""

from dataclasses import dataclass
from datetime import datetime

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
    entries: list[dict[str, object]]


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
    shown: dict[int, dict[str, object]] = {}
    if ids:
        rows = session.execute(
            select(Entry.id, Entry.item, HashList.id, HashList.name, HashList.organisation_id)
            .join(HashList, HashList.id == Entry.list_id)
            .where(Entry.id.in_(sorted(ids)))
        )
        shown = {
            entry_id: {"entry": entry_id, "item": item, "list_id": list_id, "list": name}
            for entry_id, item, list_id, name, list_owner in rows
            if owner is None or list_owner == owner
        }
    found = []
    for record, name in records:
        entries = [shown[int(entry)] for entry in record.detail.get("entries", []) if int(entry) in shown]
        if entries:
            found.append(
                Escalation(record.at, name, record.detail["level"], record.detail["probes"], entries)
            )
    return found[:limit]
