"""Equality lookup for cryptographic hashes: binary search over sorted unique codes.

No Python object per entry: 10M MD5 entries take the codes (160 MB), one 64-bit sort key per code
and the entry map.
"""

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.codes import Codes
from matcher.entries import EntryMap, concatenated_ranges, deduplicate, leading_key
from matcher.matches import Matches
from matcher.storage import read_array, write_index_dir
from matcher.validation import check_queries, check_threshold


class ExactIndex:
    """Entries whose code equals a query code, in O(log n) per query."""

    kind = "exact"
    max_threshold = 0

    def __init__(self, name: str, codes: Codes, keys: npt.NDArray[np.uint64], entries: EntryMap) -> None:
        self.name = name
        self.codes = codes
        self.nbytes = codes.shape[1]
        self.keys = keys
        self.entries = entries

    @classmethod
    def build(cls, name: str, nbytes: int, codes: Codes, ids: npt.ArrayLike) -> "ExactIndex":
        check_queries(name, codes, nbytes)
        unique, entries = deduplicate(codes, ids)
        return cls(name, unique, leading_key(unique), entries)

    @property
    def entry_count(self) -> int:
        return int(self.entries.ids.size)

    @property
    def unique_count(self) -> int:
        return self.entries.unique_count

    def search(self, queries: Codes, threshold: int = 0, *, threads: int | None = None) -> Matches:
        """Entries equal to each query row (``threshold`` must be 0)."""
        check_queries(self.name, queries, self.nbytes)
        check_threshold(self.name, threshold, self.max_threshold)
        query_keys = leading_key(queries)
        lo = np.searchsorted(self.keys, query_keys, side="left")
        hi = np.searchsorted(self.keys, query_keys, side="right")
        counts = hi - lo
        query = np.repeat(np.arange(queries.shape[0], dtype=np.int64), counts)
        # codes sharing the leading 8 bytes are adjacent: compare the whole code
        unique = concatenated_ranges(lo, counts)
        equal = (self.codes[unique] == queries[query]).all(axis=1)
        query, unique = query[equal], unique[equal]
        return self.entries.expand(query, unique, np.zeros(query.size, dtype=np.int64))

    def save(self, directory: Path) -> None:
        meta = {
            "kind": self.kind,
            "hash_type": self.name,
            "bits": self.nbytes * 8,
            "unique": self.unique_count,
            "entries": self.entry_count,
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "codes": self.codes,
            "keys": self.keys,
            "entry_offsets": self.entries.offsets,
            "entry_ids": self.entries.ids,
        }
        write_index_dir(directory, meta, arrays)

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> "ExactIndex":
        entries = EntryMap(read_array(directory, "entry_offsets"), read_array(directory, "entry_ids"))
        return cls(
            meta["hash_type"],
            read_array(directory, "codes"),
            read_array(directory, "keys"),
            entries,
        )
