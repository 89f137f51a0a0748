"""vPDQ: a video as the PDQ hashes of its frames, and exact video search through a PDQ index of frames.

A vPDQ hash (:mod:`matcher.frames`) is the PDQ hash of each frame at an interval (1 per second by default).

Matching follows Meta's rule (python-threatexchange's vPDQ signal, HMA): each video's frames are first
deduplicated (identical PDQ hashes counted once, the first kept) and frames of quality below
:data:`matcher.frames.QUALITY_THRESHOLD` dropped; a query frame matches a listed video when some of
that video's frames is within the frame threshold (inclusive here; Meta's brute-force tool counts
``distance < 31``); the video matches when the share of query frames that match and the share of the
listed video's frames matched by some query frame both reach the list's percentages.

:class:`VideoIndex` holds every listed video's usable frames in one exact Hamming index (multi-index
hashing for large lists, :class:`matcher.hamming.HammingIndex`) and the frame -> video map: a search
returns every (query frame, listed frame) pair within the radius, so the shares computed from it are
the exact shares of every video (a video absent from the pairs has no frame within the radius).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.codes import Codes
from matcher.frames import Frames, usable
from matcher.hamming import HammingIndex
from matcher.matches import Int64s, Matches
from matcher.storage import read_array, write_index_dir

FRAMES_DIR = "frames"


@dataclass(frozen=True)
class VideoScores:
    """Per candidate video (every listed video with a frame within the searched radius): its entry id,
    how many query frames matched it, how many of its frames were matched, its usable frames, and its
    position in the index (:attr:`VideoIndex.offsets`)."""

    entry: Int64s
    query_matched: Int64s
    listed_matched: Int64s
    listed_frames: Int64s
    position: Int64s


@dataclass(frozen=True)
class VideoMargin:
    """Where a query video stands against one listed video it came near: its usable frames that
    matched the listed video's (in the query's order), how many usable frames it has and matched,
    how many listed frames it matched, and ``margin``, its distance in frames from the list's share
    boundary (:func:`share_margin`)."""

    entry_id: int
    frames: Codes
    total: int
    matched: int
    listed: int
    margin: int


def share_margin(
    query_matched: int,
    query_frames: int,
    query_percent: int,
    listed_matched: int,
    listed_frames: int,
    listed_percent: int,
) -> int:
    """Frames a video is from its list's share boundary: ``m >= 0`` it matches (and still would with
    ``m`` matched frames fewer on either side), ``m < 0`` it does not (``-m`` frames short)."""
    return min(
        query_matched - -(-query_percent * query_frames // 100),
        listed_matched - -(-listed_percent * listed_frames // 100),
    )


def shares_from_pairs(
    pairs: Matches, threshold: int, frame_video: Int64s, video_ids: Int64s, frame_counts: Int64s
) -> VideoScores:
    """The exact scores at ``threshold`` from every (query frame, listed frame, distance) pair within
    a radius at least ``threshold``: ``frame_video`` maps a listed frame to its video's position."""
    close = pairs.distance <= threshold
    query, frame = pairs.query[close], pairs.entry[close]
    video = frame_video[frame]
    videos, by_video = np.unique(video, return_inverse=True)
    query_pairs = np.unique(np.stack([by_video, query]), axis=1)[0] if video.size else by_video
    frame_pairs = np.unique(np.stack([by_video, frame]), axis=1)[0] if video.size else by_video
    return VideoScores(
        video_ids[videos].astype(np.int64),
        np.bincount(query_pairs, minlength=videos.size).astype(np.int64),
        np.bincount(frame_pairs, minlength=videos.size).astype(np.int64),
        frame_counts[videos].astype(np.int64),
        videos.astype(np.int64),
    )


class VideoIndex:
    """Listed videos, searchable by their frames, exactly."""

    kind = "vpdq"

    def __init__(
        self, name: str, max_threshold: int, frames: HammingIndex, video_ids: Int64s, offsets: Int64s
    ) -> None:
        self.name = name
        self.max_threshold = max_threshold
        self.frames = frames
        self.video_ids = video_ids
        self.offsets = offsets
        """The usable frames of video ``v`` are frame rows ``offsets[v]:offsets[v + 1]``."""
        self.frame_counts = np.diff(offsets).astype(np.int64)
        self.frame_video = np.repeat(np.arange(video_ids.size, dtype=np.int64), self.frame_counts)

    @classmethod
    def build(
        cls,
        name: str,
        max_threshold: int,
        videos: Sequence[Frames],
        ids: npt.ArrayLike,
        design_threshold: int,
        threads: int | None = None,
    ) -> "VideoIndex":
        """Index the usable frames of ``videos`` (one entry id each); a video without a usable frame
        can match nothing and is left out."""
        usable_codes = [usable(frames) for frames in videos]
        counts = np.array([codes.shape[0] for codes in usable_codes], np.int64)
        kept = np.flatnonzero(counts)
        codes = np.concatenate([usable_codes[i] for i in kept]) if kept.size else np.empty((0, 32), np.uint8)
        offsets = np.concatenate([[0], np.cumsum(counts[kept])]).astype(np.int64)
        frames = HammingIndex.build(
            name, 256, max_threshold, codes, np.arange(codes.shape[0]), design_threshold, threads
        )
        return cls(name, max_threshold, frames, np.asarray(ids, np.int64)[kept], offsets)

    @property
    def entry_count(self) -> int:
        return int(self.video_ids.size)

    @property
    def unique_count(self) -> int:
        return self.frames.unique_count

    def search(self, queries: Codes, threshold: int, *, threads: int | None = None) -> Matches:
        """Every (query frame, listed frame) pair within ``threshold``: ``entry`` is the listed frame's
        row (see :attr:`offsets`)."""
        return self.frames.search(queries, threshold, threads=threads)

    def pairs(self, query: Frames, radius: int) -> Matches:
        """Every (usable query frame, listed frame) pair within ``radius``: what :meth:`score` reads."""
        return self.search(usable(query), radius)

    def score(self, pairs: Matches, threshold: int) -> VideoScores:
        """The scores at ``threshold`` (at most the radius ``pairs`` were found at) of every listed video
        with a frame within it of a query frame."""
        return shares_from_pairs(pairs, threshold, self.frame_video, self.video_ids, self.frame_counts)

    def pair_videos(self, pairs: Matches) -> Int64s:
        """Each pair's listed video (its position: :attr:`VideoScores.position`), for
        :meth:`matched_query_frames` (resolved once per query video)."""
        return self.frame_video[pairs.entry]

    @staticmethod
    def matched_query_frames(pairs: Matches, videos: Int64s, threshold: int, position: int) -> Int64s:
        """The usable query frames (rows, in order) within ``threshold`` of a frame of the listed video
        at ``position``; ``videos``: :meth:`pair_videos` of ``pairs``."""
        close = (pairs.distance <= threshold) & (videos == position)
        return np.unique(pairs.query[close]).astype(np.int64)

    def save(self, directory: Path) -> None:
        meta = {
            "kind": self.kind,
            "hash_type": self.name,
            "max_threshold": self.max_threshold,
            "videos": self.entry_count,
        }
        arrays: dict[str, npt.NDArray[Any]] = {"video_ids": self.video_ids, "frame_offsets": self.offsets}
        write_index_dir(directory, meta, arrays, lambda staging: self.frames.save(staging / FRAMES_DIR))

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> "VideoIndex":
        from matcher.index import load_index  # noqa: PLC0415 (the frames are an index of their own)

        frames = load_index(directory / FRAMES_DIR)
        if not isinstance(frames, HammingIndex):
            raise ValueError(f"{directory / FRAMES_DIR} is not a Hamming index")
        return cls(
            meta["hash_type"],
            int(meta["max_threshold"]),
            frames,
            read_array(directory, "video_ids"),
            read_array(directory, "frame_offsets"),
        )
