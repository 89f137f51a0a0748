"""What every server serves: the newest publication in the database, fetched from the index store.

Each server (every worker of every replica) polls the database for the newest publication's version
(one small query every ``index_poll_seconds``). A version not yet in its local cache is downloaded
from the store, verified against its manifest and renamed into the cache
(:meth:`indexer.store.IndexStore.download`); the :class:`indexer.watcher.IndexWatcher` then swaps
it in. A refused download keeps the previous version serving and is tried again only once the
version's objects in the store change.
"""

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from indexer import serving
from indexer.checksums import MANIFEST
from indexer.errors import VersionRefused
from indexer.publishing import newest_version
from indexer.serving import Fingerprint
from indexer.store import IndexStore, RemoteState

ABANDONED_AFTER = 3600.0
"""Seconds after which a staging directory in the cache is taken for abandoned (another worker of
this machine may be downloading into one)."""


class PublishedVersion:
    """The ``source`` of an :class:`indexer.watcher.IndexWatcher` (see the module)."""

    def __init__(
        self, sessions: sessionmaker[Session], store: IndexStore, cache_dir: Path, keep: int = 3
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.cache_dir = cache_dir
        self.keep = keep
        self._refused: dict[str, tuple[RemoteState, tuple[str, ...]]] = {}
        self.verified: dict[str, Fingerprint] = {}
        """The version this process last downloaded, with the fingerprint of its files once verified
        and renamed into the cache: the watcher maps them without hashing them again while it holds."""

    def __call__(self) -> str | None:
        """The version to serve, in the cache; :class:`VersionRefused` if it cannot be had whole."""
        version = newest_version(self.sessions)
        if version is None or not self.store.shared or (self.cache_dir / version / MANIFEST).is_file():
            return version
        state = self.store.state(version)
        remembered = self._refused.get(version)
        if remembered is not None and remembered[0] == state:
            raise VersionRefused(version, remembered[1])
        try:
            placed = self.store.download(version, self.cache_dir)
        except VersionRefused as refused:
            self._refused = {version: (state, refused.problems)}
            raise
        self.verified.clear()
        self.verified[version] = placed.fingerprint
        self._refused.pop(version, None)
        serving.prune(self.cache_dir, self.keep, protect=version, staging_age=ABANDONED_AFTER)
        return version
