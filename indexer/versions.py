"""A list's versions (``list_versions`` rows): making the next one, whose counter bump takes the list's
write lock, recording its counts per hash type, and reading them.

Every change of a list (:mod:`indexer.lists`: an import, a retraction) makes one immutable version;
its ``types`` hold the active entries per hash type at that version, so counts never need the entries
themselves.
"""

from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import HashList, ListVersion


def versions_of(session: Session, list_id: int) -> list[ListVersion]:
    """Every version of the list, oldest first."""
    return list(
        session.scalars(
            select(ListVersion).where(ListVersion.list_id == list_id).order_by(ListVersion.number)
        )
    )


def latest_version(session: Session, list_id: int) -> ListVersion | None:
    """The list's newest version (None if it has none)."""
    return session.scalar(
        select(ListVersion).where(ListVersion.list_id == list_id).order_by(ListVersion.number.desc()).limit(1)
    )


def active_by_type(session: Session, list_id: int, version_id: int | None = None) -> dict[str, int]:
    """Entry counts per hash type at ``version_id`` (default: the newest version)."""
    version = (
        session.get(ListVersion, version_id) if version_id is not None else latest_version(session, list_id)
    )
    return dict(sorted(version.types.items())) if version is not None else {}


def new_version(session: Session, hash_list: HashList, mode: str, source: str, reason: str) -> ListVersion:
    """The list's next version; bumping the counter first takes the list's write lock."""
    session.execute(
        update(HashList).where(HashList.id == hash_list.id).values(latest_version=HashList.latest_version + 1)
    )
    session.refresh(hash_list)
    version = ListVersion(
        list_id=hash_list.id, number=hash_list.latest_version, mode=mode, source=source, reason=reason
    )
    session.add(version)
    session.flush()
    return version


def version_at(session: Session, list_id: int, number: int) -> ListVersion | None:
    """The list's version ``number`` (None before the first)."""
    return session.scalar(
        select(ListVersion).where(ListVersion.list_id == list_id, ListVersion.number == number)
    )


def types_at(session: Session, list_id: int, number: int) -> dict[str, int]:
    """Active entries per type at the list's version ``number`` (none before the first)."""
    found = session.scalar(
        select(ListVersion.types).where(ListVersion.list_id == list_id, ListVersion.number == number)
    )
    return dict(found or {})


def finish_version(
    session: Session,
    version: ListVersion,
    previous: Mapping[str, int],
    added: Mapping[str, int],
    removed: Mapping[str, int],
    skipped: int,
) -> None:
    """Record on ``version`` what it changed: the active entries per type (``previous`` plus ``added``
    minus ``removed``), their totals and the file's ``skipped`` bad lines."""
    types = {
        name: previous.get(name, 0) + added.get(name, 0) - removed.get(name, 0)
        for name in sorted(set(previous) | set(added) | set(removed))
    }
    version.types = {name: count for name, count in types.items() if count}
    version.added, version.removed = sum(added.values()), sum(removed.values())
    version.entries, version.skipped = sum(types.values()), skipped
    session.flush()
