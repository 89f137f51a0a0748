"""Exact near-duplicate search over hash lists.

The matching core: hash types (parsing, distance, default thresholds), and indexes that return every
list entry within a threshold of a query hash. This package imports nothing else of the project.
"""

from matcher.errors import (
    IndexFileError,
    InvalidHash,
    InvalidHashes,
    InvalidThreshold,
    MatcherError,
    UnknownHashType,
)
from matcher.index import Index, load_index
from matcher.matches import Matches
from matcher.storage import FORMAT_VERSION as INDEX_FORMAT_VERSION
from matcher.types import HASH_TYPES, VPDQ, HashType, get_hash_type

__all__ = [
    "HASH_TYPES",
    "INDEX_FORMAT_VERSION",
    "VPDQ",
    "HashType",
    "Index",
    "IndexFileError",
    "InvalidHash",
    "InvalidHashes",
    "InvalidThreshold",
    "MatcherError",
    "Matches",
    "UnknownHashType",
    "get_hash_type",
    "load_index",
]
