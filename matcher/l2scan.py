"""Compiled loops of the Euclidean index (numba, released GIL): squared distances in integers, abandoned
as soon as a partial sum proves a code out of reach.

Layout: the codes are stored column by column (``columns[k]``: the ``k``-th dimension, in the index's order
of widest spread first, of every code, contiguous). A query walks the codes a block at a time: for every
code of the block it adds the squares of the dimensions column after column (loops the compiler
vectorises), a pass of :data:`STAGE` columns at a time, while more than :data:`ALONE` codes of the block
are still within reach; each code still within reach then continues alone until its sum passes the limit
or it is complete. Where unrelated vectors lie far beyond the threshold a block is done after 8-16 of 144
columns; where they lie near it the passes go on, and the search becomes a vectorised integer scan.

Why nothing is missed: a squared distance is a sum of squares of integers, each at least 0, so every
partial sum is at most the whole. A code is dropped only when a partial sum already exceeds ``t * t``:
then its distance exceeds ``t``. Every value is an exact integer (a squared distance is at most
``nbytes * 255**2``: 9,363,600 for 144 bytes, within int32), so no comparison at the threshold's edge
depends on rounding.
"""

# numba types these loops itself; mypy reads them as plain NumPy code, where integer widths differ.
# mypy: disable-error-code="assignment, no-any-return, return-value"

import numpy as np
from numba import njit

BLOCK = 1024
"""Codes per block: the part of a column a pass reads (1 KB) stays in the cache for every query of a batch."""
STAGE = 8
"""Columns added per vectorised pass over a block."""
ALONE = 2
"""At most this many codes of a block continue alone: reading a column a code at a time costs a cache miss
per code, a vectorised pass reads the block's part of it in order (measured: 3x faster than letting an
eighth of the block continue alone)."""


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
def search(
    columns: np.ndarray,
    queries: np.ndarray,
    threshold: int,
    start: int,
    stop: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every code of positions ``start`` to ``stop`` within ``threshold`` (Euclidean) of each query:
    (query, code position, distance rounded up). ``queries`` are int32 rows in the index's dimension
    order."""
    width = columns.shape[0]
    limit = np.int64(threshold) * np.int64(threshold)
    partial = np.empty(BLOCK, dtype=np.int32)
    out_query = np.empty(1024, dtype=np.int64)
    out_code = np.empty(1024, dtype=np.int64)
    out_distance = np.empty(1024, dtype=np.int64)
    found = 0
    for first in range(start, stop, BLOCK):
        size = min(stop, first + BLOCK) - first
        for q in range(queries.shape[0]):
            query = queries[q]
            for i in range(size):
                partial[i] = 0
            done = 0
            alive = size
            while done < width and alive > ALONE:
                end = min(width, done + STAGE)
                for k in range(done, end):
                    column = columns[k, first : first + size]
                    value = query[k]
                    for i in range(size):
                        diff = np.int32(column[i]) - value
                        partial[i] += diff * diff
                done = end
                alive = 0
                for i in range(size):
                    alive += partial[i] <= limit
            if alive == 0:
                continue
            for i in range(size):
                total = np.int64(partial[i])
                if total > limit:
                    continue
                code = first + i
                k = done
                while k < width and total <= limit:
                    diff = np.int64(columns[k, code]) - query[k]
                    total += diff * diff
                    k += 1
                if total > limit:
                    continue
                if found == out_query.shape[0]:
                    out_query = _grow(out_query, 2 * found)
                    out_code = _grow(out_code, 2 * found)
                    out_distance = _grow(out_distance, 2 * found)
                out_query[found] = q
                out_code[found] = code
                out_distance[found] = ceil_sqrt(total)
                found += 1
    return out_query[:found], out_code[:found], out_distance[:found]


@njit(inline="always")
def _grow(array: np.ndarray, capacity: int) -> np.ndarray:
    bigger = np.empty(capacity, dtype=array.dtype)
    bigger[: array.shape[0]] = array
    return bigger
