"""Multi-index hashing: exact Hamming range search through substring tables.

A code of ``B`` bits is cut into ``m`` substrings of ``b`` bits (``m * b <= B``). If two codes are
within ``r`` bits, then, writing ``r = m * q + a`` with ``a < m``, one of the first ``a + 1``
substrings differs in at most ``q`` bits or one of the others in at most ``q - 1`` bits (otherwise
the substrings alone would differ in ``(a + 1)(q + 1) + (m - a - 1) q = r + 1`` bits). Probing every
table with every key within that radius therefore finds every code within ``r``: the search is
exact. Each table is a compact sorted array (bucket offsets + code ids, built by counting sort).

Cost: a query probes ``P = sum_k C(b, <= radius_k)`` buckets and verifies about ``P * n / 2^b``
candidates, each a random memory access. Where that costs more than scanning all codes (large
thresholds, skewed data with crowded buckets), the caller scans instead.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import comb

import numpy as np
import numpy.typing as npt

from matcher import kernels

MAX_WIDTH = 24
"""Widest substring: a table's offsets take ``4 * 2^b`` bytes (64 MiB at 24 bits)."""

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

Words = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class MihTables:
    """The substring tables of one set of codes."""

    width: int
    offsets: npt.NDArray[np.uint32]  # (m, 2^width + 1)
    ids: npt.NDArray[np.uint32]  # (m, n)

    @classmethod
    def build(cls, words: Words, width: int, count: int, threads: int = 2) -> "MihTables":
        n = words.shape[0]
        if n >= 2**32:
            raise ValueError(f"too many codes for one index: {n}")
        starts = table_starts(count, width)
        offsets = np.empty((count, (1 << width) + 1), dtype=np.uint32)
        ids = np.empty((count, n), dtype=np.uint32)

        def fill(k: int) -> None:
            offsets[k], ids[k] = kernels.build_table(words, int(starts[k]), width)

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            list(pool.map(fill, range(count)))
        return cls(width, offsets, ids)

    @property
    def count(self) -> int:
        return int(self.offsets.shape[0])

    @property
    def starts(self) -> npt.NDArray[np.int64]:
        return table_starts(self.count, self.width)

    def expected_cost(self, threshold: int, n: int) -> float:
        return search_cost(self.width, self.count, threshold, n)

    def search(
        self, words: Words, queries: Words, threshold: int, candidate_limit: int, threads: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """(query, code id, distance, overflow flags) for every code within ``threshold``."""
        radii = np.asarray(table_radii(self.count, threshold), dtype=np.int64)
        masks, counts = flip_masks(self.width, int(radii.max()))
        chunks = np.array_split(np.arange(queries.shape[0]), max(1, min(threads, queries.shape[0])))

        def run(chunk: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
            q, code, dist, overflow = kernels.search_tables(
                words, self.offsets, self.ids, self.starts, self.width, radii, masks, counts,
                queries[chunk], threshold, candidate_limit,
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


def choose_layout(bits: int, n: int, threshold: int) -> tuple[int, int] | None:
    """(substring count, width) that makes a search at ``threshold`` cheapest, or None when a
    plain scan of ``n`` codes is cheaper than any table layout."""
    best: tuple[float, int, int] | None = None
    for count in range(-(-bits // MAX_WIDTH), bits // 8 + 1):
        width = min(bits // count, MAX_WIDTH)
        if 2**width > 8 * max(n, 1):  # tables mostly empty: memory without benefit
            continue
        cost = search_cost(width, count, threshold, n)
        if best is None or cost < best[0]:
            best = (cost, count, width)
    if best is None or best[0] >= scan_cost(n, bits // 8):
        return None
    return best[1], best[2]


def table_starts(count: int, width: int) -> npt.NDArray[np.int64]:
    """First bit of each substring: consecutive, from bit 0."""
    return np.arange(count, dtype=np.int64) * width


def table_radii(count: int, threshold: int) -> list[int]:
    """Probe radius per table for an exact search at ``threshold`` (negative: table not probed)."""
    q, a = divmod(threshold, count)
    return [q] * (a + 1) + [q - 1] * (count - a - 1)


def search_cost(width: int, count: int, threshold: int, n: int) -> float:
    """Expected cost of one query: bucket probes plus candidates to verify."""
    probes = sum(comb_upto(width, radius) for radius in table_radii(count, threshold))
    return float(probes * (PROBE_COST + CANDIDATE_COST * n / 2**width))


def scan_cost(n: int, nbytes: int) -> float:
    return n * nbytes * SCAN_COST_PER_BYTE


def comb_upto(width: int, radius: int) -> int:
    """Number of keys within ``radius`` bits of a ``width``-bit key."""
    return sum(comb(width, i) for i in range(radius + 1))


@lru_cache(maxsize=64)
def flip_masks(width: int, radius: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """All ``width``-bit masks of at most ``radius`` set bits, by popcount, and the number of masks
    with popcount <= r for each r (index ``radius + 1`` onwards unused)."""
    masks = [0]
    counts = [1]
    for bits_set in range(1, max(radius, 0) + 1):
        for positions in combinations(range(width), bits_set):
            masks.append(sum(1 << p for p in positions))
        counts.append(len(masks))
    mask_array = np.asarray(masks, dtype=np.uint32)
    mask_array.flags.writeable = False
    count_array = np.asarray(counts, dtype=np.int64)
    count_array.flags.writeable = False
    return mask_array, count_array
