"""Probing state in the database: watched entries and standings, shared by every worker and replica
and kept across restarts. The rule itself is :mod:`guard.probing`.

One call of an organisation, inside the caller's transaction (the one that opens its notices):

1. nothing to do unless the call has perceptual items and the organisation matched something now or
   before (one indexed read);
2. lock the organisation's :class:`Standing` row (a row lock on PostgreSQL, the write lock on SQLite),
   so concurrent calls through any worker or replica count one after the other;
3. watch every entry the call matched, then let every watch of the call's types see its queries;
4. write what changed, and raise the standing when a limit is reached.

A caller refuses the whole call when it reaches the suspension (:attr:`Verdict.refuse`): its answers
would be the bits the limit is there to withhold.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models import STANDINGS, Entry, HashList, ProbeWatch, Standing
from guard.probing import ProbeRule, Watch, observe, rules
from matcher import HASH_TYPES
from matcher.codes import Codes

WATCHES_LOADED = 4096
"""Watched entries of one type compared per call (the most recently touched): bounds a call's cost."""


@dataclass(frozen=True)
class Verdict:
    """What one call did to its organisation's standing."""

    probes: int = 0
    level: str | None = None
    escalated: str | None = None
    """``throttled`` or ``suspended`` when this call raised the standing to it."""
    entries: tuple[int, ...] = ()
    """The entries whose probes reached a limit in this call."""

    @property
    def refuse(self) -> bool:
        return self.escalated == "suspended"


class ProbeGuard:
    """Watches hosters' calls for walks along listed entries' thresholds."""

    def __init__(self, probes_per_64_bits: int) -> None:
        self.rules: dict[str, ProbeRule] = rules(probes_per_64_bits)

    def watch(
        self,
        session: Session,
        organisation_id: int,
        queries: Mapping[str, Codes],
        matched: Iterable[tuple[int, str]],
        now: datetime,
    ) -> Verdict:
        """Let the organisation's watches see a call's perceptual ``queries`` (hash type -> codes, in
        the call's order) after watching the entries it ``matched`` ((entry id, hash type) pairs)."""
        types = sorted(name for name, codes in queries.items() if name in self.rules and codes.shape[0])
        new = {entry for entry, name in matched if name in self.rules}
        if not types and not new:
            return Verdict()
        if not new and not _has_watches(session, organisation_id, types):
            return Verdict()
        standing = _lock(session, organisation_id, now)
        _add_watches(session, organisation_id, new, now)
        probes = 0
        reached: dict[str, list[int]] = defaultdict(list)
        for name in types:
            rule = self.rules[name]
            rows = _load(session, organisation_id, name)
            watches = [_as_watch(row) for row in rows]
            probes += observe(watches, np.ascontiguousarray(queries[name]), rule)
            for row, watch in zip(rows, watches, strict=True):
                if watch.changed:
                    row.probes, row.edge, row.updated_at = watch.probes, watch.edge.tobytes(), now
                if watch.changed and watch.probes >= rule.throttle_at:
                    reached["suspended" if watch.probes >= rule.suspend_at else "throttled"].append(
                        watch.entry_id
                    )
        target = "suspended" if reached["suspended"] else "throttled" if reached["throttled"] else None
        if target is None or _rank(target) <= _rank(standing.level):
            return Verdict(probes, standing.level)
        entries = tuple(sorted(reached["suspended"] or reached["throttled"]))
        standing.level, standing.changed_at = target, now
        standing.reason = f"{probes} probe(s) at the threshold edge of listed entries {list(entries)}"
        return Verdict(probes, target, target, entries)

    @staticmethod
    def standing(session: Session, organisation_id: int) -> str | None:
        """The organisation's level (``watched``, ``throttled``, ``suspended``), None if never watched."""
        return session.scalar(select(Standing.level).where(Standing.organisation_id == organisation_id))


def lift(session: Session, organisation_id: int, now: datetime, reason: str) -> str | None:
    """Back to ``watched``, every probe count and edge forgotten (else the next probe would restrict
    it again); the level it had, or None if it was never watched."""
    standing = session.get(Standing, organisation_id)
    if standing is None:
        return None
    before = standing.level
    standing.level, standing.reason, standing.changed_at = "watched", f"lifted: {reason}", now
    session.execute(
        update(ProbeWatch)
        .where(ProbeWatch.organisation_id == organisation_id)
        .values(probes=0, edge=b"", updated_at=now)
    )
    return before


def forget(session: Session, organisation_id: int) -> None:
    """Drop every watch and the standing of an organisation (for the operator, e.g. a deleted one)."""
    session.execute(delete(ProbeWatch).where(ProbeWatch.organisation_id == organisation_id))
    session.execute(delete(Standing).where(Standing.organisation_id == organisation_id))


@dataclass(frozen=True)
class Watched:
    """An organisation under watch, for the operator: its standing and its busiest watches."""

    organisation_id: int
    level: str
    reason: str
    changed_at: datetime
    watches: int
    probes: int


def standings(session: Session) -> list[Watched]:
    """Every watched organisation, most restricted first."""
    counts = {
        row[0]: (int(row[1]), int(row[2] or 0))
        for row in session.execute(
            select(ProbeWatch.organisation_id, func.count(), func.sum(ProbeWatch.probes)).group_by(
                ProbeWatch.organisation_id
            )
        )
    }
    found = [
        Watched(
            row.organisation_id,
            row.level,
            row.reason,
            row.changed_at,
            *counts.get(row.organisation_id, (0, 0)),
        )
        for row in session.scalars(select(Standing))
    ]
    return sorted(found, key=lambda watched: (-_rank(watched.level), watched.organisation_id))


def _rank(level: str) -> int:
    return STANDINGS.index(level)


def _has_watches(session: Session, organisation_id: int, types: Sequence[str]) -> bool:
    return (
        session.scalar(
            select(ProbeWatch.id)
            .where(ProbeWatch.organisation_id == organisation_id, ProbeWatch.hash_type.in_(types))
            .limit(1)
        )
        is not None
    )


def _lock(session: Session, organisation_id: int, now: datetime) -> Standing:
    """The organisation's standing row, created if new, locked for the rest of the transaction."""
    values = {"organisation_id": organisation_id, "level": "watched", "reason": "", "changed_at": now}
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(Standing).values(**values).on_conflict_do_nothing())
    # an UPDATE locks on both databases (SQLite ignores FOR UPDATE; this takes its write lock)
    session.execute(
        update(Standing)
        .where(Standing.organisation_id == organisation_id)
        .values(changed_at=Standing.changed_at)
    )
    standing = session.get_one(Standing, organisation_id, populate_existing=True)
    return standing


def _add_watches(session: Session, organisation_id: int, entries: set[int], now: datetime) -> None:
    """Watch the ``entries`` not yet watched (the standing lock is held: no concurrent insert)."""
    if not entries:
        return
    known = set(
        session.scalars(
            select(ProbeWatch.entry_id).where(
                ProbeWatch.organisation_id == organisation_id, ProbeWatch.entry_id.in_(sorted(entries))
            )
        )
    )
    session.execute(
        update(ProbeWatch)
        .where(ProbeWatch.organisation_id == organisation_id, ProbeWatch.entry_id.in_(sorted(known)))
        .values(updated_at=now)
    )
    missing = sorted(entries - known)
    if not missing:
        return
    rows = session.execute(
        select(Entry.id, Entry.hash_type, Entry.value, HashList.thresholds)
        .join(HashList, HashList.id == Entry.list_id)
        .where(Entry.id.in_(missing))
    )
    session.add_all(
        ProbeWatch(
            organisation_id=organisation_id,
            entry_id=entry_id,
            hash_type=name,
            code=bytes(value),
            threshold=HASH_TYPES[name].list_threshold(thresholds),
            probes=0,
            edge=b"",
            created_at=now,
            updated_at=now,
        )
        for entry_id, name, value, thresholds in rows
    )
    session.flush()


def _load(session: Session, organisation_id: int, hash_type: str) -> list[ProbeWatch]:
    return list(
        session.scalars(
            select(ProbeWatch)
            .where(ProbeWatch.organisation_id == organisation_id, ProbeWatch.hash_type == hash_type)
            .order_by(ProbeWatch.updated_at.desc(), ProbeWatch.id.desc())
            .limit(WATCHES_LOADED)
        )
    )


def _as_watch(row: ProbeWatch) -> Watch:
    code = np.frombuffer(row.code, np.uint8)
    edge = np.frombuffer(row.edge, np.uint8).reshape(-1, code.size).copy()
    return Watch(row.entry_id, code, row.threshold, row.probes, edge)
