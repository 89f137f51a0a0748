"""The matcher benchmark's cases and their data: a list of one hash type, size and code distribution,
its codes and its queries, generated from the seed so that every engine and every run sees the same."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher import HashType, get_hash_type

Codes = npt.NDArray[np.uint8]

SHAPES = ("uniform", "biased", "clustered")
THRESHOLDS = {"pdq": (31, 48), "phash": (8,)}
"""PDQ at 31 (Meta's default, the only threshold the peer's index serves) and at 48 (ours)."""
QUERIES = 1000
"""Queries per case: half near copies of list codes (within the default threshold), half fresh codes
from the list's own distribution."""
CLUSTER_SIZE = 20
CLUSTER_RADIUS = 24
CHUNK = 250_000


@dataclass(frozen=True)
class Case:
    """One list: its hash type, size and code distribution."""

    hash_name: str
    size: int
    shape: str

    @property
    def hash_type(self) -> HashType:
        return get_hash_type(self.hash_name)

    @property
    def label(self) -> str:
        return f"{self.hash_name}:{self.size}:{self.shape}"

    @classmethod
    def parse(cls, label: str) -> "Case":
        name, size, shape = label.split(":")
        return cls(name, int(size), shape)


class Distribution:
    """Where a list's codes come from: uniform bits, a per-bit bias, or clusters of near-identical
    codes (like ``tests/test_index.py``). Fresh samples from it are the unrelated queries."""

    def __init__(self, shape: str, bits: int, list_size: int, seed: int) -> None:
        if shape not in SHAPES:
            raise ValueError(f"unknown code distribution {shape!r}: expected one of {', '.join(SHAPES)}")
        rng = np.random.default_rng([seed, 1])
        self.shape = shape
        self.bits = bits
        self.ones = rng.uniform(0.02, 0.98, bits).astype(np.float32)
        centers = max(1, list_size // CLUSTER_SIZE)
        self.centers = (
            rng.integers(0, 256, (centers, bits // 8), dtype=np.uint8) if shape == "clustered" else None
        )

    def sample(self, rng: np.random.Generator, n: int) -> Codes:
        out = np.empty((n, self.bits // 8), dtype=np.uint8)
        for start in range(0, n, CHUNK):
            out[start : start + CHUNK] = self._chunk(rng, min(CHUNK, n - start))
        return out

    def _chunk(self, rng: np.random.Generator, n: int) -> Codes:
        if self.shape == "uniform":
            return rng.integers(0, 256, (n, self.bits // 8), dtype=np.uint8)
        if self.shape == "biased":
            return np.packbits(rng.random((n, self.bits), dtype=np.float32) < self.ones, axis=1)
        assert self.centers is not None
        base = self.centers[rng.integers(0, self.centers.shape[0], n)]
        return base ^ flip_masks(rng, n, self.bits, rng.integers(0, CLUSTER_RADIUS, n))


def flip_masks(rng: np.random.Generator, n: int, bits: int, counts: npt.NDArray[np.int64]) -> Codes:
    """Row ``i`` has at most ``counts[i]`` random bits set (positions drawn with replacement), packed
    like the codes."""
    most = int(counts.max(initial=0))
    chosen = np.zeros((n, bits), dtype=bool)
    positions = rng.integers(0, bits, (n, most))
    rows = np.repeat(np.arange(n), most).reshape(n, most)
    keep = np.arange(most)[None, :] < counts[:, None]
    chosen[rows[keep], positions[keep]] = True
    return np.packbits(chosen, axis=1)


def make_case_data(case: Case, seed: int) -> tuple[Codes, Codes]:
    """The list codes and the queries of a case, the same for every engine and every run: half the
    queries are list codes with at most the default threshold of bits flipped, half fresh codes."""
    hash_type = case.hash_type
    distribution = Distribution(case.shape, hash_type.bits, case.size, seed)
    codes = distribution.sample(np.random.default_rng([seed, 2, case.size]), case.size)
    rng = np.random.default_rng([seed, 3, case.size])
    near = QUERIES // 2
    sources = codes[rng.integers(0, case.size, near)]
    flips = rng.integers(0, hash_type.default_threshold + 1, near)
    copies = sources ^ flip_masks(rng, near, hash_type.bits, flips)
    fresh = distribution.sample(rng, QUERIES - near)
    queries = np.concatenate([copies, fresh])
    return codes, queries[rng.permutation(QUERIES)]
