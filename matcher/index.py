"""What every index answers, and reading any index back from its directory.

The index classes are imported when an index is loaded: FAISS and the compiled kernels (numba) take about a
second to import, which commands that never search (``hashmatch types``, ``lists show``) should not pay.
"""

from pathlib import Path
from typing import Protocol

from matcher.codes import Codes
from matcher.errors import IndexFileError
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


def load_index(directory: Path | str) -> Index:
    """Open a saved index; its arrays are memory-mapped, so this takes milliseconds at any size."""
    from matcher.euclidean import EuclideanIndex  # noqa: PLC0415 (see the module's docstring)
    from matcher.exact import ExactIndex  # noqa: PLC0415
    from matcher.hamming import HammingIndex  # noqa: PLC0415
    from matcher.video import VideoIndex  # noqa: PLC0415

    directory = Path(directory)
    meta = read_description(directory)
    kinds: dict[str, type[HammingIndex] | type[ExactIndex] | type[EuclideanIndex] | type[VideoIndex]] = {
        HammingIndex.kind: HammingIndex,
        ExactIndex.kind: ExactIndex,
        EuclideanIndex.kind: EuclideanIndex,
        VideoIndex.kind: VideoIndex,
    }
    kind = kinds.get(meta.get("kind", ""))
    if kind is None:
        raise IndexFileError(f"{directory} holds an index of unknown kind {meta.get('kind')!r}")
    try:
        return kind.load(directory, meta)
    except (KeyError, TypeError, ValueError) as error:
        raise IndexFileError(f"{directory} is not a complete index: {error!r}") from error
