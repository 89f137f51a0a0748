"""A hotline's own lists, as the API and the console show and change them.

Every function takes the owning organisation's id: a list of another organisation is :class:`NotFound`
exactly like a list that does not exist (a hotline never learns that another's list exists). Changes
go through the same steps as ``hashmatch lists``: :func:`indexer.lists.import_list` (plan, then apply
under the list's write lock) and :func:`indexer.lists.retract_entries`; the caller commits.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import HashList, ListVersion
from indexer.errors import InvalidRetraction, NotFound
from indexer.formats import read_list
from indexer.listfile import ListFile
from indexer.lists import (
    ImportResult,
    Mode,
    import_list,
    lists_of,
    plan_import,
    preview_import,
    retract_entries,
)
from indexer.publishing import served_list_versions
from indexer.versions import versions_of


@dataclass(frozen=True)
class ListSummary:
    """One list as its hotline sees it: counts per hash type of its newest version, and which
    version the published index serves."""

    id: int
    name: str
    description: str
    default_category: str | None
    legal_basis: str
    notice_deadline_hours: int
    thresholds: dict[str, Any]
    entries: int
    types: dict[str, int]
    newest_version: int | None
    served_version: int | None


@dataclass(frozen=True)
class VersionSummary:
    number: int
    mode: str
    created_at: datetime
    added: int
    removed: int
    entries: int
    skipped: int
    published_at: datetime | None
    source: str
    reason: str
    served: bool


@dataclass(frozen=True)
class Retraction:
    """What a retraction made: the list's new version, and how many of the hashes asked for were no
    active entry (always 0 for entry ids: unknown ids refuse the whole retraction)."""

    version: ListVersion
    not_found: int = 0


def own_list(session: Session, organisation_id: int, ref: int | str) -> HashList:
    """The organisation's list ``ref`` (its id, as the console names it, or its name, as the API
    does); :class:`NotFound` if it has no such list: the one ownership rule, so another organisation's
    list is told apart from a missing one by neither."""
    column = HashList.id if isinstance(ref, int) else HashList.name
    found = session.scalar(select(HashList).where(HashList.organisation_id == organisation_id, column == ref))
    if found is None:
        raise NotFound(f"no list {ref!r}")
    return found


def own_list_ids(session: Session, organisation_id: int) -> list[int]:
    return list(
        session.scalars(
            select(HashList.id).where(HashList.organisation_id == organisation_id).order_by(HashList.id)
        )
    )


def own_lists(session: Session, organisation_id: int) -> list[ListSummary]:
    """The organisation's lists by name, each with its counts and served version."""
    served = _served_numbers(session)
    return [_summary(session, hash_list, served) for hash_list in lists_of(session, organisation_id)]


def list_versions(session: Session, hash_list: HashList) -> list[VersionSummary]:
    """Every version of the list, oldest first, marking the one the published index serves."""
    served = served_list_versions(session).get(hash_list.id)
    return [
        VersionSummary(
            number=version.number,
            mode=version.mode,
            created_at=version.created_at,
            added=version.added,
            removed=version.removed,
            entries=version.entries,
            skipped=version.skipped,
            published_at=version.published_at,
            source=version.source,
            reason=version.reason,
            served=version.id == served,
        )
        for version in versions_of(session, hash_list.id)
    ]


def read_upload(
    data: bytes, file_format: str, *, mode: Mode, allow_low_quality: bool, error_cap: int
) -> ListFile:
    """An uploaded list file, read and validated line by line as ``hashmatch lists import`` reads one
    (``action=retract`` rows only in a delta import)."""
    return read_list(
        io.BytesIO(data),
        file_format,
        allow_retract=mode == "delta",
        allow_low_quality=allow_low_quality,
        error_cap=error_cap,
    )


def import_upload(
    session: Session,
    hash_list: HashList,
    found: ListFile,
    *,
    mode: Mode,
    source: str,
    skip_bad: bool = False,
    allow_empty: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Import ``found`` as the list's next version; with ``dry_run``, only work out what the import
    would do with the file's valid lines (its bad lines are in ``found.errors``) and write nothing."""
    if dry_run:
        plan = plan_import(session, hash_list, found, mode, source, skip_bad=True, allow_empty=allow_empty)
        return preview_import(session, plan)
    return import_list(
        session, hash_list, found, mode=mode, source=source, skip_bad=skip_bad, allow_empty=allow_empty
    )


def retract(
    session: Session,
    hash_list: HashList,
    *,
    entry_ids: Sequence[int] = (),
    hashes: Sequence[tuple[str, str]] = (),
    reason: str,
) -> Retraction:
    """Retract entries of the list as a new version, named by id or by (hash type, value): they stop
    matching at the next publish, which withdraws the notices resting only on them. Unknown ids
    refuse the whole retraction (:class:`UnknownEntries`); hashes that are no active entry are
    counted, and a retraction that would remove nothing is refused (:class:`NotFound`)."""
    if bool(entry_ids) == bool(hashes):
        raise InvalidRetraction([(None, "entries", "give entry ids or hashes to retract (one of them)")])
    if entry_ids:
        version = retract_entries(session, hash_list.id, entry_ids, reason)
        return Retraction(version)
    lines = [f"{hash_type} {value}\n" for hash_type, value in hashes]
    found = read_list(lines, "plain", allow_retract=True, adding=False, error_cap=len(lines))
    if found.bad_lines:
        raise InvalidRetraction([(error.line - 1, "hashes", error.reason) for error in found.errors])
    result = import_list(session, hash_list, found, mode="retract", source="", reason=reason)
    assert result.version is not None  # a retraction that removes nothing is refused by plan_import
    return Retraction(result.version, result.not_found)


def _served_numbers(session: Session) -> dict[int, int]:
    """List id -> the number of the list's version the published index serves."""
    served = served_list_versions(session)
    if not served:
        return {}
    rows = session.execute(
        select(ListVersion.list_id, ListVersion.number).where(ListVersion.id.in_(list(served.values())))
    )
    return {int(row[0]): int(row[1]) for row in rows}


def _summary(session: Session, hash_list: HashList, served: dict[int, int]) -> ListSummary:
    newest = session.scalar(
        select(ListVersion).where(
            ListVersion.list_id == hash_list.id, ListVersion.number == hash_list.latest_version
        )
    )
    return ListSummary(
        id=hash_list.id,
        name=hash_list.name,
        description=hash_list.description,
        default_category=hash_list.default_category,
        legal_basis=hash_list.legal_basis,
        notice_deadline_hours=hash_list.notice_deadline_hours,
        thresholds=dict(hash_list.thresholds),
        entries=newest.entries if newest else 0,
        types=dict(sorted(newest.types.items())) if newest else {},
        newest_version=newest.number if newest else None,
        served_version=served.get(hash_list.id),
    )
