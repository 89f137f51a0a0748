"""Probing state in the database: watched entries and standings, shared by every worker and replica
and kept across restarts. The rule itself is :mod:`guard.probing`.

One call of an organisation, inside the caller's transaction (the one that opens its notices):

1. nothing to do unless the call has perceptual items and the organisation matched something now or
   before (one indexed read);
2. lock the organisation's :class:`Standing` row (a row lock on PostgreSQL, the write lock on SQLite),
   so concurrent calls through any worker or replica count one after the other;
3. watch every entry the call matched (a video: the listed frames the call's frames came near, and its
   share boundary: :mod:`guard.videos`), then let every watch of the call's types see its queries;
4. write what changed, and raise the standing when a limit is reached.

A caller refuses the whole call when it reaches the suspension (:attr:`Verdict.refuse`): its answers
would be the bits the limit is there to withhold.
"""

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models import STANDINGS, Entry, HashList, ProbeWatch, Standing
from guard.probing import ProbeRule, Watch, flat_index, near_edges, observe, rules
from guard.videos import VIDEO, EntryCode, ListedFrames, SeenMargin, older_frames, see_shares, share_watched
from matcher import HASH_TYPES
from matcher.codes import Codes

WATCHES_LOADED = 4096
"""Watched entries of one type compared per call (the newest): bounds a call's cost."""
CACHED = 4096
"""(organisation, hash type) pairs whose watched codes a process keeps."""


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


@dataclass(frozen=True)
class _Watched:
    """An organisation's watched entries of one type as arrays: the part of a watch that never
    changes (entry, code, threshold), cached per process under ``key``, which changes whenever a
    watch is added or removed anywhere."""

    key: tuple[int, int]
    entries: npt.NDArray[np.int64]
    frames: npt.NDArray[np.int64]
    """Each watch's listed frame (:data:`guard.videos.WHOLE` but for a video's frames)."""
    codes: Codes
    thresholds: npt.NDArray[np.int32]
    flat: Any = field(repr=False)
    """The codes in a FAISS index (:func:`guard.probing.flat_index`)."""
    older: int = 0
    """Watches not loaded: those with an id below this one (0: every watch is loaded); a call compares
some with :func:`guard.videos.older_frames`."""


class ProbeGuard:
    """Watches hosters' calls for walks along listed entries' thresholds.

    A call costs one indexed count per perceptual type and a vectorised comparison with the cached
    codes of the organisation's watched entries; only a call that matched a new entry or came to
    the edge of a watched one takes the standing's lock and writes."""

    def __init__(self, probes_per_64_bits: int) -> None:
        self.rules: dict[str, ProbeRule] = rules(probes_per_64_bits)
        self._cache: OrderedDict[tuple[int, str], _Watched] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._frames = ListedFrames()

    def watch(
        self,
        session: Session,
        organisation_id: int,
        queries: Mapping[str, Codes],
        matched: Iterable[tuple[int, str]],
        now: datetime,
        caps: Mapping[str, npt.NDArray[np.int32]] | None = None,
        answers: Mapping[str, npt.NDArray[np.int64]] | None = None,
        margins: Sequence[SeenMargin] = (),
    ) -> Verdict:
        """Let the organisation's watches see a call's perceptual ``queries`` (hash type -> codes, in
        the call's order; ``vpdq``: the usable frames of its videos) after watching the entries it
        ``matched`` ((entry id, hash type) pairs; a video: the listed frames its frames came near, and
        its share boundary). ``caps``: per type, the lower radius each query was answered at (a variant
        item's; for the others, and types not given, :data:`guard.probing.UNCAPPED`). ``answers``: per
        type, what the caller was told for each query's file (:func:`guard.probing.observed_answer`;
        for types not given: each query's own answer). ``margins``: where each of the call's video items
        stood against the listed videos it came near, with what the caller was told for its file; those
        at a watched video's share boundary are seen by its share watch (:mod:`guard.shares`)."""
        caps = caps or {}
        answers = answers or {}
        types = sorted(name for name, codes in queries.items() if name in self.rules and codes.shape[0])
        matched_here = {entry: name for entry, name in matched if name in self.rules}
        if not types and not matched_here and not margins:
            return Verdict()
        fresh, near = self._near(session, organisation_id, queries, caps, types, matched_here, margins)
        shared = share_watched(session, organisation_id, margins, fresh)
        if not fresh and not any(near.values()) and not shared:
            return Verdict()
        standing = _lock(session, organisation_id, now)
        _add_watches(session, organisation_id, fresh, now)
        probes = 0
        reached: dict[str, set[int]] = defaultdict(set)
        for name, close in near.items():
            rule = self.rules[name]
            rows = _load(session, organisation_id, name, close)
            watches = [_as_watch(row) for row in rows]
            probes += observe(
                watches, np.ascontiguousarray(queries[name]), rule, caps.get(name), answers.get(name)
            )
            for row, watch in zip(rows, watches, strict=True):
                if watch.changed:
                    row.probes, row.edge, row.updated_at = watch.probes, watch.edge.tobytes(), now
                    row.edge_radii, row.edges_seen = watch.radii.astype("<i4").tobytes(), watch.seen
                    row.edge_answers = watch.answers.astype("<i8").tobytes()
                    rule.reach(reached, watch.probes, watch.entry_id)
        if shared:
            probes += see_shares(session, organisation_id, shared, self.rules[VIDEO], now, reached)
        target = "suspended" if reached["suspended"] else "throttled" if reached["throttled"] else None
        if target is None or _rank(target) <= _rank(standing.level):
            return Verdict(probes, standing.level)
        entries = tuple(sorted(reached["suspended"] or reached["throttled"]))
        standing.level, standing.changed_at = target, now
        standing.reason = f"{probes} probe(s) at the threshold edge of listed entries {list(entries)}"
        return Verdict(probes, target, target, entries)

    def _near(
        self,
        session: Session,
        organisation_id: int,
        queries: Mapping[str, Codes],
        caps: Mapping[str, npt.NDArray[np.int32]],
        types: Sequence[str],
        matched: Mapping[int, str],
        margins: Sequence[SeenMargin],
    ) -> tuple[list[EntryCode], dict[str, list[tuple[int, int]]]]:
        """The matched entries (a video: listed frames) not watched yet, and per type the watches
        (entry, frame) that a query came to the edge of (watched or about to be; a video's frames: also
        older watches of the videos of ``margins``): found without a lock, from what never changes of a
        watch."""
        names = {*types, *matched.values()}
        watched = {name: self._watched(session, organisation_id, name) for name in names}
        known = {name: set(found.entries.tolist()) for name, found in watched.items()}
        fresh = _entry_codes(
            session,
            {entry for entry, name in matched.items() if name != VIDEO and entry not in known[name]},
        )
        videos = sorted(entry for entry, name in matched.items() if name == VIDEO)
        if videos and VIDEO in queries:
            fresh += self._frames.near(session, organisation_id, videos, queries[VIDEO], self.rules[VIDEO])
        near: dict[str, list[tuple[int, int]]] = {}
        for name in types:
            rule = self.rules[name]
            added = [row for row in fresh if row.hash_type == name]
            if name == VIDEO:
                added += older_frames(session, organisation_id, watched[name].older, margins)
            found = _with(watched[name], added, rule)
            if found.entries.size:
                edge = near_edges(
                    queries[name], found.codes, found.flat, found.thresholds, rule, caps.get(name)
                )
                near[name] = list(zip(found.entries[edge].tolist(), found.frames[edge].tolist(), strict=True))
        return fresh, near

    @staticmethod
    def standing(session: Session, organisation_id: int) -> str | None:
        """The organisation's level (``watched``, ``throttled``, ``suspended``), None if never watched."""
        return session.scalar(select(Standing.level).where(Standing.organisation_id == organisation_id))

    def _watched(self, session: Session, organisation_id: int, hash_type: str) -> _Watched:
        """The organisation's watched entries of ``hash_type`` (the newest :data:`WATCHES_LOADED`)."""
        mine = (ProbeWatch.organisation_id == organisation_id) & (ProbeWatch.hash_type == hash_type)
        count, newest = session.execute(select(func.count(), func.max(ProbeWatch.id)).where(mine)).one()
        key = (int(count), int(newest or 0))
        with self._cache_lock:
            cached = self._cache.get((organisation_id, hash_type))
            if cached is not None and cached.key == key:
                self._cache.move_to_end((organisation_id, hash_type))
                return cached
        rows = session.execute(
            select(
                ProbeWatch.entry_id, ProbeWatch.code, ProbeWatch.threshold, ProbeWatch.frame, ProbeWatch.id
            )
            .where(mine)
            .order_by(ProbeWatch.id.desc())
            .limit(WATCHES_LOADED)
        ).all()
        nbytes = HASH_TYPES[hash_type].nbytes
        codes = np.frombuffer(b"".join(row[1] for row in rows), np.uint8).reshape(len(rows), nbytes)
        found = _Watched(
            key,
            np.array([row[0] for row in rows], np.int64),
            np.array([row[3] for row in rows], np.int64),
            codes,
            np.array([row[2] for row in rows], np.int32),
            flat_index(codes, self.rules[hash_type]),
            int(rows[-1][4]) if len(rows) == WATCHES_LOADED and count > WATCHES_LOADED else 0,
        )
        with self._cache_lock:
            self._cache[(organisation_id, hash_type)] = found
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        return found


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
        .values(probes=0, edge=b"", edge_radii=b"", edges_seen=0, edge_answers=b"", updated_at=now)
    )
    return before


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


def _entry_codes(session: Session, entries: set[int]) -> list[EntryCode]:
    if not entries:
        return []
    rows = session.execute(
        select(Entry.id, Entry.hash_type, Entry.value, HashList.thresholds)
        .join(HashList, HashList.id == Entry.list_id)
        .where(Entry.id.in_(sorted(entries)))
    )
    return [
        EntryCode(entry_id, name, bytes(value), HASH_TYPES[name].list_threshold(thresholds))
        for entry_id, name, value, thresholds in rows
    ]


def _with(watched: _Watched, fresh: Sequence[EntryCode], rule: ProbeRule) -> _Watched:
    """The watched entries and the entries about to be watched, together."""
    if not fresh:
        return watched
    codes = np.frombuffer(b"".join(row.code for row in fresh), np.uint8).reshape(len(fresh), -1)
    together = np.concatenate([watched.codes.reshape(-1, codes.shape[1]), codes])
    return _Watched(
        watched.key,
        np.concatenate([watched.entries, np.array([row.entry_id for row in fresh], np.int64)]),
        np.concatenate([watched.frames, np.array([row.frame for row in fresh], np.int64)]),
        together,
        np.concatenate([watched.thresholds, np.array([row.threshold for row in fresh], np.int32)]),
        flat_index(together, rule),
    )


def _add_watches(session: Session, organisation_id: int, fresh: Sequence[EntryCode], now: datetime) -> None:
    """Watch the ``fresh`` entries and listed frames (the standing's lock is held: no concurrent insert
    of the same)."""
    known = set(
        session.execute(
            select(ProbeWatch.entry_id, ProbeWatch.frame).where(
                ProbeWatch.organisation_id == organisation_id,
                ProbeWatch.entry_id.in_(sorted({row.entry_id for row in fresh})),
            )
        ).tuples()
    )
    session.add_all(
        ProbeWatch(
            organisation_id=organisation_id,
            entry_id=entry_id,
            hash_type=name,
            frame=frame,
            code=value,
            threshold=threshold,
            probes=0,
            edge=b"",
            edge_radii=b"",
            edges_seen=0,
            edge_answers=b"",
            created_at=now,
            updated_at=now,
        )
        for entry_id, name, value, threshold, frame in fresh
        if (entry_id, frame) not in known
    )
    session.flush()


def _load(
    session: Session, organisation_id: int, hash_type: str, keys: Sequence[tuple[int, int]]
) -> list[ProbeWatch]:
    """The organisation's watches of ``keys`` ((entry, frame) pairs) of ``hash_type``, read afresh
    under the standing's lock."""
    return list(
        session.scalars(
            select(ProbeWatch)
            .where(
                ProbeWatch.organisation_id == organisation_id,
                ProbeWatch.hash_type == hash_type,
                tuple_(ProbeWatch.entry_id, ProbeWatch.frame).in_(sorted(keys)),
            )
            .order_by(ProbeWatch.entry_id, ProbeWatch.frame)
        )
    )


def _as_watch(row: ProbeWatch) -> Watch:
    code = np.frombuffer(row.code, np.uint8)
    edge = np.frombuffer(row.edge, np.uint8).reshape(-1, code.size).copy()
    radii = np.frombuffer(row.edge_radii or b"", "<i4").astype(np.int32)
    answers = np.frombuffer(row.edge_answers or b"", "<i8").astype(np.int64)
    return Watch(row.entry_id, code, row.threshold, row.probes, edge, radii, row.edges_seen or 0, answers)
