"""Compiling the search kernels before a server answers: its first search would otherwise compile them
(numba: 14 s on 2 cores) while the caller waits. Every kernel is compiled with ``cache=True``, so a
process loads what an earlier one compiled (``NUMBA_CACHE_DIR``) in about a second instead."""

import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from matcher.hamming import HammingIndex
from matcher.index import load_index
from matcher.types import get_hash_type

WARM_CODES = 64
WARM_LAYOUT = (4, 8)
"""Substring tables of the tiny index: 4 of 8 bits, so that its searches go through the tables."""


@cache
def warm_kernels() -> None:
    """Compile (or load from the cache) every kernel that publishing and serving a Hamming index call,
    with the argument types they have there: a served index's arrays are read-only memory maps, another
    type than freshly built arrays, so a tiny PDQ index is built, saved, loaded and searched. Once per
    process."""
    pdq = get_hash_type("pdq")
    codes = np.random.default_rng(0).integers(0, 256, (WARM_CODES, pdq.nbytes), dtype=np.uint8)
    ids = np.arange(WARM_CODES)
    HammingIndex.build(pdq.name, pdq.bits, pdq.max_threshold, codes, ids, pdq.default_threshold, 1)
    built = HammingIndex.build(
        pdq.name, pdq.bits, pdq.max_threshold, codes, ids, pdq.default_threshold, 1, WARM_LAYOUT
    )
    with tempfile.TemporaryDirectory(prefix="hashmatch-warm-") as directory:
        built.save(Path(directory) / pdq.name)
        loaded = load_index(Path(directory) / pdq.name)
        loaded.search(codes[:2], pdq.default_threshold, threads=1)
