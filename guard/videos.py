"""Listed videos under the probing guard's watch, in the database.

A vPDQ entry's value is a digest: what can be walked is a listed frame (a PDQ hash, at the list's
frame threshold) and the list's share boundary. So a video a caller matched is watched as the listed
frames its frames came near (a :class:`db.models.ProbeWatch` row per listed frame, compared like a
PDQ entry: :mod:`guard.probing`) and as one share watch (:mod:`guard.shares`). One call starts
watching at most :data:`FRAMES_ADDED` listed frames, those nearest to the frame threshold first (where
a walk runs); the others start with a later matching call that comes near them.
"""

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import numpy as np
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from db.models import Entry, HashList, ProbeWatch, VideoFrames
from guard.probing import ProbeRule, nearest
from guard.shares import RECORD, ShareWatch, at_share_edge
from matcher import HASH_TYPES
from matcher.codes import Codes
from matcher.frames import decode_frames, usable
from matcher.video import VideoMargin

VIDEO = "vpdq"
SHARES = "vpdq-shares"
"""The hash type of a video's share watch."""
WHOLE = -1
"""The ``frame`` of a watch of a whole entry (every watch but a listed video frame's)."""
FRAMES_ADDED = 256
"""Listed frames one call may start watching: bounds a call's new rows."""
FRAMES_NEAR = 4096
"""Frame watches of the listed videos a call came near compared beyond the newest
:data:`guard.watching.WATCHES_LOADED` (of the videos nearest their share boundary first): newer
watches of other videos cannot push them out, and a call's cost stays bounded."""
VIDEOS_NEAR = 512
"""Listed videos a call came near whose older frame watches it may compare (the nearest their share
boundary): bounds a query's parameters."""
CACHED_VIDEOS = 64
"""Listed videos whose usable frames a process keeps."""


class EntryCode(NamedTuple):
    """A watch about to be added: its entry, hash type, code and threshold, and its listed frame."""

    entry_id: int
    hash_type: str
    code: bytes
    threshold: int
    frame: int = WHOLE


class ListedFrames:
    """The usable frames of listed videos, cached per process by digest (a digest names one content)."""

    def __init__(self) -> None:
        self._cache: OrderedDict[bytes, Codes] = OrderedDict()
        self._lock = threading.Lock()

    def near(
        self, session: Session, organisation_id: int, entries: Sequence[int], queries: Codes, rule: ProbeRule
    ) -> list[EntryCode]:
        """For the matched videos ``entries``: a share watch where there is none, and the listed frames
        within the frame threshold plus the band of one of ``queries`` (the call's video frames) that
        are not watched yet, the nearest to the threshold first, at most :data:`FRAMES_ADDED`."""
        rows = session.execute(
            select(Entry.id, Entry.value, HashList.thresholds)
            .join(HashList, HashList.id == Entry.list_id)
            .where(Entry.id.in_(entries))
        ).all()
        watched = set(
            session.execute(
                select(ProbeWatch.entry_id, ProbeWatch.frame).where(
                    ProbeWatch.organisation_id == organisation_id, ProbeWatch.entry_id.in_(entries)
                )
            ).tuples()
        )
        found: list[EntryCode] = []
        candidates: list[tuple[int, int, int, bytes, int]] = []
        for entry_id, value, thresholds in rows:
            threshold = HASH_TYPES[VIDEO].list_threshold(thresholds)
            if (entry_id, WHOLE) not in watched:
                found.append(EntryCode(entry_id, SHARES, bytes(value), threshold))
            codes = self._codes(session, bytes(value))
            if not codes.shape[0] or not queries.shape[0]:
                continue
            apart = nearest(np.ascontiguousarray(queries), codes)
            for frame in np.flatnonzero(apart <= threshold + rule.band).tolist():
                if (entry_id, frame) not in watched:
                    edge = abs(int(apart[frame]) - threshold)
                    candidates.append((edge, entry_id, frame, bytes(codes[frame]), threshold))
        candidates.sort()
        return found + [
            EntryCode(entry_id, VIDEO, code, threshold, frame)
            for _, entry_id, frame, code, threshold in candidates[:FRAMES_ADDED]
        ]

    def _codes(self, session: Session, digest: bytes) -> Codes:
        with self._lock:
            cached = self._cache.get(digest)
            if cached is not None:
                self._cache.move_to_end(digest)
                return cached
        blob = session.scalar(select(VideoFrames.frames).where(VideoFrames.digest == digest))
        codes = usable(decode_frames(bytes(blob))) if blob is not None else np.zeros((0, 32), np.uint8)
        with self._lock:
            self._cache[digest] = codes
            while len(self._cache) > CACHED_VIDEOS:
                self._cache.popitem(last=False)
        return codes


SeenMargin = tuple[VideoMargin, int]
"""Where a video item stood against a listed video, and what the caller was told for its file."""


def share_watched(
    session: Session, organisation_id: int, margins: Sequence[SeenMargin], fresh: Sequence[EntryCode]
) -> list[SeenMargin]:
    """The share-edge queries (:func:`guard.shares.at_share_edge`) of videos the organisation watches
    (or is about to)."""
    shares = [(near, answer) for near, answer in margins if at_share_edge(near.margin)]
    entries = sorted({near.entry_id for near, _ in shares})
    if not entries:
        return []
    watched = set(
        session.scalars(
            select(ProbeWatch.entry_id).where(
                ProbeWatch.organisation_id == organisation_id,
                ProbeWatch.hash_type == SHARES,
                ProbeWatch.entry_id.in_(entries),
            )
        )
    )
    watched |= {row.entry_id for row in fresh if row.hash_type == SHARES}
    return [(near, answer) for near, answer in shares if near.entry_id in watched]


def see_shares(
    session: Session,
    organisation_id: int,
    shares: Sequence[SeenMargin],
    rule: ProbeRule,
    now: datetime,
    reached: dict[str, set[int]],
) -> int:
    """Let the share watches see the call's share-edge queries (the standing's lock is held); write what
    changed, add the entries whose watch reached a limit to ``reached``; the probes found."""
    rows = session.scalars(
        select(ProbeWatch).where(
            ProbeWatch.organisation_id == organisation_id,
            ProbeWatch.hash_type == SHARES,
            ProbeWatch.entry_id.in_(sorted({near.entry_id for near, _ in shares})),
        )
    ).all()
    watches = {
        row.entry_id: ShareWatch(
            row.entry_id,
            row.probes,
            np.frombuffer(row.edge, RECORD).copy(),
            np.frombuffer(row.edge_answers or b"", "<i8").astype(np.int64),
            row.edges_seen or 0,
        )
        for row in rows
    }
    probes = sum(watches[near.entry_id].see(near, answer, rule) for near, answer in shares)
    for row in rows:
        watch = watches[row.entry_id]
        if watch.changed:
            row.probes, row.edges_seen, row.updated_at = watch.probes, watch.seen, now
            row.edge = watch.records.tobytes()
            row.edge_answers = watch.answers.astype("<i8").tobytes()
            rule.reach(reached, watch.probes, row.entry_id)
    return probes


def older_frames(
    session: Session, organisation_id: int, older: int, margins: Sequence[SeenMargin]
) -> list[EntryCode]:
    """The frame watches, with an id below ``older``, of the listed videos of ``margins`` (those nearest
    their share boundary first), at most :data:`FRAMES_NEAR` of at most :data:`VIDEOS_NEAR` videos."""
    rank: dict[int, int] = {}
    for near, _ in margins:  # frames from the boundary, either side
        apart = max(near.margin, -near.margin - 1)
        rank[near.entry_id] = min(rank.get(near.entry_id, apart), apart)
    if not older or not rank:
        return []
    rank = dict(sorted(rank.items(), key=lambda pair: (pair[1], pair[0]))[:VIDEOS_NEAR])
    rows = session.execute(
        select(ProbeWatch.entry_id, ProbeWatch.code, ProbeWatch.threshold, ProbeWatch.frame)
        .where(
            ProbeWatch.organisation_id == organisation_id,
            ProbeWatch.hash_type == VIDEO,
            ProbeWatch.entry_id.in_(sorted(rank)),
            ProbeWatch.id < older,
        )
        .order_by(case(rank, value=ProbeWatch.entry_id), ProbeWatch.id.desc())
        .limit(FRAMES_NEAR)
    )
    return [
        EntryCode(entry_id, VIDEO, bytes(code), threshold, frame) for entry_id, code, threshold, frame in rows
    ]
