"""Publishing: build one index per hash type over the active entries of every list, and serve it.

A publish takes each list at its newest version (or, for the lists not asked for, at the version
already served), and names the result by its content: a digest of the list versions and thresholds.
Steps and what a crash (even ``kill -9``) at each leaves:

1. build the indexes in memory                  -> nothing changed
2. write the index version directory (staging,
   fsync, rename: :func:`indexer.serving.write_version`) -> an unserved directory, reused or pruned later
3. one DB transaction: record the :class:`Publication`, mark its list versions published, and call
   ``on_entries_removed`` (notices withdrawn) -> rolled back as a whole
4. move ``CURRENT`` (:func:`indexer.serving.serve`)

**Rule: the ``CURRENT`` pointer is the truth of what is served**, and the publication it names says
which list versions that is. The DB commit (3) is the decision to publish; a crash between 3 and 4
leaves a committed publication that is not served yet, and the next publish first finishes it
(its directory was complete before the commit) before doing anything else. Publishers on one
machine are serialised by a lock file in the index directory.

A version directory on disk is trusted only if it verifies against its manifest's checksums: when
the one to serve (the served one, or the newest publication's) is missing or damaged, it is built
again from the database under the same name and replaces the damaged directory atomically.
"""

import fcntl
import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from db.base import utcnow
from db.models import HashList, ListVersion, Publication
from indexer import serving
from indexer.lists import iter_active
from matcher import INDEX_FORMAT_VERSION, Index, get_hash_type

EntriesRemoved = Callable[[Session, Sequence[int]], None]
"""Called inside the publish transaction with the ids of entries that stop being served."""

LOCK = ".publish.lock"
FORMAT = 1

log = logging.getLogger(__name__)


@dataclass
class PublishResult:
    """What is served after a publish; ``changed``: a new version was published by this call."""

    version: str
    changed: bool
    list_versions: dict[int, int] = field(default_factory=dict)
    entries: dict[str, int] = field(default_factory=dict)
    search_thresholds: dict[str, int] = field(default_factory=dict)
    removed: int = 0
    finished_interrupted: bool = False
    repaired: bool = False
    """The version's directory was on disk but failed verification, and was built again."""


def publish(
    sessions: sessionmaker[Session],
    index_dir: Path,
    *,
    lists: Sequence[int] | None = None,
    on_entries_removed: EntriesRemoved | None = None,
    keep: int = 3,
) -> PublishResult:
    """Serve the newest version of ``lists`` (default: every list) with the others as served.

    Returns what is served afterwards; ``changed`` is False if that was already served.
    """
    with _publish_lock(index_dir):
        finished = _finish_interrupted(sessions, index_dir)
        previous = serving.served_version(index_dir)
        with sessions() as session:
            served = _served_publication(session, index_dir)
            target = dict(_mapping(served))
            query = select(ListVersion.list_id, ListVersion.id).join(
                HashList, HashList.id == ListVersion.list_id
            )
            query = query.where(ListVersion.number == HashList.latest_version)
            if lists is not None:
                query = query.where(ListVersion.list_id.in_(list(lists)))
            target.update((row[0], row[1]) for row in session.execute(query))
            version = content_version(session, target)
            problems = serving.check_version(index_dir, version)
            repaired = bool(problems) and (version == previous or (index_dir / version).exists())
            if version == previous and not problems:
                return _result(index_dir, changed=False, finished=finished)
            record = session.scalar(select(Publication).where(Publication.version == version))
            published = record.created_at if record is not None else utcnow()
            if problems:
                _rebuild(session, index_dir, version, target, published, repaired, problems)
        manifest = serving.read_manifest(index_dir, version)
        with sessions.begin() as session:
            removed = removed_entries(session, _mapping(served), target)
            record = session.scalar(select(Publication).where(Publication.version == version))
            if record is None:
                record = Publication(
                    version=version,
                    list_versions={
                        str(list_id): version_id for list_id, version_id in sorted(target.items())
                    },
                    search_thresholds=manifest["search_thresholds"],
                    entries=sum(int(counts["entries"]) for counts in manifest["types"].values()),
                    removed=len(removed),
                    created_at=published,
                )
                session.add(record)
            session.execute(
                update(ListVersion)
                .where(ListVersion.id.in_(list(target.values())), ListVersion.published_at.is_(None))
                .values(published_at=published)
            )
            if on_entries_removed is not None and removed:
                on_entries_removed(session, removed)
        serving.serve(index_dir, version)
        serving.prune(index_dir, keep)
        result = _result(index_dir, changed=version != previous, finished=finished)
        result.removed = len(removed)
        result.repaired = repaired
        return result


def content_version(session: Session, target: Mapping[int, int]) -> str:
    """The name of the index version serving ``target`` (list id -> list version id).

    A digest of what decides the content: the index file format (a program that writes another
    format publishes afresh), each list version (id and creation time, which no other
    database shares, so a stale directory of a former database is never taken for this one) and the
    lists' thresholds. The same state always gets the same name: publishing it again is a no-op."""
    thresholds: dict[int, dict[str, Any]] = {
        row[0]: row[1]
        for row in session.execute(
            select(HashList.id, HashList.thresholds).where(HashList.id.in_(list(target)))
        )
    }
    created: dict[int, datetime] = {
        row[0]: row[1]
        for row in session.execute(
            select(ListVersion.id, ListVersion.created_at).where(ListVersion.id.in_(list(target.values())))
        )
    }
    content = {
        "format": FORMAT,
        "index_format": INDEX_FORMAT_VERSION,
        "lists": [
            [list_id, version_id, created[version_id].isoformat(), thresholds[list_id]]
            for list_id, version_id in sorted(target.items())
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def build_indexes(session: Session, target: Mapping[int, int]) -> tuple[dict[str, Index], dict[str, Any]]:
    """One index per hash type over the entries of each list at its version in ``target``, and the
    manifest metadata: per type the largest threshold a list with entries of that type uses (the
    threshold to search at), and per list its version and thresholds (to filter matches by)."""
    versions = {list_id: session.get(ListVersion, version_id) for list_id, version_id in target.items()}
    totals: dict[str, int] = {}
    for version in versions.values():
        assert version is not None
        for name, count in version.types.items():
            totals[name] = totals.get(name, 0) + count
    # one array per type, filled list by list: no copy of all codes at once
    codes = {name: np.empty((total, get_hash_type(name).nbytes), np.uint8) for name, total in totals.items()}
    ids = {name: np.empty(total, np.int64) for name, total in totals.items()}
    filled = dict.fromkeys(totals, 0)
    lists: dict[str, dict[str, Any]] = {}
    connection = session.connection()
    for list_id, version in sorted(versions.items()):
        hash_list = session.get(HashList, list_id)
        assert hash_list is not None, f"list {list_id} vanished"
        assert version is not None
        used: dict[str, int] = {}
        for name in sorted(version.types):
            hash_type = get_hash_type(name)
            for part_ids, values, _ in iter_active(connection, list_id, version.id, name, with_meta=False):
                start, end = filled[name], filled[name] + part_ids.size
                ids[name][start:end] = part_ids
                codes[name][start:end] = np.frombuffer(values, dtype=np.uint8).reshape(part_ids.size, -1)
                filled[name] = end
            used[name] = int(hash_list.thresholds.get(name, hash_type.default_threshold))
        lists[str(list_id)] = {"version": version.id, "thresholds": used}
    if filled != totals:
        raise RuntimeError(
            f"stored entries disagree with the version counts: read {filled}, expected {totals}"
        )
    search = {
        name: max(found["thresholds"].get(name, 0) for found in lists.values()) for name in sorted(codes)
    }
    indexes: dict[str, Index] = {}
    for name in sorted(codes):
        indexes[name] = get_hash_type(name).build_index(codes.pop(name), ids.pop(name), search[name])
    return indexes, {"search_thresholds": search, "lists": lists}


def removed_entries(session: Session, before: Mapping[int, int], after: Mapping[int, int]) -> list[int]:
    """Ids of entries served at the list versions ``before`` and no longer at ``after``."""
    removed: list[int] = []
    for list_id, old in sorted(before.items()):
        new = after.get(list_id, old)
        if new == old:
            continue
        removed += session.scalars(
            text(
                "SELECT id FROM entries WHERE list_id = :list AND added_in <= :old "
                "AND removed_in > :old AND removed_in <= :new ORDER BY id"
            ),
            {"list": list_id, "old": old, "new": new},
        )
    return removed


def served_list_versions(session: Session, index_dir: Path) -> dict[int, int]:
    """List id -> list version id of what ``CURRENT`` serves (empty before the first publish)."""
    return _mapping(_served_publication(session, index_dir))


def unserved_publication(session: Session, index_dir: Path) -> Publication | None:
    """The newest publication, if it was committed but is not served (a publish was interrupted)."""
    newest = session.scalar(select(Publication).order_by(Publication.id.desc()).limit(1))
    if newest is None or newest.version == serving.served_version(index_dir):
        return None
    return newest


def _finish_interrupted(sessions: sessionmaker[Session], index_dir: Path) -> bool:
    """Serve the newest committed publication if a crash stopped it before ``CURRENT`` moved."""
    with sessions() as session:
        pending = unserved_publication(session, index_dir)
        if pending is None:
            return False
        problems = serving.check_version(index_dir, pending.version)
        if problems:  # its files are gone or damaged: build them again from the recorded versions
            exists = (index_dir / pending.version).exists()
            _rebuild(
                session, index_dir, pending.version, _mapping(pending), pending.created_at, exists, problems
            )
    serving.serve(index_dir, pending.version)
    return True


def _rebuild(
    session: Session,
    index_dir: Path,
    version: str,
    target: Mapping[int, int],
    published: datetime,
    damaged: bool,
    problems: Sequence[str],
) -> None:
    """Build ``version`` from the database and write it, replacing a damaged directory of that name."""
    if damaged:
        log.warning("rebuilding damaged index version %s: %s", version, "; ".join(problems))
    indexes, info = build_indexes(session, target)
    meta = {**info, "published_at": published.isoformat()}
    serving.write_version(index_dir, version, indexes, meta, replace_damaged=True)


def _served_publication(session: Session, index_dir: Path) -> Publication | None:
    version = serving.served_version(index_dir)
    if version is None:
        return None
    return session.scalar(select(Publication).where(Publication.version == version))


def _mapping(publication: Publication | None) -> dict[int, int]:
    if publication is None:
        return {}
    return {int(list_id): int(version_id) for list_id, version_id in publication.list_versions.items()}


def _result(index_dir: Path, *, changed: bool, finished: bool) -> PublishResult:
    """What is served now, from its manifest."""
    served = serving.ServedIndexes.open(index_dir)
    if served is None:
        raise FileNotFoundError(f"{index_dir} serves no index version after a publish")
    manifest = served.manifest
    return PublishResult(
        served.version,
        changed,
        list_versions={int(key): int(found["version"]) for key, found in manifest.get("lists", {}).items()},
        entries={name: int(counts["entries"]) for name, counts in manifest["types"].items()},
        search_thresholds=dict(manifest.get("search_thresholds", {})),
        finished_interrupted=finished,
    )


@contextmanager
def _publish_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
