"""What every index answers, and reading any index back from its directory."""

from pathlib import Path
from typing import Protocol

from matcher.codes import Codes
from matcher.errors import IndexFileError
from matcher.euclidean import EuclideanIndex
from matcher.exact import ExactIndex
from matcher.hamming import HammingIndex
from matcher.matches import Matches
from matcher.storage import read_description


class Index(Protocol):
    """An immutable searchable set of (entry id, code) pairs of one hash type."""

    kind: str
    name: str
    max_threshold: int

    @property
    def entry_count(self) -> int: ...

    @property
    def unique_count(self) -> int: ...

    def search(self, queries: Codes, threshold: int, *, threads: int | None = None) -> Matches:
        """Every entry within ``threshold`` of each row of ``queries``."""
        ...

    def save(self, directory: Path) -> None:
        """Write the index to a new directory, atomically."""
        ...


_KINDS: dict[str, type[HammingIndex] | type[ExactIndex] | type[EuclideanIndex]] = {
    HammingIndex.kind: HammingIndex,
    ExactIndex.kind: ExactIndex,
    EuclideanIndex.kind: EuclideanIndex,
}


def load_index(directory: Path | str) -> Index:
    """Open a saved index; its arrays are memory-mapped, so this takes milliseconds at any size."""
    directory = Path(directory)
    meta = read_description(directory)
    kind = _KINDS.get(meta.get("kind", ""))
    if kind is None:
        raise IndexFileError(f"{directory} holds an index of unknown kind {meta.get('kind')!r}")
    try:
        return kind.load(directory, meta)
    except (KeyError, TypeError, ValueError) as error:
        raise IndexFileError(f"{directory} is not a complete index: {error!r}") from error
