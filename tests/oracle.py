"""Brute force, written independently of the matcher: the reference every index is checked against."""

import numpy as np
import numpy.typing as npt


def brute_force(
    codes: npt.NDArray[np.uint8],
    ids: npt.NDArray[np.int64],
    queries: npt.NDArray[np.uint8],
    threshold: int,
) -> set[tuple[int, int, int]]:
    """{(query position, entry id, distance)} for every entry within ``threshold`` bits."""
    found: set[tuple[int, int, int]] = set()
    if codes.shape[0] == 0:
        return found
    for position, query in enumerate(queries):
        distances = np.unpackbits(codes ^ query, axis=1).sum(axis=1)
        for row in np.flatnonzero(distances <= threshold):
            found.add((position, int(ids[row]), int(distances[row])))
    return found


def as_set(matches: "object") -> set[tuple[int, int, int]]:
    query, entry, distance = (getattr(matches, name) for name in ("query", "entry", "distance"))
    return set(zip(query.tolist(), entry.tolist(), distance.tolist(), strict=True))


def flip_bits(code: npt.NDArray[np.uint8], count: int, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """A copy of ``code`` with exactly ``count`` distinct bits flipped."""
    flipped = code.copy()
    for bit in rng.choice(code.size * 8, size=count, replace=False):
        flipped[bit // 8] ^= np.uint8(1 << (bit % 8))
    return flipped
