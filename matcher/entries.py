"""Identical hash values stored once: unique codes and, per unique code, the ids of its entries."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.codes import Codes
from matcher.matches import Int64s, Matches


@dataclass(frozen=True)
class EntryMap:
    """Compressed rows: the entries of unique code ``u`` are ``ids[offsets[u]:offsets[u + 1]]``."""

    offsets: npt.NDArray[np.integer]  # uint32 while there are fewer than 2^32 entries
    ids: Int64s

    @property
    def unique_count(self) -> int:
        return int(self.offsets.size - 1)

    def expand(self, query: Int64s, unique: npt.NDArray[np.integer], distance: Int64s) -> Matches:
        """Turn matches on unique codes into matches on entry ids."""
        unique = unique.astype(np.int64, copy=False)
        starts = self.offsets[unique].astype(np.int64)
        counts = self.offsets[unique + 1].astype(np.int64) - starts
        positions = concatenated_ranges(starts, counts)
        return Matches.ordered(
            np.repeat(query, counts),
            self.ids[positions].astype(np.int64),
            np.repeat(distance, counts),
        )


def deduplicate(codes: Codes, ids: npt.ArrayLike) -> tuple[Codes, EntryMap]:
    """Sort codes bytewise, keep each value once and remember which entry ids carry it."""
    entry_ids = np.asarray(ids, dtype=np.int64)
    if codes.ndim != 2 or entry_ids.shape != (codes.shape[0],):
        raise ValueError(f"need one id per code: {codes.shape[0]} codes, {entry_ids.size} ids")
    # one sort on the leading 8 bytes; then a full sort of the (rare) runs of rows that share them
    # without being identical
    leading = leading_key(codes)
    order = np.argsort(leading, kind="stable").astype(np.int64)
    sorted_codes = codes[order]
    same_lead = leading[order[1:]] == leading[order[:-1]]
    differs = (sorted_codes[1:] != sorted_codes[:-1]).any(axis=1)
    if (same_lead & differs).any():
        run = np.concatenate([[0], np.cumsum(~same_lead)])
        rows = np.flatnonzero(np.isin(run, run[1:][same_lead & differs]))
        subset = order[rows]
        keys = [leading_key(codes[subset], start) for start in range(8 * ((codes.shape[1] - 1) // 8), -1, -8)]
        order[rows] = subset[np.lexsort(keys)]
        sorted_codes[rows] = codes[order[rows]]
        differs = (sorted_codes[1:] != sorted_codes[:-1]).any(axis=1)
    starts = np.flatnonzero(np.concatenate([[True], differs])) if order.size else np.empty(0, np.int64)
    offset_type = np.uint32 if order.size < 2**32 else np.int64
    offsets: npt.NDArray[np.integer] = np.append(starts, order.size).astype(offset_type)
    return np.ascontiguousarray(sorted_codes[starts]), EntryMap(offsets, entry_ids[order])


def leading_key(codes: Codes, start: int = 0) -> npt.NDArray[np.uint64]:
    """Bytes ``start`` to ``start + 8`` of each code as a big-endian integer (zero padded): codes
    sorted bytewise have sorted leading keys."""
    head = np.zeros((codes.shape[0], 8), dtype=np.uint8)
    part = codes[:, start : start + 8]
    head[:, : part.shape[1]] = part
    return head.view(">u8").ravel().astype(np.uint64)


def concatenated_ranges(starts: Int64s, counts: Int64s) -> Int64s:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without a Python loop."""
    counts = np.asarray(counts, dtype=np.int64)
    first = np.repeat(np.asarray(starts, dtype=np.int64) - np.cumsum(counts) + counts, counts)
    return first + np.arange(first.size, dtype=np.int64)
