"""Multi-index hashing: exact Hamming range search through substring tables.

Each of ``m`` tables keys every code by a substring: its bits at ``b`` chosen positions (disjoint
across tables; bits of little information, set in almost every code or almost none, are left out).
If no table's substring of a code differs from the query's in more bits than the table's probe
radius, with ``sum(radius + 1) >= r + 1``, the codes differ in more than ``r`` bits: so probing every
table with every key within its radius finds every code within ``r``. The search is exact for any
radii meeting that sum; each query picks its own (per table, -1 for "not probed") where its
neighbourhood is sparsest, from a model of the list's bits. Each table is a compact sorted array
(bucket offsets + code ids, built by counting sort).

Cost: a query probes ``P = sum_k C(b, <= radius_k)`` buckets and verifies the codes in them, each a
random memory access: about ``P * n / 2^b`` on uniform codes, many more in the crowded buckets of
skewed ones. Where that costs more than scanning all codes (large thresholds, strongly skewed
data), the caller scans instead.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from math import comb

import numpy as np
import numpy.typing as npt

from matcher import kernels

MAX_WIDTH = 24
"""Widest substring: a table's offsets take ``4 * 2^b`` bytes (64 MiB at 24 bits)."""

TABLE_BYTES_PER_CODE = 64
TABLE_BYTES_FIXED = 64 * 2**20
"""Tables take at most 64 bytes per code plus 64 MiB: at 10M PDQ codes 0.7 GB, so the whole index
(the codes take 32 bytes each, their entry ids about 12) stays under 1.2 GB."""

PROBE_COST = 1.0
CANDIDATE_COST = 1.0
SCAN_COST_PER_BYTE = 1 / 768
"""Relative costs (one random memory access = 1): a probed bucket or a verified candidate costs
~40 ns at 10M codes, while FAISS flat scans a PDQ code in ~1.1-1.6 ns and a 64-bit code in ~0.4 ns
(faiss-cpu 1.15.1, AVX2, 2-core AMD EPYC): about 1/768 of an access per scanned byte. Measured with
``benchmarks/matcher.py``; an older estimate of 1/64 let skewed queries verify up to 5M candidates
(90 ms) where a scan takes 16 ms."""

OVERFLOW_SHARE = 0.5
"""A query abandons the tables (and is scanned) once its candidates exceed this share of the scan's
cost: in the crowded buckets of skewed data a candidate costs ~75 ns (its id, then its code), about
twice the uniform average, so a query at the full scan cost took twice as long as the scan."""

FALLBACK_SHARE = 2 / 3
"""Where no table layout beats a scan at the design threshold, the layout is made for the largest
threshold down to this share of it where one does (PDQ: 48 down to 32); below that no tables are
built. Searches stay exact at every threshold whatever the layout."""

SPARE_RADIUS = 2
"""How far above an even split of the threshold a query may raise one table's probe radius."""

Words = npt.NDArray[np.uint64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MihTables:
    """The substring tables of one set of codes."""

    positions: npt.NDArray[np.int64]  # (m, b): the code bits of each table's key, lowest first
    offsets: npt.NDArray[np.uint32]  # (m, 2^b + 1)
    ids: npt.NDArray[np.uint32]  # (m, n)
    ones: Floats  # (bits,): the share of codes with each bit set

    @classmethod
    def build(cls, words: Words, ones: Floats, width: int, count: int, threads: int = 2) -> "MihTables":
        """Tables over ``words`` (a share ``ones`` of them having each bit set: :func:`bit_shares`)."""
        n = words.shape[0]
        if n >= 2**32:
            raise ValueError(f"too many codes for one index: {n}")
        positions = table_positions(ones, count, width)
        offsets = np.empty((count, (1 << width) + 1), dtype=np.uint32)
        ids = np.empty((count, n), dtype=np.uint32)

        def fill(k: int) -> None:
            offsets[k], ids[k] = kernels.build_table(words, positions[k])

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            list(pool.map(fill, range(count)))
        return cls(positions, offsets, ids, ones)

    @property
    def count(self) -> int:
        return int(self.positions.shape[0])

    @property
    def width(self) -> int:
        return int(self.positions.shape[1])

    def search(
        self, words: Words, queries: Words, threshold: int, candidate_limit: int, threads: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """(query, code id, distance, overflow flags) for every code within ``threshold``."""
        masks, counts = flip_masks(self.width, radius_cap(self.count, self.width, threshold))
        chunks = np.array_split(np.arange(queries.shape[0]), max(1, min(threads, queries.shape[0])))

        def run(chunk: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
            q, code, dist, overflow = kernels.search_tables(
                words, self.offsets, self.ids, self.positions, self.ones, masks, counts,
                queries[chunk], threshold, candidate_limit, PROBE_COST, CANDIDATE_COST,
            )  # fmt: skip
            return chunk[q], code, dist, overflow

        if len(chunks) == 1:
            parts = [run(chunks[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
                parts = list(pool.map(run, chunks))
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts]).astype(np.bool_),
        )


def choose_layout(sample: Words, ones: Floats, n: int, threshold: int) -> tuple[int, int] | None:
    """(substring count, width) of the cheapest tables for searches at ``threshold`` over ``n``
    codes whose bits are set as often as ``ones`` says, costed on queries like ``sample``.

    Where a scan beats every layout at ``threshold`` (strongly skewed codes), the tables are laid
    out for the largest lower threshold, down to :data:`FALLBACK_SHARE` of it, at which they pay;
    None if there is none.
    """
    for target in range(threshold, int(threshold * FALLBACK_SHARE) - 1, -1):
        layout = cheapest_layout(sample, ones, n, target)
        if layout is not None:
            return layout
    return None


def cheapest_layout(sample: Words, ones: Floats, n: int, threshold: int) -> tuple[int, int] | None:
    """(substring count, width) that makes a search at ``threshold`` cheapest, or None when a plain
    scan is cheaper than any table layout."""
    bits = ones.shape[0]
    best: tuple[float, int, int] | None = None
    for count in range(1, bits // 8 + 1):
        width = min(bits // count, MAX_WIDTH)
        if 2**width > 8 * max(n, 1):  # tables mostly empty: memory without benefit
            continue
        if table_bytes(count, width, n) > TABLE_BYTES_PER_CODE * n + TABLE_BYTES_FIXED:
            continue
        cost = search_cost(table_positions(ones, count, width), ones, sample, threshold, n)
        if best is None or cost < best[0]:
            best = (cost, count, width)
    if best is None or best[0] >= scan_cost(n, bits // 8):
        return None
    return best[1], best[2]


def table_bytes(count: int, width: int, n: int) -> int:
    """Memory of ``count`` tables of ``width``-bit keys over ``n`` codes: offsets and ids."""
    return count * 4 * ((1 << width) + 1 + n)


def bit_shares(words: Words) -> Floats:
    """The share of codes with each bit set."""
    counts = kernels.count_ones(np.ascontiguousarray(words))
    return np.asarray(counts / max(words.shape[0], 1), dtype=np.float64)


def table_positions(ones: Floats, count: int, width: int) -> npt.NDArray[np.int64]:
    """The bits of each table's key: the most informative bits first (those whose values two codes
    share least often), in code order among equally informative ones, ``width`` to a table."""
    agree = np.round(ones**2 + (1 - ones) ** 2, 3)
    order = np.argsort(agree, kind="stable")[: count * width]
    return np.ascontiguousarray(order.reshape(count, width).astype(np.int64))


def radius_cap(count: int, width: int, threshold: int) -> int:
    """The largest probe radius a search at ``threshold`` may give one table."""
    even = -(-(threshold + 1) // count) - 1
    return min(width, max(even, 0) + SPARE_RADIUS)


def search_cost(
    positions: npt.NDArray[np.int64], ones: Floats, sample: Words, threshold: int, n: int
) -> float:
    """Expected cost of a query like those of ``sample``: bucket probes plus candidates to verify."""
    count, width = positions.shape
    counts = np.cumsum([comb(width, r) for r in range(radius_cap(count, width, threshold) + 1)])
    return float(
        kernels.mean_query_cost(positions, ones, sample, counts, n, threshold, PROBE_COST, CANDIDATE_COST)
    )


def scan_cost(n: int, nbytes: int) -> float:
    return n * nbytes * SCAN_COST_PER_BYTE


@lru_cache(maxsize=64)
def flip_masks(width: int, radius: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """All ``width``-bit masks of at most ``radius`` set bits, by popcount, and the number of masks
    with popcount <= r for each r from 0 to ``radius``."""
    masks, counts = kernels.flip_masks(width, radius)
    masks.flags.writeable = False
    counts.flags.writeable = False
    return masks, counts
