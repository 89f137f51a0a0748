"""Exact Hamming range search: FAISS flat scan for small lists, multi-index hashing for large ones.

The unique codes live once, in a FAISS ``IndexBinaryFlat`` (memory-mapped when loaded); the
substring tables and the compiled verification loop read the same bytes through a NumPy view.
"""

from pathlib import Path
from typing import Any, Literal, get_args

import faiss
import numpy as np
import numpy.typing as npt

from matcher.codes import Codes
from matcher.entries import EntryMap, deduplicate
from matcher.errors import IndexFileError
from matcher.matches import Matches
from matcher.mih import OVERFLOW_SHARE, MihTables, bit_shares, choose_layout, scan_cost
from matcher.storage import read_array, write_index_dir
from matcher.validation import check_queries, check_threshold, default_threads

FLAT_FILE = "codes.faiss"
LAYOUT_SAMPLE = 256
"""List codes that stand for the queries when the table layout is costed."""
Method = Literal["auto", "scan"]
METHODS: tuple[str, ...] = get_args(Method)


class HammingIndex:
    """Every entry within a Hamming threshold of each query, exactly."""

    kind = "hamming"

    def __init__(
        self,
        name: str,
        bits: int,
        max_threshold: int,
        flat: Any,
        entries: EntryMap,
        tables: MihTables | None,
    ) -> None:
        self.name = name
        self.bits = bits
        self.nbytes = bits // 8
        self.max_threshold = max_threshold
        self.entries = entries
        self.tables = tables
        self._flat = flat
        unique = entries.unique_count
        if flat.ntotal != unique:
            raise IndexFileError(f"{name} index holds {flat.ntotal} codes but maps {unique}")
        view = faiss.rev_swig_ptr(flat.xb.data(), unique * self.nbytes) if unique else np.empty(0)
        self.codes: Codes = np.asarray(view, dtype=np.uint8).reshape(unique, self.nbytes)
        self.codes.flags.writeable = False
        self._words = self.codes.view(np.uint64)

    @classmethod
    def build(
        cls,
        name: str,
        bits: int,
        max_threshold: int,
        codes: Codes,
        ids: npt.ArrayLike,
        design_threshold: int,
        threads: int | None = None,
        layout: tuple[int, int] | None = None,
    ) -> "HammingIndex":
        """Index ``codes`` (one row per entry) under entry ``ids``.

        ``design_threshold`` is the threshold searches will mostly use: it picks the table layout
        (or none, for lists small enough that a scan is cheapest), unless ``layout`` gives one as
        (substring count, width). Searches stay exact at any threshold up to ``max_threshold``.
        """
        if bits % 64:
            raise ValueError(f"Hamming codes must be a multiple of 64 bits, not {bits}")
        check_queries(name, codes, bits // 8)
        check_threshold(name, design_threshold, max_threshold)
        unique, entries = deduplicate(codes, ids)
        flat = faiss.IndexBinaryFlat(bits)
        if unique.shape[0]:
            flat.add(unique)
        index = cls(name, bits, max_threshold, flat, entries, None)
        ones = bit_shares(index._words)
        if layout is None and unique.shape[0]:
            sample = index._words[np.linspace(0, unique.shape[0] - 1, LAYOUT_SAMPLE).astype(np.int64)]
            layout = choose_layout(sample, ones, unique.shape[0], design_threshold)
        if layout is not None:
            count, width = layout
            index.tables = MihTables.build(index._words, ones, width, count, default_threads(threads))
        return index

    @property
    def entry_count(self) -> int:
        return int(self.entries.ids.size)

    @property
    def unique_count(self) -> int:
        return self.entries.unique_count

    def search(
        self, queries: Codes, threshold: int, *, threads: int | None = None, method: Method = "auto"
    ) -> Matches:
        """Every entry within ``threshold`` bits of each query row.

        ``method`` "auto" searches through the tables where the index has them, scanning each
        query whose expected or actual candidates cost more than a scan; "scan" always scans (for
        measurements). The answer is always exact.
        """
        check_queries(self.name, queries, self.nbytes)
        check_threshold(self.name, threshold, self.max_threshold)
        if method not in METHODS:
            raise ValueError(f"unknown search method {method!r}: expected one of {', '.join(METHODS)}")
        if queries.shape[0] == 0 or self.unique_count == 0:
            return Matches.empty()
        workers = default_threads(threads)
        tables = None if method == "scan" else self.tables
        if tables is None:
            query, unique, distance = self._scan(queries, np.arange(queries.shape[0]), threshold, workers)
        else:
            query, unique, distance, overflow = tables.search(
                self._words,
                np.ascontiguousarray(queries).view(np.uint64),
                threshold,
                candidate_limit=int(scan_cost(self.unique_count, self.nbytes) * OVERFLOW_SHARE),
                threads=workers,
            )
            if overflow.any():
                extra = self._scan(queries, np.flatnonzero(overflow), threshold, workers)
                query, unique, distance = (
                    np.concatenate(p) for p in zip((query, unique, distance), extra, strict=True)
                )
        return self.entries.expand(query, unique, distance)

    def _scan(
        self, queries: Codes, rows: npt.NDArray[np.int64], threshold: int, threads: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """FAISS flat range search for the given query rows (FAISS's radius is exclusive)."""
        faiss.omp_set_num_threads(threads)
        lims, distances, labels = self._flat.range_search(np.ascontiguousarray(queries[rows]), threshold + 1)
        counts = np.diff(lims).astype(np.int64)
        return np.repeat(rows, counts), labels.astype(np.int64), distances.astype(np.int64)

    def save(self, directory: Path) -> None:
        arrays: dict[str, npt.NDArray[Any]] = {
            "entry_offsets": self.entries.offsets,
            "entry_ids": self.entries.ids,
        }
        tables = None
        if self.tables is not None:
            arrays |= {
                "table_positions": self.tables.positions,
                "table_offsets": self.tables.offsets,
                "table_ids": self.tables.ids,
                "bit_shares": self.tables.ones,
            }
            tables = {"width": self.tables.width, "count": self.tables.count}
        meta = {
            "kind": self.kind,
            "hash_type": self.name,
            "bits": self.bits,
            "max_threshold": self.max_threshold,
            "unique": self.unique_count,
            "entries": self.entry_count,
            "tables": tables,
        }
        write_index_dir(
            directory,
            meta,
            arrays,
            lambda staging: faiss.write_index_binary(self._flat, str(staging / FLAT_FILE)),
        )

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> "HammingIndex":
        try:
            flat = faiss.read_index_binary(str(directory / FLAT_FILE), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as error:
            raise IndexFileError(f"{directory / FLAT_FILE} cannot be read: {error}") from error
        entries = EntryMap(read_array(directory, "entry_offsets"), read_array(directory, "entry_ids"))
        tables = None
        if meta["tables"] is not None:
            tables = MihTables(
                positions=read_array(directory, "table_positions"),
                offsets=read_array(directory, "table_offsets"),
                ids=read_array(directory, "table_ids"),
                ones=read_array(directory, "bit_shares"),
            )
        return cls(meta["hash_type"], int(meta["bits"]), int(meta["max_threshold"]), flat, entries, tables)
