"""Published indexes on disk, and the set a server answers from, swapped atomically on publish.

The index directory (a machine's cache of versions; see :mod:`indexer.store`) holds one
sub-directory per version and a pointer::

    CURRENT                     the version this machine last published (replaced by an atomic rename)
    <version>/manifest.json     what the version holds: per type entry counts, size and SHA-256 of every
                                file, and the caller's metadata
    <version>/<type>/           one matcher index directory per hash type (memory-mapped when served)

A version directory is written under a temporary name and renamed into place, and only then does
``CURRENT`` move: a crash at any point leaves the previous version served. Servers poll the
database for the newest publication (``source``; ``CURRENT`` without one) and load a new version
beside the old one; requests in flight finish on the set they started with.
A version is verified against its manifest's checksums before it is served (see
:class:`indexer.watcher.IndexWatcher`).
"""

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from indexer.checksums import MANIFEST, check_sizes, file_checksums, verify_version
from indexer.errors import VersionRefused
from matcher import Index, Matches, load_index
from matcher.codes import Codes
from matcher.storage import fsync_path

POINTER = "CURRENT"
REBUILD_HINT = "'hashmatch lists publish' rebuilds it"

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int, int], ...]
"""(relative path, inode, size, mtime) of a directory and every file under it: what changes when a
file is truncated, written or replaced, found without reading a byte."""


def write_version(
    index_dir: Path,
    version: str,
    indexes: Mapping[str, Index],
    meta: Mapping[str, Any],
    *,
    replace_damaged: bool = False,
) -> Path:
    """Write ``version`` completely (and durably) without serving it, unless it is already on disk.

    With ``replace_damaged`` a version already on disk (which failed verification) is replaced: the new
    one is written under a temporary name, then the old directory is renamed aside and the new one
    into place (two atomic renames: a reader sees the old files, none, or the new ones), then the old
    one is deleted. A server still mapping the old files keeps reading them until it lets them go."""
    if not version or "/" in version or version.startswith("."):
        raise ValueError(f"invalid version name {version!r}")
    index_dir.mkdir(parents=True, exist_ok=True)
    target = index_dir / version
    if target.exists() and not replace_damaged:
        return target
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
            "files": file_checksums(staging),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        fsync_path(staging / MANIFEST)
        fsync_path(staging)
        aside = index_dir / f".{version}.damaged-{uuid.uuid4().hex[:8]}"
        if target.exists():
            target.rename(aside)
        staging.rename(target)
        fsync_path(index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
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


def read_manifest(index_dir: Path, version: str) -> dict[str, Any]:
    """The manifest of ``version``; :class:`VersionRefused` if it is missing or unreadable."""
    try:
        manifest = json.loads((index_dir / version / MANIFEST).read_text())
    except FileNotFoundError:
        raise VersionRefused(version, [f"{version}/{MANIFEST}: missing"]) from None
    except (OSError, ValueError) as error:
        raise VersionRefused(version, [f"{version}/{MANIFEST}: cannot be read ({error})"]) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("types"), dict):
        raise VersionRefused(version, [f"{version}/{MANIFEST}: not an index manifest"])
    return manifest


def check_version(index_dir: Path, version: str) -> list[str]:
    """Every problem of ``version`` on disk in words (none: its files are whole and as published)."""
    try:
        manifest = read_manifest(index_dir, version)
    except VersionRefused as refused:
        return list(refused.problems)
    return [f"{version}/{problem}" for problem in verify_version(index_dir / version, manifest)]


def versions_newest_first(index_dir: Path) -> list[str]:
    """The version directories on disk, the newest publication first (by the manifest's
    ``published_at``; by the directory's time where it has none)."""

    def published(path: Path) -> datetime:
        try:
            return datetime.fromisoformat(json.loads((path / MANIFEST).read_text())["published_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return datetime.fromtimestamp(path.stat().st_mtime, UTC)

    if not index_dir.is_dir():
        return []  # nothing published on this machine yet
    found = [path for path in index_dir.iterdir() if path.is_dir() and not path.name.startswith(".")]
    return [path.name for path in sorted(found, key=published, reverse=True)]


def prune(index_dir: Path, keep: int = 3, *, protect: str | None = None, staging_age: float = 0) -> list[str]:
    """Delete all but the ``keep`` newest versions (never ``protect``, by default the one ``CURRENT``
    names) and staging directories untouched for ``staging_age`` seconds (abandoned: a process that
    is not the only writer passes the age after which no download or publish can still be under way).
    Servers that still map a deleted version keep reading it until they let it go."""
    current = protect or served_version(index_dir)
    versions = [name for name in versions_newest_first(index_dir) if name != current]
    removed = versions[max(keep - 1, 0) :]
    before = time.time() - staging_age
    removed += [
        path.name
        for path in index_dir.iterdir()
        if path.is_dir() and path.name.startswith(".") and path.stat().st_mtime <= before
    ]
    for name in removed:
        shutil.rmtree(index_dir / name, ignore_errors=True)
    return removed


def fingerprint(directory: Path) -> Fingerprint:
    """See :data:`Fingerprint`; empty if ``directory`` does not exist."""
    found: list[tuple[str, int, int, int]] = []
    try:
        for path in [directory, *sorted(directory.rglob("*"))]:
            stat = path.stat()
            found.append(
                (path.relative_to(directory).as_posix(), stat.st_ino, stat.st_size, stat.st_mtime_ns)
            )
    except FileNotFoundError:
        return ()
    return tuple(found)


@dataclass(frozen=True)
class ServedIndexes:
    """One published version, loaded: what a request searches from start to end."""

    version: str
    indexes: Mapping[str, Index]
    manifest: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def open(
        cls, index_dir: Path, version: str | None = None, *, verify: bool = False
    ) -> "ServedIndexes | None":
        """The served version (or ``version``), memory-mapped; None before the first publish.

        The size of every file is checked against the manifest before anything is mapped (reading past
        the end of a mapped file is SIGBUS); with ``verify`` every file's SHA-256 too. A version that
        fails raises :class:`VersionRefused`."""
        version = version or served_version(index_dir)
        if version is None:
            return None
        directory = index_dir / version
        manifest = read_manifest(index_dir, version)
        problems = verify_version(directory, manifest) if verify else check_sizes(directory, manifest)
        if problems:
            raise VersionRefused(version, [f"{version}/{problem}" for problem in problems])
        try:
            indexes = {name: load_index(directory / name) for name in manifest["types"]}
        except (OSError, ValueError, RuntimeError) as error:
            # matcher errors name absolute paths: say them relative to the index directory
            said = str(error).replace(f"{index_dir.resolve()}/", "").replace(f"{index_dir}/", "")
            raise VersionRefused(version, [said]) from error
        return cls(version, indexes, manifest)

    @property
    def published_at(self) -> datetime | None:
        """When the version was published (from its manifest), if it says."""
        try:
            return datetime.fromisoformat(str(self.manifest["published_at"]))
        except (KeyError, ValueError):
            return None

    def search(self, hash_type: str, codes: Codes, threshold: int) -> Matches:
        """Every entry of ``hash_type`` within ``threshold`` of each code (none if no list has that type)."""
        index = self.indexes.get(hash_type)
        if index is None:
            return Matches.empty()
        return index.search(codes, threshold)


def _write_pointer(index_dir: Path, version: str) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{POINTER}.", dir=index_dir)
    with os.fdopen(fd, "w") as stream:
        stream.write(version + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, index_dir / POINTER)
    fsync_path(index_dir)
