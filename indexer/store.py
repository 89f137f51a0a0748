"""The index store: where published index versions live for every replica.

Empty URL (the default): the local index directory is the store (one machine, nothing copied). An
fsspec URL such as ``s3://bucket/prefix``: the publisher uploads each version there, file by file with
its manifest last (a version whose manifest is there is complete), and replicas download the version
the database names into their local cache, verify it against its manifest's checksums and only then
rename it into the cache. A version is immutable: one already in the store is never uploaded again
(unless it was found damaged).
"""

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from config.settings import Settings
from indexer.checksums import MANIFEST, verify_version
from indexer.errors import VersionRefused
from indexer.serving import Fingerprint, fingerprint
from matcher.storage import fsync_path

RemoteState = tuple[tuple[str, int, str], ...]
"""(object name, size, ETag or modification time) of each object of a version in the store."""


class Downloaded(NamedTuple):
    """Where a downloaded version is in the cache, and the fingerprint of the files it verified."""

    path: Path
    fingerprint: Fingerprint


class IndexStore:
    """Published versions, shared by every replica (see the module)."""

    def __init__(self, url: str = "", endpoint_url: str = "") -> None:
        self.url = url.rstrip("/")
        self._fs: Any = None
        self._root = ""
        if self.url:
            from fsspec.core import url_to_fs  # noqa: PLC0415  (only a shared store needs fsspec)

            options: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
            if endpoint_url and self.url.startswith("s3://"):
                options["endpoint_url"] = endpoint_url
            self._fs, self._root = url_to_fs(self.url, **options)

    @classmethod
    def from_settings(cls, settings: Settings) -> "IndexStore":
        return cls(settings.index_store, settings.s3_endpoint_url)

    @property
    def shared(self) -> bool:
        """False: the local index directory is the store."""
        return self._fs is not None

    def _path(self, version: str, name: str = "") -> str:
        return "/".join(part for part in (self._root, version, name) if part)

    def has(self, version: str) -> bool:
        """The version is complete in the store (its manifest is there)."""
        return self.shared and bool(self._fs.exists(self._path(version, MANIFEST)))

    def upload(self, directory: Path, version: str, *, replace: bool = False) -> bool:
        """Upload the complete version in ``directory`` unless it is there already (``replace``: again,
        over a damaged one). The manifest goes last and is removed first: until it is written, the
        version counts as absent. True if anything was uploaded."""
        if not self.shared or (self.has(version) and not replace):
            return False
        if replace and self.has(version):
            self._fs.rm_file(self._path(version, MANIFEST))
        names = sorted(json.loads((directory / MANIFEST).read_text())["files"])
        _put(self._fs, [str(directory / name) for name in names], [self._path(version, n) for n in names])
        _put(self._fs, [str(directory / MANIFEST)], [self._path(version, MANIFEST)])
        return True

    def state(self, version: str) -> RemoteState:
        """What identifies the version's objects now (one listing): a refused download is tried again
        only when this changes."""
        if not self.shared:
            return ()
        try:
            found = self._fs.find(self._path(version), detail=True)
        except FileNotFoundError:
            return ()
        return tuple(
            sorted(
                (str(name), int(info.get("size") or 0), str(info.get("ETag") or info.get("mtime") or ""))
                for name, info in found.items()
            )
        )

    def download(self, version: str, cache_dir: Path, *, replace: bool = False) -> "Downloaded":
        """Download ``version`` into ``cache_dir``: into a staging directory, verified against its
        manifest, then renamed into place (``replace``: over a damaged copy; else a copy another
        process put there meanwhile is kept). :class:`VersionRefused` if it
        is not complete in the store or fails verification; nothing is left behind then. The
        fingerprint returned is the verified staging copy's, taken before the rename (which keeps
        inodes, sizes and times): a kept copy of another process never has it."""
        if not self.shared:
            raise VersionRefused(version, [f"{version}: not in the index directory"])
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.download-", dir=cache_dir))
        try:
            manifest = self._fetch_manifest(version)
            names = sorted(manifest["files"])
            for name in names:
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
            reused = _link_cached(cache_dir, manifest, staging)
            self._get(version, staging, [name for name in names if name not in reused])
            problems = verify_version(staging, manifest)
            if problems and {problem.file for problem in problems} <= reused:  # a cached copy changed
                damaged = sorted(problem.file for problem in problems)
                for name in damaged:
                    (staging / name).unlink()
                self._get(version, staging, damaged)
                problems = verify_version(staging, manifest)
            if problems:
                raise VersionRefused(
                    version, [f"{version}/{problem} (in the index store)" for problem in problems]
                )
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            for path in staging.rglob("*"):
                fsync_path(path)
            fsync_path(staging)
            verified = fingerprint(staging)
            target = cache_dir / version
            if target.exists() and not replace:
                return Downloaded(target, verified)
            if target.exists():
                aside = Path(tempfile.mkdtemp(prefix=f".{version}.damaged-", dir=cache_dir))
                target.rename(aside / version)
                shutil.rmtree(aside, ignore_errors=True)
            staging.rename(target)
            fsync_path(cache_dir)
            return Downloaded(target, verified)
        except FileNotFoundError:
            raise VersionRefused(
                version, [f"{version}: a file its manifest lists is missing in the index store"]
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _get(self, version: str, staging: Path, names: list[str]) -> None:
        """Fetch the files ``names`` of ``version`` into ``staging`` (concurrently, by the client)."""
        if names:
            self._fs.get(
                [self._path(version, name) for name in names], [str(staging / name) for name in names]
            )

    def _fetch_manifest(self, version: str) -> Mapping[str, Any]:
        try:
            manifest = json.loads(self._fs.cat_file(self._path(version, MANIFEST)))
        except FileNotFoundError:
            raise VersionRefused(version, [f"{version}/{MANIFEST}: missing in the index store"]) from None
        except ValueError as error:
            raise VersionRefused(version, [f"{version}/{MANIFEST}: cannot be read ({error})"]) from None
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(files, dict):
            raise VersionRefused(version, [f"{version}/{MANIFEST}: lists no file checksums"])
        for name in files:
            relative = PurePosixPath(name)
            if relative.is_absolute() or ".." in relative.parts or not relative.parts or name == MANIFEST:
                raise VersionRefused(version, [f"{version}/{name}: not a file name inside the version"])
        return dict(manifest)


def _put(fs: Any, sources: list[str], targets: list[str]) -> None:
    """Upload local files (concurrently, by the filesystem's own client)."""
    if sources:
        fs.put(sources, targets)


def _link_cached(cache_dir: Path, manifest: Mapping[str, Any], staging: Path) -> set[str]:
    """Link into ``staging`` the files of ``manifest`` that a version already in the cache holds with
    the same size and SHA-256 (a publish rebuilds an unchanged type's files byte for byte); the names
    linked. They are verified with the rest of the download, as every file is."""
    held: dict[tuple[object, object], Path] = {}
    for directory in sorted(cache_dir.iterdir()):
        if directory.name.startswith(".") or not (directory / MANIFEST).is_file():
            continue
        try:
            files = json.loads((directory / MANIFEST).read_text()).get("files", {})
        except (OSError, ValueError, AttributeError):
            continue
        for name, listed in files.items():
            if isinstance(listed, Mapping):
                held.setdefault((listed.get("size"), listed.get("sha256")), directory / name)
    linked: set[str] = set()
    for name, listed in manifest["files"].items():
        source = held.get((listed.get("size"), listed.get("sha256"))) if isinstance(listed, Mapping) else None
        if source is None:
            continue
        try:
            os.link(source, staging / name)
        except OSError:  # gone meanwhile, or a file system without links: downloaded instead
            continue
        linked.add(name)
    return linked
