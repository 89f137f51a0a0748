"""Exact Euclidean range search over byte vectors (PhotoDNA): clusters pruned by the triangle
inequality.

The unique codes are grouped around ``k`` centres (k-means on a sample, by FAISS; each code goes to
its nearest centre as FAISS finds it, which steers speed only). Per cluster the index keeps its
centre (rounded to bytes), its radius (the largest squared distance of a member to the centre) and
its members stored contiguously, ordered by their squared distance to the centre. A query skips a
cluster whose centre is further than ``threshold + radius`` and compares, in the others, only the
members in the ring the triangle inequality leaves: exact, since every skip is proved in integers
(or, for the ring, with a margin far above floating-point error). See :mod:`matcher.clusters`.

Memory: the codes (``nbytes`` each), 4 bytes of centre distance and the entry map (~12 bytes) per
code: 10M PhotoDNA codes take 1.6 GB, memory-mapped when loaded.
"""

from concurrent.futures import ThreadPoolExecutor
from math import isqrt
from pathlib import Path
from typing import Any, Literal, get_args

import faiss
import numpy as np
import numpy.typing as npt

from matcher import clusters
from matcher.codes import Codes
from matcher.entries import EntryMap, concatenated_ranges, deduplicate
from matcher.matches import Matches
from matcher.storage import read_array, write_index_dir
from matcher.validation import check_queries, check_threshold, default_threads

Method = Literal["auto", "scan"]
METHODS: tuple[str, ...] = get_args(Method)
MAX_CLUSTERS = 4096
TRAIN_PER_CLUSTER = 64
"""k-means trains on up to this many sampled codes per centre."""
KMEANS_ITERATIONS = 12
ASSIGN_CHUNK = 262_144


def cluster_count(n: int) -> int:
    """About the square root of the list size (comparing a query with the centres costs as much as
    with one cluster's members), at most :data:`MAX_CLUSTERS`; one cluster below 1,024 codes."""
    return 1 if n < 1024 else min(MAX_CLUSTERS, isqrt(n))


class EuclideanIndex:
    """Every entry within a Euclidean threshold of each query, exactly."""

    kind = "euclidean"

    def __init__(
        self,
        name: str,
        max_threshold: int,
        codes: Codes,
        offsets: npt.NDArray[np.int64],
        centres: Codes,
        radius2: npt.NDArray[np.int64],
        member2: npt.NDArray[np.int32],
        entries: EntryMap,
    ) -> None:
        self.name = name
        self.max_threshold = max_threshold
        self.nbytes = codes.shape[1]
        self.codes = codes
        self.offsets = offsets
        self.centres = centres
        self.radius2 = radius2
        self.member2 = member2
        self.entries = entries

    @classmethod
    def build(
        cls,
        name: str,
        nbytes: int,
        max_threshold: int,
        codes: Codes,
        ids: npt.ArrayLike,
        clusters_wanted: int | None = None,
        threads: int | None = None,
        seed: int = 1,
    ) -> "EuclideanIndex":
        """Index ``codes`` (one row per entry) under entry ``ids`` in ``clusters_wanted`` clusters
        (default: :func:`cluster_count`)."""
        check_queries(name, codes, nbytes)
        unique, entries = deduplicate(codes, ids)
        n = unique.shape[0]
        k = min(clusters_wanted or cluster_count(n), n)
        faiss.omp_set_num_threads(default_threads(threads))
        centres, assigned = _cluster(unique, k, seed)
        member2 = clusters.member_distances(unique, centres, assigned)
        order = np.lexsort((member2, assigned))
        counts = np.bincount(assigned, minlength=k)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        radius2 = np.zeros(k, dtype=np.int64)
        np.maximum.at(radius2, assigned, member2.astype(np.int64))
        return cls(
            name, max_threshold, np.ascontiguousarray(unique[order]), offsets, centres, radius2,
            member2[order], _reordered(entries, order),
        )  # fmt: skip

    @property
    def entry_count(self) -> int:
        return int(self.entries.ids.size)

    @property
    def unique_count(self) -> int:
        return self.entries.unique_count

    @property
    def cluster_count(self) -> int:
        return int(self.centres.shape[0])

    def search(
        self, queries: Codes, threshold: int, *, threads: int | None = None, method: Method = "auto"
    ) -> Matches:
        """Every entry within ``threshold`` of each query row; the distance reported is the
        Euclidean distance rounded up (so ``distance <= t`` exactly when it is within ``t``).
        ``method`` "scan" compares every code (for measurements); the answer is the same."""
        check_queries(self.name, queries, self.nbytes)
        check_threshold(self.name, threshold, self.max_threshold)
        if method not in METHODS:
            raise ValueError(f"unknown search method {method!r}: expected one of {', '.join(METHODS)}")
        if queries.shape[0] == 0 or self.unique_count == 0:
            return Matches.empty()
        queries = np.ascontiguousarray(queries)
        chunks = np.array_split(
            np.arange(queries.shape[0]), max(1, min(default_threads(threads), len(queries)))
        )

        def run(chunk: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
            q, code, distance = clusters.search(
                self.codes, self.offsets, self.centres, self.radius2, self.member2, queries[chunk],
                threshold, method == "auto",
            )  # fmt: skip
            return chunk[q], code, distance

        if len(chunks) == 1:
            parts = [run(chunks[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
                parts = list(pool.map(run, chunks))
        query, unique, distance = (np.concatenate([part[i] for part in parts]) for i in range(3))
        return self.entries.expand(query, unique, distance)

    def save(self, directory: Path) -> None:
        meta = {
            "kind": self.kind,
            "hash_type": self.name,
            "bits": self.nbytes * 8,
            "max_threshold": self.max_threshold,
            "clusters": self.cluster_count,
            "unique": self.unique_count,
            "entries": self.entry_count,
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "codes": self.codes,
            "cluster_offsets": self.offsets,
            "centres": self.centres,
            "cluster_radius2": self.radius2,
            "member_distance2": self.member2,
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
            read_array(directory, "codes"),
            read_array(directory, "cluster_offsets"),
            read_array(directory, "centres"),
            read_array(directory, "cluster_radius2"),
            read_array(directory, "member_distance2"),
            entries,
        )
        if index.codes.shape[0] != entries.unique_count or index.offsets[-1] != entries.unique_count:
            raise ValueError(f"{index.codes.shape[0]} codes but {entries.unique_count} mapped")
        return index


def _cluster(codes: Codes, k: int, seed: int) -> tuple[Codes, npt.NDArray[np.int64]]:
    """``k`` centres (as bytes) from k-means on a sample, and the centre each code is nearest to."""
    n, dimensions = codes.shape
    if k == 0:
        return np.zeros((0, dimensions), np.uint8), np.zeros(0, np.int64)
    if k == 1:
        centre = np.rint(codes.mean(axis=0, dtype=np.float64)).astype(np.uint8)[None, :]
        return centre, np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    sample = codes[np.sort(rng.choice(n, min(n, k * TRAIN_PER_CLUSTER), replace=False))]
    kmeans = faiss.Kmeans(
        dimensions, k, niter=KMEANS_ITERATIONS, seed=seed, max_points_per_centroid=TRAIN_PER_CLUSTER
    )
    kmeans.train(sample.astype(np.float32))
    trained = np.asarray(kmeans.centroids, dtype=np.float32)
    centres = np.clip(np.rint(trained), 0, 255).astype(np.uint8)
    flat = faiss.IndexFlatL2(dimensions)
    flat.add(centres.astype(np.float32))
    assigned = np.empty(n, dtype=np.int64)
    for start in range(0, n, ASSIGN_CHUNK):
        block = codes[start : start + ASSIGN_CHUNK].astype(np.float32)
        assigned[start : start + block.shape[0]] = flat.search(block, 1)[1][:, 0]
    return centres, assigned


def _reordered(entries: EntryMap, order: npt.NDArray[np.int64]) -> EntryMap:
    """The entry map with unique code ``order[p]`` moved to position ``p``."""
    starts = entries.offsets[order].astype(np.int64)
    counts = entries.offsets[order + 1].astype(np.int64) - starts
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(entries.offsets.dtype)
    return EntryMap(offsets, entries.ids[concatenated_ranges(starts, counts)])
