"""Publishing: build one index per hash type over the active entries of every list, and serve it.

A publish takes each list at its newest version (or, for the lists not asked for, at the version
already served), and names the result by its content: a digest of the list versions and thresholds.
Steps and what a crash (even ``kill -9``) at each leaves:

1. build the indexes in memory                  -> nothing changed
2. write the index version directory into this machine's cache (staging, fsync, rename:
   :func:`indexer.serving.write_version`)        -> an unserved directory, reused or pruned later
3. upload it to the index store (file by file, manifest last; nothing to do when the store is the
   local index directory: :class:`indexer.store.IndexStore`) -> an incomplete or unused version there
4. one DB transaction: record the :class:`Publication`, mark its list versions published, and call
   ``on_entries_removed`` (notices withdrawn) -> rolled back as a whole
5. move this machine's ``CURRENT`` (:func:`indexer.serving.serve`) and prune its cache

**Rule: the newest committed publication is what is served**: every server polls the database for
it and downloads its version from the store (:mod:`indexer.replica`). The commit (4) is the
decision to publish, made only once the version is whole in the store. ``CURRENT`` is this
machine's hint of the last version it finished publishing (what tools reading an index directory
without a database serve); a crash between 4 and 5 leaves it behind, and the next publish first
finishes that (and makes sure the newest publication's version is whole in the cache and in the
store, built again from the database if it is not). Publishers are serialised by a database lock
(:func:`db.locks.database_lock`), held for the whole publish, on every machine.

A version directory on disk is trusted only if it verifies against its manifest's checksums: when
the one to serve is missing or damaged, it is downloaded again from the store or built again from
the database under the same name and replaces the damaged directory atomically.
"""

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from db.base import utcnow
from db.locks import PUBLISH, database_lock
from db.models import HashList, ListVersion, Publication
from indexer import serving
from indexer.entryrows import iter_active, iter_frames
from indexer.errors import VersionRefused
from indexer.store import IndexStore
from matcher import INDEX_FORMAT_VERSION, VPDQ, Index, get_hash_type
from matcher.frames import Frames, decode_frames

EntriesRemoved = Callable[[Session, Sequence[int]], None]
"""Called inside the publish transaction with the ids of entries that stop being served."""

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
    store: IndexStore | None = None,
) -> PublishResult:
    """Serve the newest version of ``lists`` (default: every list) with the others as served.

    ``index_dir`` is this machine's cache of versions, and the store itself without ``store``.
    Returns what is served afterwards; ``changed`` is False if that was already served.
    """
    store = store or IndexStore()
    with database_lock(sessions.kw["bind"], PUBLISH, "publish", index_dir):
        finished, repaired = _finish_interrupted(sessions, index_dir, store)
        with sessions() as session:
            served = newest_publication(session)
            previous = served.version if served is not None else None
            target = dict(_mapping(served))
            query = select(ListVersion.list_id, ListVersion.id).join(
                HashList, HashList.id == ListVersion.list_id
            )
            query = query.where(ListVersion.number == HashList.latest_version)
            if lists is not None:
                query = query.where(ListVersion.list_id.in_(list(lists)))
            target.update((row[0], row[1]) for row in session.execute(query))
            version = content_version(session, target)
            if version == previous:
                result = _result(index_dir, changed=False, finished=finished)
                result.repaired = repaired
                return result
            record = session.scalar(select(Publication).where(Publication.version == version))
            published = record.created_at if record is not None else utcnow()
            repaired = _ensure_stored(session, index_dir, store, version, target, published)
        manifest = serving.read_manifest(index_dir, version)
        with sessions.begin() as session:  # the commit is the decision: every server serves it next
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
        result = _result(index_dir, changed=True, finished=finished)
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
    from matcher.video import VideoIndex  # noqa: PLC0415 (FAISS and numba only where indexes are built)

    versions = {list_id: session.get(ListVersion, version_id) for list_id, version_id in target.items()}
    totals: dict[str, int] = {}
    for version in versions.values():
        assert version is not None
        for name, count in version.types.items():
            totals[name] = totals.get(name, 0) + count
    # one array per type, filled list by list: no copy of all codes at once
    codes = {
        name: np.empty((total, get_hash_type(name).nbytes), np.uint8)
        for name, total in totals.items()
        if not isinstance(get_hash_type(name), VPDQ)
    }
    ids = {name: np.empty(total, np.int64) for name, total in totals.items()}
    filled = dict.fromkeys(totals, 0)
    lists: dict[str, dict[str, Any]] = {}
    videos: dict[str, list[Frames]] = {name: [] for name in totals if isinstance(get_hash_type(name), VPDQ)}
    connection = session.connection()
    for list_id, version in sorted(versions.items()):
        hash_list = session.get(HashList, list_id)
        assert hash_list is not None, f"list {list_id} vanished"
        assert version is not None
        used: dict[str, int] = {}
        for name in sorted(version.types):
            hash_type = get_hash_type(name)
            if isinstance(hash_type, VPDQ):
                for part_ids, blobs in iter_frames(connection, list_id, version.id, name):
                    ids[name][filled[name] : filled[name] + part_ids.size] = part_ids
                    videos[name] += [decode_frames(blob) for blob in blobs]
                    filled[name] += part_ids.size
            else:
                for part_ids, values, _ in iter_active(
                    connection, list_id, version.id, name, with_meta=False
                ):
                    start, end = filled[name], filled[name] + part_ids.size
                    ids[name][start:end] = part_ids
                    codes[name][start:end] = np.frombuffer(values, dtype=np.uint8).reshape(part_ids.size, -1)
                    filled[name] = end
            used[name] = hash_type.list_threshold(hash_list.thresholds)
        lists[str(list_id)] = {"version": version.id, "thresholds": used}
    if filled != totals:
        raise RuntimeError(
            f"stored entries disagree with the version counts: read {filled}, expected {totals}"
        )
    search = {
        name: max(found["thresholds"].get(name, 0) for found in lists.values()) for name in sorted(totals)
    }
    indexes: dict[str, Index] = {}
    for name in sorted(totals):
        hash_type = get_hash_type(name)
        indexes[name] = (
            VideoIndex.build(name, hash_type.max_threshold, videos.pop(name), ids.pop(name), search[name])
            if isinstance(hash_type, VPDQ)
            else hash_type.build_index(codes.pop(name), ids.pop(name), search[name])
        )
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


def newest_publication(session: Session) -> Publication | None:
    """The publication every server serves: the newest committed one (None before the first)."""
    return session.scalar(select(Publication).order_by(Publication.id.desc()).limit(1))


def newest_version(sessions: sessionmaker[Session]) -> str | None:
    """The name of the index version to serve, by one small query (what each server polls)."""
    with sessions() as session:
        return session.scalar(select(Publication.version).order_by(Publication.id.desc()).limit(1))


def served_list_versions(session: Session) -> dict[int, int]:
    """List id -> list version id of what is served (empty before the first publish)."""
    return _mapping(newest_publication(session))


def unserved_publication(session: Session, index_dir: Path) -> Publication | None:
    """The newest publication, if this machine's ``CURRENT`` does not name it: a publish here was
    interrupted after its commit (servers serve it already; the next publish finishes the rest)."""
    newest = newest_publication(session)
    if newest is None or newest.version == serving.served_version(index_dir):
        return None
    return newest


def _finish_interrupted(
    sessions: sessionmaker[Session], index_dir: Path, store: IndexStore
) -> tuple[bool, bool]:
    """Finish the newest committed publication if a crash stopped it before ``CURRENT`` moved, and
    have its version whole in the cache and in the store (built again if need be). Returns (it was
    interrupted, a damaged copy was replaced)."""
    with sessions() as session:
        newest = newest_publication(session)
        if newest is None:
            return False, False
        pending = newest.version != serving.served_version(index_dir)
        whole = not serving.check_version(index_dir, newest.version)
        if not pending and whole and (store.has(newest.version) or not store.shared):
            return False, False
        repaired = _ensure_stored(
            session, index_dir, store, newest.version, _mapping(newest), newest.created_at
        )
    serving.serve(index_dir, newest.version)
    return pending, repaired


def _ensure_stored(
    session: Session,
    index_dir: Path,
    store: IndexStore,
    version: str,
    target: Mapping[int, int],
    published: datetime,
) -> bool:
    """Have ``version`` whole in the local cache and in the store: downloaded if the store has it,
    else built from the database; uploaded unless the store has it. True if a damaged copy (in the
    cache or the store) was replaced."""
    problems = serving.check_version(index_dir, version)
    damaged = bool(problems) and (index_dir / version).exists()
    in_store = store.has(version)
    if problems and in_store:
        try:
            store.download(version, index_dir, replace=True)
            problems = []
        except VersionRefused as refused:
            problems, damaged = list(refused.problems), True
    if problems:
        _rebuild(session, index_dir, version, target, published, damaged, problems)
    store.upload(index_dir / version, version, replace=in_store and damaged)
    return damaged


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
