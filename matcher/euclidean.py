"""Exact Euclidean range search over byte vectors (PhotoDNA): a scan that abandons each code as soon as a
partial sum of squares proves it out of reach.

The unique codes are stored column by column, the widest-spread dimensions (by variance on a sample of the
list) first. A query adds the squares of the first dimensions for a whole block of codes at once
(vectorised), so where unrelated vectors lie far apart most codes are dropped after 8 to 16 of their 144
values (see :mod:`matcher.l2scan`, which also states why nothing is missed). Measured
(``benchmarks/photodna.py``, README): k-means clusters pruned by the triangle inequality, tried before,
skipped almost nothing on 144-dimensional data and were no faster than FAISS's flat scan; this scan is.

Memory: the codes (``nbytes`` each, the same bytes transposed) and the entry map (~12 bytes per code): 10M
PhotoDNA codes take about 1.56 GB, memory-mapped when loaded.
"""

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher import l2scan
from matcher.codes import Codes
from matcher.entries import EntryMap, deduplicate
from matcher.matches import Int64s, Matches
from matcher.storage import read_array, write_index_dir
from matcher.validation import check_queries, check_threshold, default_threads

ORDER_SAMPLE = 65_536
"""Codes sampled to rank the dimensions by spread (steers speed only)."""


class EuclideanIndex:
    """Every entry within a Euclidean threshold of each query, exactly."""

    kind = "euclidean"

    def __init__(
        self,
        name: str,
        max_threshold: int,
        dims: npt.NDArray[np.int64],
        columns: Codes,
        entries: EntryMap,
    ) -> None:
        self.name = name
        self.max_threshold = max_threshold
        self.nbytes = int(dims.size)
        self.dims = dims
        self.columns = columns
        self.entries = entries

    @classmethod
    def build(
        cls,
        name: str,
        nbytes: int,
        max_threshold: int,
        codes: Codes,
        ids: npt.ArrayLike,
        threads: int | None = None,
        seed: int = 1,
    ) -> "EuclideanIndex":
        """Index ``codes`` (one row per entry) under entry ``ids``. ``threads`` is accepted like the
        other indexes' builds; this one has nothing to parallelise."""
        check_queries(name, codes, nbytes)
        unique, entries = deduplicate(codes, ids)
        dims = dimension_order(unique, seed)
        columns = np.ascontiguousarray(unique[:, dims].T)
        return cls(name, max_threshold, dims, columns, entries)

    @property
    def entry_count(self) -> int:
        return int(self.entries.ids.size)

    @property
    def unique_count(self) -> int:
        return self.entries.unique_count

    def search(self, queries: Codes, threshold: int, *, threads: int | None = None) -> Matches:
        """Every entry within ``threshold`` of each query row; the distance reported is the
        Euclidean distance rounded up (so ``distance <= t`` exactly when it is within ``t``).

        With ``threads`` workers the queries are shared out, or, for fewer queries than workers, the
        codes (a single hash uses every worker)."""
        check_queries(self.name, queries, self.nbytes)
        check_threshold(self.name, threshold, self.max_threshold)
        n = self.unique_count
        if queries.shape[0] == 0 or n == 0:
            return Matches.empty()
        ordered = np.ascontiguousarray(queries[:, self.dims], dtype=np.int32)
        workers = default_threads(threads)
        positions = np.arange(ordered.shape[0])
        if len(ordered) >= workers:
            parts = [(chunk, 0, n) for chunk in np.array_split(positions, workers)]
        else:
            bounds = np.linspace(0, n, workers + 1).astype(np.int64)
            parts = [(positions, int(lo), int(hi)) for lo, hi in pairwise(bounds)]

        def run(part: tuple[npt.NDArray[np.int64], int, int]) -> tuple[Int64s, Int64s, Int64s]:
            chunk, start, stop = part
            q, code, distance = l2scan.search(self.columns, ordered[chunk], threshold, start, stop)
            return chunk[q], code, distance

        if len(parts) == 1:
            found = [run(parts[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(parts)) as pool:
                found = list(pool.map(run, parts))
        query, unique, distance = (np.concatenate([part[i] for part in found]) for i in range(3))
        return self.entries.expand(query, unique, distance)

    def save(self, directory: Path) -> None:
        meta = {
            "kind": self.kind,
            "hash_type": self.name,
            "bits": self.nbytes * 8,
            "max_threshold": self.max_threshold,
            "unique": self.unique_count,
            "entries": self.entry_count,
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "dims": self.dims,
            "columns": self.columns,
            "entry_offsets": self.entries.offsets,
            "entry_ids": self.entries.ids,
        }
        write_index_dir(directory, meta, arrays)

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> "EuclideanIndex":
        entries = EntryMap(read_array(directory, "entry_offsets"), read_array(directory, "entry_ids"))
        index = cls(
            meta["hash_type"],
            int(meta["max_threshold"]),
            np.asarray(read_array(directory, "dims"), dtype=np.int64),
            read_array(directory, "columns"),
            entries,
        )
        if index.columns.shape != (index.nbytes, entries.unique_count):
            raise ValueError(f"columns of shape {index.columns.shape}, {entries.unique_count} codes mapped")
        if not np.array_equal(np.sort(index.dims), np.arange(index.nbytes)):
            raise ValueError("the dimension order is not a permutation of the stored dimensions")
        return index


def dimension_order(codes: Codes, seed: int) -> npt.NDArray[np.int64]:
    """The dimensions, widest spread (variance on a sample) first: the partial sums over them grow
    fastest, so codes out of reach are dropped soonest. Any order gives the same answers."""
    n = codes.shape[0]
    if n > ORDER_SAMPLE:
        codes = codes[np.sort(np.random.default_rng(seed).choice(n, ORDER_SAMPLE, replace=False))]
    spread = codes.var(axis=0, dtype=np.float64) if n else np.zeros(codes.shape[1])
    return np.argsort(-spread, kind="stable").astype(np.int64)
