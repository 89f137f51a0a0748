"""Hash lists and their versions: create, import (full replace or delta), retract.

Every change of a list is one immutable :class:`ListVersion`, written in one database transaction:
a crash leaves the list as it was. An import is first planned by comparing the file with the list
(reads only, :func:`plan_import`); writing it (:func:`apply_import`) starts by bumping
``hash_lists.latest_version``, which takes the list's write lock (a row lock on PostgreSQL, the
database lock on SQLite), so changes of one list are serialised, and a plan made before another
change committed is refused. Entries are never deleted: a version that removes one sets its
``removed_in``; the entries of a list at version ``v`` are those with ``added_in <= v`` and
``removed_in`` NULL or ``> v`` (version ids grow with their numbers).

An entry is identified by (hash type, value, item, category, quality, variant). A full import keeps the
entries the new file still holds (same ids: notices keep resting on them), adds the new ones and
removes the others as "replaced"; the comparison is one sort of the old and new rows together. An
import that changes nothing makes no version, and a full import without a valid row (which would
empty the list) is refused unless ``allow_empty``. Reading, comparing and writing the entry rows
themselves is :mod:`indexer.entryrows`; making and reading the versions, :mod:`indexer.versions`.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Entry, HashList, ListVersion, Organisation, VideoMatch
from indexer.entryrows import (
    BATCH,
    Active,
    Ids,
    active_entries,
    diff,
    insert_entries,
    mark_removed,
    matching,
    store_frames,
)
from indexer.errors import EmptyImport, ImportRejected, InvalidList, ListChanged, NotFound, UnknownEntries
from indexer.listfile import ListFile, Meta, TypedHashes
from indexer.versions import finish_version, new_version, types_at, version_at
from matcher import VPDQ, MatcherError, get_hash_type

Mode = Literal["full", "delta", "retract"]
OWNERS = ("hotline",)
"""The role whose organisations own lists (and alone see and change their own)."""
DEFAULT_VIDEO_PERCENT = (80, 80)
"""vPDQ: 80 % of the query's frames match, 80 % of the listed video's frames matched (HMA's figures)."""


@dataclass
class ImportResult:
    """What an import did. ``version``: the version it made or, if it changed nothing
    (``changed`` false), the list's newest (None if the list has none). ``not_found``: retractions that
    matched no active entry."""

    version: ListVersion | None
    changed: bool = True
    added: dict[str, int] = field(default_factory=dict)
    removed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    not_found: int = 0
    skipped: int = 0
    low_quality: int = 0
    ignored_columns: list[str] = field(default_factory=list)


def create_list(
    session: Session,
    organisation: str,
    name: str,
    *,
    description: str = "",
    default_category: str | None = None,
    legal_basis: str = "",
    thresholds: Mapping[str, int] | None = None,
    notice_deadline_hours: int = 24,
    video_percent: tuple[int, int] = (80, 80),
) -> HashList:
    """A new, empty list of the hotline ``organisation``. ``video_percent``: the shares (percent) of
    the query video's frames and of the listed video's frames a vPDQ match needs."""
    owner = session.scalar(select(Organisation).where(Organisation.name == organisation))
    if owner is None:
        raise NotFound(f"no organisation named {organisation!r} (create it with 'hashmatch orgs create')")
    if owner.role not in OWNERS:
        raise InvalidList(
            f"organisation {organisation!r} is a {owner.role}, not a hotline: it cannot own lists"
        )
    if not name.strip() or "/" in name:
        raise InvalidList(f"invalid list name {name!r}: expected a non-empty name without '/'")
    if session.scalar(select(HashList).where(HashList.organisation_id == owner.id, HashList.name == name)):
        raise InvalidList(f"{organisation} already has a list named {name!r}")
    if not 1 <= notice_deadline_hours <= 24 * 14:
        raise InvalidList(f"notice deadline {notice_deadline_hours} h: expected 1 to {24 * 14} hours")
    if not all(isinstance(p, int) and 1 <= p <= 100 for p in video_percent):
        raise InvalidList(f"video percentages {video_percent}: expected two whole numbers from 1 to 100")
    checked: dict[str, int] = {}
    for type_name, threshold in (thresholds or {}).items():
        try:
            hash_type = get_hash_type(type_name)
            checked[hash_type.name] = hash_type.check_threshold(threshold)
        except MatcherError as error:
            raise InvalidList(str(error)) from error
    hash_list = HashList(
        organisation_id=owner.id,
        name=name,
        description=description,
        default_category=default_category,
        legal_basis=legal_basis,
        thresholds=checked,
        notice_deadline_hours=notice_deadline_hours,
    )
    session.add(hash_list)
    session.flush()
    if tuple(video_percent) != DEFAULT_VIDEO_PERCENT:
        session.add(
            VideoMatch(list_id=hash_list.id, query_percent=video_percent[0], listed_percent=video_percent[1])
        )
        session.flush()
    return hash_list


def video_percentages(session: Session, list_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Each list's vPDQ percentages (query's frames, listed video's frames): its own or the default."""
    wanted = sorted(set(list_ids))
    found = {
        row.list_id: (row.query_percent, row.listed_percent)
        for row in session.scalars(select(VideoMatch).where(VideoMatch.list_id.in_(wanted)))
    }
    return {list_id: found.get(list_id, DEFAULT_VIDEO_PERCENT) for list_id in wanted}


def find_list(session: Session, ref: str) -> HashList:
    """The list ``ref`` names: ``ORGANISATION/NAME``, a list id, or a name no other list has."""
    query = select(HashList).join(Organisation, Organisation.id == HashList.organisation_id)
    if ref.isdigit():
        found = list(session.scalars(query.where(HashList.id == int(ref))))
    elif "/" in ref:
        organisation, _, name = ref.partition("/")
        found = list(session.scalars(query.where(Organisation.name == organisation, HashList.name == name)))
    else:
        found = list(session.scalars(query.where(HashList.name == ref)))
        if len(found) > 1:
            raise NotFound(f"several organisations have a list named {ref!r}: write ORGANISATION/{ref}")
    if not found:
        raise NotFound(f"no list {ref!r} (see 'hashmatch lists show')")
    return found[0]


def lists_of(session: Session, organisation_id: int) -> list[HashList]:
    """The lists an organisation (a hotline) owns, by name: the only ones it may see or change."""
    query = select(HashList).where(HashList.organisation_id == organisation_id).order_by(HashList.name)
    return list(session.scalars(query))


def list_label(session: Session, hash_list: HashList) -> str:
    owner = session.get(Organisation, hash_list.organisation_id)
    return f"{owner.name if owner else '?'}/{hash_list.name}"


def import_list(
    session: Session,
    hash_list: HashList,
    found: ListFile,
    *,
    mode: Mode,
    source: str,
    skip_bad: bool = False,
    allow_empty: bool = False,
    reason: str = "",
) -> ImportResult:
    """Make ``found`` (a validated file) the list's next version: "full" replaces the list, "delta"
    adds rows and retracts those marked ``retract``, "retract" retracts every row. Bad lines reject
    the whole file unless ``skip_bad``; a full import without a valid row is refused unless
    ``allow_empty``; an import that changes nothing makes no version. The caller commits the session."""
    plan = plan_import(session, hash_list, found, mode, source, skip_bad=skip_bad, allow_empty=allow_empty)
    return apply_import(session, plan, reason)


@dataclass
class ImportPlan:
    """What an import will write, worked out from the list's newest version ``base`` without taking
    the list's write lock (reading and comparing take most of an import's time)."""

    hash_list: HashList
    found: ListFile
    mode: Mode
    source: str
    base: int
    previous: dict[str, int]
    metas: list[Meta]
    inserts: list[tuple[TypedHashes, Ids, npt.NDArray[np.int32]]] = field(default_factory=list)
    removed: dict[str, Ids] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    duplicates: int = 0
    not_found: int = 0


def plan_import(
    session: Session,
    hash_list: HashList,
    found: ListFile,
    mode: Mode,
    source: str,
    *,
    skip_bad: bool = False,
    allow_empty: bool = False,
) -> ImportPlan:
    """Compare ``found`` with the list's newest version; nothing is written."""
    if found.bad_lines and not skip_bad:
        raise ImportRejected(source, found)
    for name, typed in sorted(found.by_type.items()):
        if mode != "retract" and not typed.retract.all() and name not in hash_list.thresholds:
            try:
                typed.hash_type.list_threshold(hash_list.thresholds)
            except MatcherError as error:
                raise InvalidList(
                    f"{source}: list {list_label(session, hash_list)} has {name} rows but {error}; "
                    f"create the list with --threshold {name}=N"
                ) from error
    base = session.scalar(select(HashList.latest_version).where(HashList.id == hash_list.id)) or 0
    previous = types_at(session, hash_list.id, base)
    if not found.valid_rows and mode == "full" and not allow_empty:
        raise EmptyImport(source, sum(previous.values()))
    metas, remap = _with_default_category(found.metas, hash_list.default_category)
    plan = ImportPlan(hash_list, found, mode, source, base, previous, metas)
    for name in sorted(set(found.by_type) | set(previous)):
        current = (
            active_entries(session.connection(), hash_list.id, name, metas)
            if name in previous
            else Active.empty(get_hash_type(name).nbytes)
        )
        gone: list[Ids] = []
        rows = found.by_type.get(name)
        if rows is None:
            if mode == "full":
                gone.append(current.ids)
        else:
            meta = remap[rows.meta]
            retract = np.ones_like(rows.retract) if mode == "retract" else rows.retract
            if retract.any():
                hit, matched = matching(current.codes, rows.codes[retract])
                plan.not_found += int((~matched).sum())
                gone.append(current.ids[hit])
                current = current.without(hit)
            adds = ~retract
            new, kept, duplicates = diff(current, rows.codes[adds], meta[adds])
            plan.duplicates += duplicates
            plan.unchanged += int(kept.sum())
            if mode == "full":
                gone.append(current.ids[~kept])
            plan.inserts.append((rows, np.flatnonzero(adds)[new], meta))
            plan.added[name] = int(new.size)
        plan.removed[name] = np.concatenate([np.empty(0, np.int64), *gone])
    if mode == "retract" and not any(ids.size for ids in plan.removed.values()):
        which = "its hash is not" if found.valid_rows == 1 else f"none of its {found.valid_rows} hashes is"
        raise NotFound(f"{source}: {which} an active entry of the list")
    return plan


def apply_import(session: Session, plan: ImportPlan, reason: str = "") -> ImportResult:
    """Write a plan as the list's next version, under the list's write lock. Raises
    :class:`ListChanged` (nothing written) if another version was made since the plan. A plan that
    adds and removes nothing writes nothing."""
    hash_list = plan.hash_list
    if not any(plan.added.values()) and not any(ids.size for ids in plan.removed.values()):
        return _result(plan, version_at(session, hash_list.id, plan.base), 0, changed=False)
    version = new_version(session, hash_list, plan.mode, plan.source, reason)
    if version.number != plan.base + 1:
        raise ListChanged(
            f"list {list_label(session, hash_list)} got version {version.number - 1} from another change "
            "while this import was prepared: nothing was imported, run it again"
        )
    for rows, picked, meta in plan.inserts:
        insert_entries(session.connection(), hash_list.id, version.id, rows, picked, meta, plan.metas)
        if isinstance(rows.hash_type, VPDQ):
            store_frames(session, rows.codes[picked], plan.found.frames)
    gone = np.concatenate([np.empty(0, np.int64), *plan.removed.values()])
    mark_removed(session.connection(), gone, version.id, "replaced" if plan.mode == "full" else "retracted")
    removed = {name: int(ids.size) for name, ids in plan.removed.items()}
    finish_version(session, version, plan.previous, plan.added, removed, plan.found.bad_lines)
    return _result(plan, version, int(gone.size))


def preview_import(session: Session, plan: ImportPlan) -> ImportResult:
    """What :func:`apply_import` would make of ``plan``, without writing: ``version`` is the list's
    newest now, ``changed`` whether the import would make a new one."""
    removed = sum(int(ids.size) for ids in plan.removed.values())
    changed = bool(removed or any(plan.added.values()))
    return _result(plan, version_at(session, plan.hash_list.id, plan.base), removed, changed=changed)


def _result(
    plan: ImportPlan, version: ListVersion | None, removed: int, *, changed: bool = True
) -> ImportResult:
    return ImportResult(
        version,
        changed,
        added=plan.added,
        removed=removed,
        unchanged=plan.unchanged,
        duplicates=plan.duplicates,
        not_found=plan.not_found,
        skipped=plan.found.bad_lines,
        low_quality=plan.found.low_quality,
        ignored_columns=plan.found.ignored_columns,
    )


def retract_entries(session: Session, list_id: int, entry_ids: Sequence[int], reason: str) -> ListVersion:
    """Retract active entries of a list (false positives, a withdrawn notice) as a new version.

    They stop matching from the next publish. Raises :class:`UnknownEntries` (nothing written) if
    any id is not an active entry of the list. The caller commits the session.
    """
    hash_list = session.get(HashList, list_id)
    if hash_list is None:
        raise NotFound(f"no list with id {list_id}")
    version = new_version(session, hash_list, "retract", "", reason)
    wanted = np.unique(np.asarray(entry_ids, dtype=np.int64))
    active: list[int] = []
    removed: dict[str, int] = {}
    for start in range(0, wanted.size, BATCH):
        part = [int(entry) for entry in wanted[start : start + BATCH]]
        for entry_id, hash_type in session.execute(
            select(Entry.id, Entry.hash_type).where(
                Entry.list_id == list_id, Entry.removed_in.is_(None), Entry.id.in_(part)
            )
        ):
            active.append(entry_id)
            removed[hash_type] = removed.get(hash_type, 0) + 1
    missing = np.setdiff1d(wanted, np.asarray(active, dtype=np.int64))
    if missing.size or not wanted.size:
        raise UnknownEntries(list_label(session, hash_list), [int(entry) for entry in missing])
    mark_removed(session.connection(), wanted, version.id, "retracted")
    finish_version(session, version, types_at(session, list_id, version.number - 1), {}, removed, 0)
    return version


def _with_default_category(
    metas: list[Meta], default: str | None
) -> tuple[list[Meta], npt.NDArray[np.int32]]:
    """The file's metas with the list's default category filled in, and old index -> new index."""
    merged: dict[Meta, int] = {}
    remap = np.empty(len(metas), dtype=np.int32)
    for index, meta in enumerate(metas):
        filled = meta if meta.category is not None else meta._replace(category=default)
        remap[index] = merged.setdefault(filled, len(merged))
    return list(merged), remap
