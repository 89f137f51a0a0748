"""Published indexes on disk, and the set a server answers from, swapped atomically on publish.

The index directory holds one sub-directory per published version and a pointer to the one served::

    CURRENT                     name of the served version (replaced by an atomic rename)
    <version>/manifest.json     what the version holds: per type entry counts, and the caller's metadata
    <version>/<type>/           one matcher index directory per hash type (memory-mapped when served)

A version directory is written under a temporary name and renamed into place, and only then does
``CURRENT`` move: a crash at any point leaves the previous version served. Servers poll ``CURRENT``
and load a new version beside the old one; requests in flight finish on the set they started with.
"""

import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.periodic import Periodic
from matcher import Index, Matches, load_index
from matcher.codes import Codes
from matcher.storage import fsync_path

POINTER = "CURRENT"
MANIFEST = "manifest.json"

log = logging.getLogger(__name__)


def write_version(
    index_dir: Path, version: str, indexes: Mapping[str, Index], meta: Mapping[str, Any]
) -> Path:
    """Write ``version`` completely (and durably) without serving it, unless it is already on disk."""
    if not version or "/" in version or version.startswith("."):
        raise ValueError(f"invalid version name {version!r}")
    index_dir.mkdir(parents=True, exist_ok=True)
    target = index_dir / version
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=index_dir))
        try:
            for name, index in indexes.items():
                index.save(staging / name)
            manifest = {
                "version": version,
                "types": {
                    name: {"entries": index.entry_count, "unique": index.unique_count}
                    for name, index in indexes.items()
                },
                **meta,
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            fsync_path(staging / MANIFEST)
            fsync_path(staging)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def serve(index_dir: Path, version: str) -> None:
    """Point ``CURRENT`` at ``version``, which must be completely written."""
    if not (index_dir / version / MANIFEST).is_file():
        raise FileNotFoundError(f"{index_dir / version} is not a complete index version")
    _write_pointer(index_dir, version)


def served_version(index_dir: Path) -> str | None:
    """The name of the version ``CURRENT`` points at, or None before the first publish."""
    try:
        return (index_dir / POINTER).read_text().strip() or None
    except FileNotFoundError:
        return None


def prune(index_dir: Path, keep: int = 3) -> list[str]:
    """Delete all but the ``keep`` newest versions (never the served one) and abandoned staging
    directories. Servers that still map a deleted version keep reading it until they let it go."""
    current = served_version(index_dir)
    versions = sorted(
        (path for path in index_dir.iterdir() if path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    removed = []
    kept = 0
    for path in versions:
        if path.name == current:
            continue
        if not path.name.startswith(".") and kept < keep - 1:
            kept += 1
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


@dataclass(frozen=True)
class ServedIndexes:
    """One published version, loaded: what a request searches from start to end."""

    version: str
    indexes: Mapping[str, Index]
    manifest: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, index_dir: Path, version: str | None = None) -> "ServedIndexes | None":
        """The served version (or ``version``), memory-mapped; None before the first publish."""
        version = version or served_version(index_dir)
        if version is None:
            return None
        directory = index_dir / version
        manifest = json.loads((directory / MANIFEST).read_text())
        indexes = {name: load_index(directory / name) for name in manifest["types"]}
        return cls(version, indexes, manifest)

    def search(self, hash_type: str, codes: Codes, threshold: int) -> Matches:
        """Every entry of ``hash_type`` within ``threshold`` of each code (none if no list has that type)."""
        index = self.indexes.get(hash_type)
        if index is None:
            return Matches.empty()
        return index.search(codes, threshold)


class IndexWatcher:
    """Keeps the newest published version loaded: polls ``CURRENT`` every ``interval`` seconds in a
    background thread, loads a new version beside the old one and swaps the reference. A version
    that fails to load is logged and the previous one goes on serving."""

    def __init__(
        self,
        index_dir: Path,
        interval: float = 2.0,
        on_swap: Callable[[ServedIndexes], None] | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.interval = interval
        self.on_swap = on_swap
        self.last_error: str | None = None
        self._current: ServedIndexes | None = None
        self._periodic = Periodic("index-watcher", interval, self.check)
        self._lock = threading.Lock()

    @property
    def current(self) -> ServedIndexes | None:
        return self._current

    def start(self) -> None:
        """Load the served version now, then look for new ones every ``interval`` seconds."""
        self.check()
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def check(self) -> bool:
        """Load the served version if it is not the one loaded; True if it swapped."""
        with self._lock:
            version = served_version(self.index_dir)
            if version is None or (self._current is not None and self._current.version == version):
                return False
            try:
                loaded = ServedIndexes.open(self.index_dir, version)
            except Exception as error:  # a broken version must not stop the server: keep the old one
                self.last_error = f"version {version} could not be loaded: {error}"
                log.error(self.last_error)
                return False
            if loaded is None:
                return False
            self._current = loaded
            self.last_error = None
        if self.on_swap is not None:
            self.on_swap(loaded)
        log.info("serving index version %s", version)
        return True


def _write_pointer(index_dir: Path, version: str) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{POINTER}.", dir=index_dir)
    with os.fdopen(fd, "w") as stream:
        stream.write(version + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, index_dir / POINTER)
    fsync_path(index_dir)
