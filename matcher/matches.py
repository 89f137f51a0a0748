"""The answer of a search: every (query, entry) pair within the threshold, with its distance."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Int64s = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Matches:
    """Parallel arrays, ordered by query, then distance, then entry id.

    ``query`` is the position of the query hash in the searched batch, ``entry`` the opaque id the
    entry was indexed with and ``distance`` the number of differing bits (0 for equality types).
    """

    query: Int64s
    entry: Int64s
    distance: Int64s

    def __len__(self) -> int:
        return int(self.query.size)

    @classmethod
    def empty(cls) -> "Matches":
        none = np.empty(0, dtype=np.int64)
        return cls(none, none, none)

    @classmethod
    def ordered(cls, query: Int64s, entry: Int64s, distance: Int64s) -> "Matches":
        """Matches from unordered parallel arrays."""
        order = np.lexsort((entry, distance, query))
        return cls(query[order], entry[order], distance[order])

    def for_query(self, position: int) -> "Matches":
        """The matches of one query of the batch."""
        lo, hi = np.searchsorted(self.query, [position, position + 1])
        return Matches(self.query[lo:hi], self.entry[lo:hi], self.distance[lo:hi])
