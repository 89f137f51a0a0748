"""The index a server answers from: :class:`IndexWatcher` keeps the newest published version loaded,
verified before it is swapped in, and says in :class:`ServingState` what it serves and what it refused."""

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from db.base import utcnow
from db.periodic import Periodic
from indexer.errors import VersionRefused
from indexer.serving import (
    POINTER,
    REBUILD_HINT,
    Fingerprint,
    ServedIndexes,
    fingerprint,
    served_version,
    versions_newest_first,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """A version that was not served, and why (file names relative to the index directory)."""

    version: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ServingState:
    """What a server answers from and why: ``ok`` (the version ``CURRENT`` names), ``degraded``
    (another version, because that one was refused or ``CURRENT`` is missing) or ``unavailable``."""

    served: ServedIndexes | None = None
    since: datetime | None = None
    pointer: str | None = None
    refused: tuple[Refusal, ...] = ()
    fingerprint: Fingerprint = ()

    @property
    def status(self) -> str:
        if self.served is None:
            return "unavailable"
        return "ok" if self.served.version == self.pointer else "degraded"

    def describe(self) -> str:
        """One sentence for people: what is served, and why not what was published."""
        why = "; ".join(f"version {r.version} was refused: {'; '.join(r.problems)}" for r in self.refused)
        if self.served is None:
            if not why:
                return "no index has been published yet"
            return f"no index version can be served: {why}; {REBUILD_HINT}"
        published = self.served.published_at
        when = f" (published {published.isoformat()})" if published else ""
        if self.status == "ok":
            return f"serving index version {self.served.version}{when}"
        if self.pointer is None:
            return (
                f"serving index version {self.served.version}{when}, the newest good one kept, because "
                f"{POINTER} is missing{'; ' + why if why else ''}; 'hashmatch lists publish' writes it again"
            )
        pointed = next((r for r in self.refused if r.version == self.pointer), None)
        because = (
            f"the published version {self.pointer} was refused: {'; '.join(pointed.problems)}"
            if pointed
            else why
        )
        rest = "; ".join(
            f"version {r.version} was refused: {'; '.join(r.problems)}"
            for r in self.refused
            if r is not pointed
        )
        return (
            f"serving the older index version {self.served.version}{when} because {because}"
            f"{'; ' + rest if rest else ''}; {REBUILD_HINT}"
        )


class IndexWatcher:
    """Keeps the newest good published version loaded, in a background thread (never on a request).

    Every ``interval`` seconds it asks ``source`` which version to serve (the app's source polls the
    database and downloads the version from the index store into ``index_dir``, see
    :class:`indexer.replica.PublishedVersion`; a refused download keeps the previous version
    served and is shown in :attr:`state`; without a source: ``CURRENT``) and looks at the served
    version's files (a stat of each: a file truncated, written or replaced under the server changes
    its fingerprint). A new version, or a served one whose files changed, is verified against its
    manifest's checksums before it is mapped, and swapped in beside the old one. A version that
    fails is refused: the previous good version goes on serving, or if there is none (at start, or
    the served one was damaged), the newest good version kept on disk (a fallback, logged and shown
    by ``/readyz``).
    A refusal is remembered with the version's fingerprint, so a refused version is hashed again
    only once its files change. A version in ``verified`` (the source's last download, verified
    before it was renamed into the cache) is mapped without hashing it again while its files keep
    the fingerprint they had then: :attr:`hashed` counts the versions hashed here."""

    def __init__(
        self,
        index_dir: Path,
        interval: float = 2.0,
        on_swap: Callable[[ServedIndexes], None] | None = None,
        source: Callable[[], str | None] | None = None,
        verified: Mapping[str, Fingerprint] | None = None,
    ) -> None:
        self.index_dir = index_dir
        self.source = source
        self.interval = interval
        self.on_swap = on_swap
        self.verified = verified if verified is not None else {}
        self.verifications = 0
        self.hashed = 0
        self._state = ServingState()
        self._refusals: dict[str, tuple[Fingerprint, tuple[str, ...]]] = {}
        self._periodic = Periodic("index-watcher", interval, self.check)
        self._lock = threading.Lock()

    @property
    def current(self) -> ServedIndexes | None:
        return self._state.served

    @property
    def state(self) -> ServingState:
        return self._state

    def start(self) -> None:
        """Load the served version now, then look for new ones every ``interval`` seconds."""
        self.check()
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def check(self) -> bool:
        """Serve the best good version (see the class); True if the served set was swapped."""
        with self._lock:
            before = self._state
            pointer, fetched = self._published(before.pointer)
            current = before.served
            intact = (
                current is not None and fingerprint(self.index_dir / current.version) == before.fingerprint
            )
            refused: list[Refusal] = [fetched] if fetched is not None else []
            chosen: tuple[ServedIndexes, Fingerprint] | None = None
            if intact and current is not None and current.version == pointer:
                chosen = (current, before.fingerprint)
            elif pointer is not None and fetched is None:
                chosen = self._try(pointer, refused)
            if chosen is None and intact and current is not None:
                chosen = (current, before.fingerprint)  # the previous good version stays served
            if chosen is None:
                for name in versions_newest_first(self.index_dir):
                    if name != pointer and (chosen := self._try(name, refused)) is not None:
                        break
            self._forget_gone()
            swapped = chosen is not None and chosen[0] is not current
            if chosen is None:
                state = ServingState(None, None, pointer, tuple(refused))
            else:
                since = utcnow() if swapped else before.since
                state = ServingState(chosen[0], since, pointer, tuple(refused), chosen[1])
            self._state = state
        if state.status != before.status or swapped or (current is not None and state.served is None):
            level = logging.INFO if state.status == "ok" else logging.ERROR
            log.log(level, "index: %s", state.describe())
        if swapped and self.on_swap is not None and state.served is not None:
            self.on_swap(state.served)
        return swapped

    def _published(self, last: str | None) -> tuple[str | None, Refusal | None]:
        """The version to serve (from ``source``, else ``CURRENT``), and why it cannot be had if its
        download was refused. A source that fails (the database is away) leaves ``last``."""
        if self.source is None:
            return served_version(self.index_dir), None
        try:
            return self.source(), None
        except VersionRefused as refused:
            return refused.version, Refusal(refused.version, refused.problems)
        except Exception:
            log.exception("index: cannot learn the published version; still on %s", last)
            return last, None

    def _try(self, version: str, refused: list[Refusal]) -> tuple[ServedIndexes, Fingerprint] | None:
        """``version`` verified and loaded, with its fingerprint; None if refused (added to ``refused``)."""
        seen = fingerprint(self.index_dir / version)
        remembered = self._refusals.get(version)
        if remembered is not None and remembered[0] == seen:
            refused.append(Refusal(version, remembered[1]))
            return None
        self.verifications += 1
        vouched = self.verified.get(version) == seen  # downloaded, verified and unchanged since
        self.hashed += not vouched
        try:
            loaded = ServedIndexes.open(self.index_dir, version, verify=not vouched)
        except VersionRefused as error:
            problems = error.problems
        except Exception as error:  # a version that cannot be loaded must not stop the server
            problems = (f"{version}: cannot be loaded ({type(error).__name__})",)
        else:
            assert loaded is not None
            if fingerprint(self.index_dir / version) == seen:
                return loaded, seen
            problems = ("its files changed while they were verified",)  # try again at the next poll
            refused.append(Refusal(version, problems))
            return None
        self._refusals[version] = (seen, problems)
        refused.append(Refusal(version, problems))
        log.error("index version %s refused: %s", version, "; ".join(problems))
        return None

    def _forget_gone(self) -> None:
        for version in list(self._refusals):
            if not (self.index_dir / version).exists():
                del self._refusals[version]
