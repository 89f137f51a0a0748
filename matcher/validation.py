"""Checks shared by every index: query arrays, thresholds, thread counts."""

import os

import numpy as np

from matcher.codes import Codes
from matcher.errors import InvalidThreshold


def check_queries(name: str, queries: Codes, nbytes: int) -> None:
    """Queries must be a ``(n, nbytes)`` uint8 array: parse hash text with the hash type first."""
    if not isinstance(queries, np.ndarray) or queries.dtype != np.uint8 or queries.ndim != 2:
        raise TypeError(f"{name} codes must be a 2-d uint8 array, got {type(queries).__name__}")
    if queries.shape[1] != nbytes:
        raise ValueError(f"{name} codes have {nbytes} bytes, got rows of {queries.shape[1]}")


def check_threshold(name: str, threshold: object, maximum: int) -> int:
    """``threshold`` as an int if it is a whole number from 0 to ``maximum``."""
    if isinstance(threshold, int | np.integer) and not isinstance(threshold, bool):
        value = int(threshold)
        if 0 <= value <= maximum:
            return value
    raise InvalidThreshold(name, threshold, maximum)


def default_threads(threads: int | None) -> int:
    """Worker threads for a batch: as asked, else every core this process may use."""
    if threads is not None:
        return max(1, threads)
    return max(1, len(os.sched_getaffinity(0)))
