"""Compiled loops of the Euclidean index (numba, released GIL): squared distances in integers.

Vectors are rows of unsigned bytes; a squared distance is an exact integer (at most
``nbytes * 255**2``: 9,363,600 for 144 bytes), so no comparison at a threshold's edge depends on
floating-point rounding. Codes are stored cluster by cluster, and within a cluster by their squared
distance to its centre (``member2``, ascending).
"""

# numba types these loops itself; mypy reads them as plain NumPy code, where integer widths differ.
# mypy: disable-error-code="assignment, no-any-return, return-value"

import numpy as np
from numba import njit

RING_MARGIN = 1.0
"""Slack (in distance units) on the ring bounds computed in floating point: a member is left out only
when it is provably more than the threshold away; float64 square roots of integers below 2^24 are
accurate to ~1e-12, far inside this margin."""


@njit(inline="always")
def squared(a: np.ndarray, b: np.ndarray) -> np.int64:
    total = np.int64(0)
    for j in range(a.shape[0]):
        diff = np.int32(a[j]) - np.int32(b[j])
        total += diff * diff
    return total


@njit(inline="always")
def beyond(d2: np.int64, t: np.int64, r2: np.int64) -> bool:
    """True when ``sqrt(d2) > t + sqrt(r2)``, decided in integers: then nothing within ``sqrt(r2)``
    of the centre is within ``t`` of the query (triangle inequality)."""
    slack = d2 - t * t - r2  # sqrt(d2) > t + sqrt(r2)  <=>  d2 - t^2 - r2 > 2 t sqrt(r2)
    if slack <= 0:
        return False
    return slack * slack > 4 * t * t * r2


@njit(inline="always")
def ceil_sqrt(value: np.int64) -> np.int64:
    """The smallest integer whose square is at least ``value``: ``ceil_sqrt(d2) <= t`` exactly when
    ``d2 <= t * t`` for an integer ``t``."""
    root = np.int64(np.sqrt(np.float64(value)))
    while root * root > value:
        root -= 1
    while root * root < value:
        root += 1
    return root


@njit(nogil=True, cache=True)
def member_distances(codes: np.ndarray, centres: np.ndarray, assigned: np.ndarray) -> np.ndarray:
    """Squared distance of every code to the centre of its cluster."""
    found = np.empty(codes.shape[0], dtype=np.int32)
    for i in range(codes.shape[0]):
        found[i] = squared(codes[i], centres[assigned[i]])
    return found


@njit(nogil=True, cache=True)
def search(
    codes: np.ndarray,
    offsets: np.ndarray,
    centres: np.ndarray,
    radius2: np.ndarray,
    member2: np.ndarray,
    queries: np.ndarray,
    threshold: int,
    prune: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every code within ``threshold`` (Euclidean) of each query: (query, code position, distance
    rounded up).

    A cluster is skipped when its centre is further than ``threshold + its radius`` from the query;
    in the others only the members whose distance to the centre is within ``threshold`` of the
    query's (the ring the triangle inequality allows) are compared. ``prune`` False compares every
    code (a flat scan, for measurements and tests).
    """
    t = np.int64(threshold)
    limit = t * t
    out_query = np.empty(1024, dtype=np.int64)
    out_code = np.empty(1024, dtype=np.int64)
    out_distance = np.empty(1024, dtype=np.int64)
    found = 0
    for q in range(queries.shape[0]):
        query = queries[q]
        for c in range(centres.shape[0]):
            lo, hi = np.int64(offsets[c]), np.int64(offsets[c + 1])
            if lo == hi:
                continue
            if prune:
                d2 = squared(query, centres[c])
                if beyond(d2, t, np.int64(radius2[c])):
                    continue
                centre = np.sqrt(np.float64(d2))
                inner = max(0.0, centre - threshold - RING_MARGIN)
                outer = centre + threshold + RING_MARGIN
                ring = member2[lo:hi]
                start = lo + np.searchsorted(ring, np.int64(inner * inner), side="left")
                stop = lo + np.searchsorted(ring, np.int64(np.ceil(outer * outer)), side="right")
            else:
                start, stop = lo, hi
            for i in range(start, stop):
                d2 = squared(query, codes[i])
                if d2 > limit:
                    continue
                if found == out_query.shape[0]:
                    out_query = _grow(out_query, 2 * found)
                    out_code = _grow(out_code, 2 * found)
                    out_distance = _grow(out_distance, 2 * found)
                out_query[found] = q
                out_code[found] = i
                out_distance[found] = ceil_sqrt(d2)
                found += 1
    return out_query[:found], out_code[:found], out_distance[:found]


@njit(inline="always")
def _grow(array: np.ndarray, capacity: int) -> np.ndarray:
    bigger = np.empty(capacity, dtype=array.dtype)
    bigger[: array.shape[0]] = array
    return bigger
