"""Identical hash values stored once: unique codes and, per unique code, the ids of its entries."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.codes import Codes
from matcher.matches import Int64s, Matches


@dataclass(frozen=True)
class EntryMap:
    """Compressed rows: the entries of unique code ``u`` are ``ids[offsets[u]:offsets[u + 1]]``."""

    offsets: Int64s
    ids: Int64s

    @property
    def unique_count(self) -> int:
        return int(self.offsets.size - 1)

    def expand(self, query: Int64s, unique: npt.NDArray[np.integer], distance: Int64s) -> Matches:
        """Turn matches on unique codes into matches on entry ids."""
        unique = unique.astype(np.int64, copy=False)
        starts = self.offsets[unique]
        counts = self.offsets[unique + 1] - starts
        positions = concatenated_ranges(starts, counts)
        return Matches.ordered(
            np.repeat(query, counts),
            self.ids[positions].astype(np.int64),
            np.repeat(distance, counts),
        )


def deduplicate(codes: Codes, ids: npt.ArrayLike) -> tuple[Codes, EntryMap]:
    """Sort codes, keep each value once and remember which entry ids carry it."""
    entry_ids = np.asarray(ids, dtype=np.int64)
    if codes.ndim != 2 or entry_ids.shape != (codes.shape[0],):
        raise ValueError(f"need one id per code: {codes.shape[0]} codes, {entry_ids.size} ids")
    if codes.shape[0] == 0:
        return codes.copy(), EntryMap(np.zeros(1, dtype=np.int64), entry_ids)
    columns = _sort_keys(codes)
    order = np.lexsort(columns[::-1])
    sorted_columns = columns[:, order]
    new_value = np.ones(order.size, dtype=bool)
    new_value[1:] = (sorted_columns[:, 1:] != sorted_columns[:, :-1]).any(axis=0)
    starts = np.flatnonzero(new_value)
    offsets = np.append(starts, order.size).astype(np.int64)
    unique_codes = np.ascontiguousarray(codes[order[starts]])
    return unique_codes, EntryMap(offsets, entry_ids[order])


def _sort_keys(codes: Codes) -> npt.NDArray[np.uint64]:
    """Big-endian 64-bit words of each code (zero padded), as columns, for a lexicographic sort."""
    nbytes = codes.shape[1]
    width = -(-nbytes // 8) * 8
    padded = np.zeros((codes.shape[0], width), dtype=np.uint8)
    padded[:, :nbytes] = codes
    return padded.view(">u8").astype(np.uint64).T


def concatenated_ranges(starts: Int64s, counts: Int64s) -> Int64s:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without a Python loop."""
    counts = np.asarray(counts, dtype=np.int64)
    first = np.repeat(np.asarray(starts, dtype=np.int64) - np.cumsum(counts) + counts, counts)
    return first + np.arange(first.size, dtype=np.int64)
