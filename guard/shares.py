"""Seeing a walk along a listed video's share boundary: the pure rule.

A video matches a listed one when the shares of frames matched both ways reach the list's percentages
(:mod:`matcher.video`). A caller holding a video right at that boundary learns from each answer
whether the frame it changed, added or removed matched: walking one frame's bits there is a PDQ walk
around a listed frame (each listed frame is watched as a PDQ entry: :mod:`guard.watching`), and
adding or removing matching frames reads which frames the listed video needs.

So a video item within :data:`SHARE_BAND` frames of a watched video entry's boundary (its
:attr:`matcher.video.VideoMargin.margin`) is a *share-edge query* of that entry, kept as a
:data:`RECORD`: how many of its frames there are and matched, how many listed frames it matched, and a
sample of the frames that matched (the lowest :data:`SHARE_SAMPLE` by value: matching ignores frame
order, so the sample and the digest do too). A share-edge query *near-identical*
to an earlier one (at most ``SHARE_BAND`` sampled frames without a twin within the cluster radius in the
other sample, every count at most ``SHARE_BAND`` apart) whose file's answer was the other one, and on
the other side of this entry's boundary, is a probe once it has :data:`SHARE_FAMILY` near-identical
earlier ones: the answers flip among videos that differ in a frame or two. Honest copies at a boundary
(re-encodes of one clip) differ in every frame and are not near-identical; a video, its trim and a
longer cut of it are, but they are a few, not a walk.

A watch keeps its :data:`SHARE_KEPT` newest share-edge queries; every that many distinct ones count a
probe (a flood that would push a walk's neighbour out of memory pays a probe per bit it reads).
"""

import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from guard.probing import ProbeRule, distances
from matcher.video import VideoMargin

SHARE_BAND = 2
"""Frames a video may be from its list's share boundary to be a share-edge query; also how many
sampled frames and counts two near-identical videos may differ by."""
SHARE_SAMPLE = 8
"""Matched frames of a share-edge query kept (its lowest by value), to tell near-identical videos."""
SHARE_FAMILY = 3
"""Near-identical earlier share-edge queries a flip needs to count: honest storage holds a video with a
trim or a longer cut of the same encoding (a few near-identical videos, which may straddle the
boundary once), while reading n answers at the boundary takes n + 1 near-identical videos."""
SHARE_KEPT = 64
"""Share-edge queries a watch keeps (about 18 KB); as many distinct ones count as one probe."""
RECORD = np.dtype(
    [
        ("frames", "u1", (SHARE_SAMPLE, 32)),
        ("sampled", "<i4"),
        ("total", "<i4"),
        ("matched", "<i4"),
        ("listed", "<i4"),
        ("reached", "<i4"),
        ("digest", "u1", (8,)),
    ]
)
"""One share-edge query as a watch keeps it: sampled frames (the first ``sampled`` rows, by value),
usable frames, those that matched, listed frames matched, whether it reached the list's shares, and a digest
of every frame that matched (the same query again is known as such)."""
Records = npt.NDArray[np.void]


def at_share_edge(margin: int) -> bool:
    """A video item this many frames from a listed video's share boundary
    (:attr:`matcher.video.VideoMargin.margin`) is a share-edge query of it."""
    return -SHARE_BAND <= margin < SHARE_BAND


def record_of(near: VideoMargin) -> Records:
    """A share-edge query as a watch keeps it, whatever the order of its frames (matching ignores it:
    a caller reordering its frames sends the same query)."""
    frames = np.unique(np.ascontiguousarray(near.frames), axis=0)
    found = np.zeros(1, RECORD)
    sample = frames[:SHARE_SAMPLE]
    found["frames"][0, : sample.shape[0]] = sample
    found["sampled"] = sample.shape[0]
    found["total"], found["matched"], found["listed"] = near.total, near.matched, near.listed
    found["reached"] = int(near.margin >= 0)
    found["digest"] = np.frombuffer(hashlib.blake2b(frames.tobytes(), digest_size=8).digest(), np.uint8)
    return found


def near_identical(kept: Records, record: Records, cluster: int) -> npt.NDArray[np.bool_]:
    """Which ``kept`` records are near-identical to ``record`` (one record): every count at most
    :data:`SHARE_BAND` apart and at most that many sampled frames, on either side, without a frame
    within ``cluster`` bits on the other."""
    if kept.size == 0:
        return np.zeros(0, np.bool_)
    counts = np.ones(kept.size, np.bool_)
    for name in ("total", "matched", "listed"):
        counts &= np.abs(kept[name] - record[name][0]) <= SHARE_BAND
    mine = record["frames"][0, : int(record["sampled"][0])]
    theirs = kept["frames"].reshape(-1, 32)
    apart = distances(np.ascontiguousarray(theirs), np.ascontiguousarray(mine))
    apart = apart.reshape(kept.size, SHARE_SAMPLE, -1)
    valid = np.arange(SHARE_SAMPLE)[None, :] < kept["sampled"][:, None]
    close = (apart <= cluster) & valid[:, :, None]
    theirs_alone = (valid & ~close.any(axis=2)).sum(axis=1)
    mine_alone = (~close.any(axis=1)).sum(axis=1)
    return np.asarray(counts & (theirs_alone <= SHARE_BAND) & (mine_alone <= SHARE_BAND))


@dataclass
class ShareWatch:
    """One watched video entry's share boundary, as the rule sees it: its newest share-edge queries
    and what the caller was told for each one's file."""

    entry_id: int
    probes: int = 0
    records: Records = field(default_factory=lambda: np.zeros(0, RECORD))
    answers: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    seen: int = 0
    changed: bool = False

    def see(self, near: VideoMargin, answer: int, rule: ProbeRule) -> int:
        """Record a share-edge query whose file the caller was told ``answer`` for
        (:func:`guard.probing.observed_answer`); the probes it makes: one if it is near-identical to a
        kept one on the other side of the boundary whose file was answered otherwise (and to at least
        :data:`SHARE_FAMILY` kept ones in all), one more if it completes :data:`SHARE_KEPT` distinct
        share-edge queries."""
        record = record_of(near)
        if (self.records == record[0]).any():
            return 0  # the same video again teaches nothing new
        flips = (self.answers != answer) & (self.records["reached"] != record["reached"][0])
        family = near_identical(self.records, record, rule.cluster)
        probe = bool((family & flips).any()) and int(family.sum()) >= SHARE_FAMILY
        self.records = np.concatenate([self.records, record])[-SHARE_KEPT:]
        self.answers = np.append(self.answers, np.int64(answer))[-SHARE_KEPT:]
        self.seen += 1
        made = int(probe) + int(self.seen % SHARE_KEPT == 0)
        self.probes += made
        self.changed = True
        return made
