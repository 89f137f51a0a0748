"""Notices as each organisation may see them, one at a time or as pages.

- a **hoster** sees its own notices: location, signals, confidence, list names, category, legal basis,
  deadline, status and history; never an entry, an entry hash, an item or a distance (nothing that helps
  reconstruct a list);
- a **hotline** sees the notices resting on its lists, with its own matched entries in full (hash,
  item, category, distance); entries of other hotlines' lists appear by list name only;
- the **authority** and the **operator** (admin) see every notice in full.

Pages are ordered newest first by id, with a cursor naming the last id seen: notices created while a
client pages through appear before its first page, never inside it, so nothing is skipped or repeated.
"""

import base64
import binascii
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.orm import Session

from db.models import (
    MAX_ID,
    STATUSES,
    UNSEEN_BY_HOSTER,
    Entry,
    HashList,
    Notice,
    NoticeEvent,
    NoticeMatch,
    Organisation,
)
from notices.access import SEE_ALL, can_see, owned_list_ids, visible_to
from notices.errors import InvalidRequest, NotAllowed, NoticeNotFound

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_CURSOR_PREFIX = b"notice:"


@dataclass(frozen=True)
class NoticeFilters:
    """Every field narrows the list; unset fields don't. ``created_to`` is exclusive. ``overdue``: open
    or overdue with the deadline passed at ``now`` (True), or not (False)."""

    status: tuple[str, ...] = ()
    hoster_id: int | None = None
    list_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    overdue: bool | None = None
    binding_order: bool | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    """Pass it back for the next page; None on the last page."""


def get_notice(session: Session, public_id: str, viewer: Organisation) -> Notice:
    """The notice ``public_id`` if ``viewer`` may see it; otherwise ``NoticeNotFound`` (whether it exists
    is not revealed)."""
    notice = session.scalar(select(Notice).where(Notice.public_id == public_id, visible_to(viewer)))
    if notice is None:
        raise NoticeNotFound(public_id)
    return notice


def notice_view(session: Session, notice: Notice, viewer: Organisation) -> dict[str, Any]:
    """One notice as ``viewer`` may see it, JSON-ready."""
    if not can_see(session, notice, viewer):
        raise NotAllowed("see notice", "it is neither yours nor on your lists")
    return render(session, [notice], viewer)[0]


def list_notices(
    session: Session,
    viewer: Organisation,
    filters: NoticeFilters,
    *,
    now: datetime,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """The notices ``viewer`` may see that pass ``filters``, newest first, ``limit`` per page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest("limit", f"expected 1 to {MAX_LIMIT}, got {limit}")
    query = select(Notice).where(visible_to(viewer), *_conditions(filters, now))
    if cursor is not None:
        query = query.where(Notice.id < _decode_cursor(cursor))
    notices = session.scalars(query.order_by(Notice.id.desc()).limit(limit + 1)).all()
    more = len(notices) > limit
    notices = notices[:limit]
    return Page(
        items=render(session, notices, viewer),
        next_cursor=_encode_cursor(notices[-1].id) if more else None,
    )


SORTS = {
    "newest": (Notice.id.desc(),),
    "oldest": (Notice.id.asc(),),
    "deadline": (Notice.deadline.asc(), Notice.id.asc()),
}
"""The orders a numbered table of notices can take (the console's inbox)."""


@dataclass(frozen=True)
class Table:
    items: list[dict[str, Any]]
    total: int
    """How many notices pass the filters in all (for page numbers)."""


def table_of_notices(
    session: Session,
    viewer: Organisation,
    filters: NoticeFilters,
    *,
    now: datetime,
    sort: str = "newest",
    offset: int = 0,
    limit: int = DEFAULT_LIMIT,
) -> Table:
    """The notices ``viewer`` may see that pass ``filters``, in the order ``sort`` names, ``limit`` from
    ``offset`` (numbered pages for people; programs page with the cursor of :func:`list_notices`)."""
    if sort not in SORTS:
        raise InvalidRequest("sort", f"expected one of {', '.join(SORTS)}, got {sort!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest("limit", f"expected 1 to {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise InvalidRequest("offset", f"expected 0 or more, got {offset}")
    conditions = [visible_to(viewer), *_conditions(filters, now)]
    total = session.scalar(select(func.count()).select_from(Notice).where(*conditions)) or 0
    notices = session.scalars(
        select(Notice).where(*conditions).order_by(*SORTS[sort]).offset(offset).limit(limit)
    ).all()
    return Table(items=render(session, notices, viewer), total=total)


def render(session: Session, notices: Sequence[Notice], viewer: Organisation) -> list[dict[str, Any]]:
    """The views of ``notices`` for ``viewer`` (who may see them all), in a few queries for the batch."""
    ids = [notice.id for notice in notices]
    matches: dict[int, list[tuple[NoticeMatch, HashList, Entry]]] = defaultdict(list)
    for match, hash_list, entry in session.execute(
        select(NoticeMatch, HashList, Entry)
        .join(HashList, HashList.id == NoticeMatch.list_id)
        .join(Entry, Entry.id == NoticeMatch.entry_id)
        .where(NoticeMatch.notice_id.in_(ids))
        .order_by(NoticeMatch.id)
    ):
        matches[match.notice_id].append((match, hash_list, entry))
    events: dict[int, list[NoticeEvent]] = defaultdict(list)
    for event in session.scalars(
        select(NoticeEvent).where(NoticeEvent.notice_id.in_(ids)).order_by(NoticeEvent.at, NoticeEvent.id)
    ):
        events[event.notice_id].append(event)
    org_ids = {notice.hoster_id for notice in notices} | {
        event.actor_id for history in events.values() for event in history if event.actor_id is not None
    }
    orgs = {org.id: org for org in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))}
    if viewer.role in SEE_ALL:
        full_lists = {hash_list.id for rows in matches.values() for _, hash_list, _ in rows}
    elif viewer.role == "hotline":
        full_lists = owned_list_ids(session, ids, viewer)
    else:
        full_lists = set()
    return [
        _view(notice, matches[notice.id], events[notice.id], orgs, full_lists, viewer.role != "hoster")
        for notice in notices
    ]


def _history(history: list[NoticeEvent], *, hoster: bool) -> list[tuple[NoticeEvent, str, str]]:
    """Each event with the action and reason its viewer sees. A hoster sees nothing of a review: its
    notice begins when the hotline confirmed it, shown as created (as its webhook says)."""
    if not hoster:
        return [(event, event.action, event.reason) for event in history]
    return [
        (event, "created", "") if event.action == "confirmed" else (event, event.action, event.reason)
        for event in history
        if event.status not in UNSEEN_BY_HOSTER
    ]


def _view(
    notice: Notice,
    matches: list[tuple[NoticeMatch, HashList, Entry]],
    history: list[NoticeEvent],
    orgs: dict[int, Organisation],
    full_lists: set[int],
    with_matches: bool,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": notice.public_id,
        "hoster": orgs[notice.hoster_id].name,
        "ref": notice.ref,
        "status": notice.status,
        "confidence": notice.confidence,
        "signals": list(notice.signals),
        "lists": sorted({hash_list.name for _, hash_list, _ in matches}),
        "category": notice.category,
        "legal_basis": notice.legal_basis,
        "created_at": notice.created_at.isoformat(),
        "deadline": notice.deadline.isoformat(),
        "binding_order": notice.binding_order,
        "escalated_at": iso_or_none(notice.escalated_at),
        "closed_at": iso_or_none(notice.closed_at),
        "history": [
            {
                "at": event.at.isoformat(),
                "action": action,
                "status": event.status,
                "actor": None if event.actor_id is None else orgs[event.actor_id].name,
                "reason": reason,
            }
            for event, action, reason in _history(history, hoster=not with_matches)
        ],
    }
    if with_matches:
        view["matches"] = [
            {
                "list": hash_list.name,
                "entry_id": entry.id,
                "hash_type": match.hash_type,
                "value": entry.value.hex(),
                "item": entry.item,
                "category": entry.category,
                **({"variant": entry.variant} if entry.variant else {}),  # a --variants entry: which
                "distance": match.distance,
            }
            for match, hash_list, entry in matches
            if hash_list.id in full_lists
        ]
    return view


def _conditions(filters: NoticeFilters, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    unknown = sorted(set(filters.status) - set(STATUSES))
    if unknown:
        raise InvalidRequest("status", f"unknown {', '.join(unknown)}; expected one of {', '.join(STATUSES)}")
    if filters.status:
        conditions.append(Notice.status.in_(filters.status))
    if filters.hoster_id is not None:
        conditions.append(Notice.hoster_id == filters.hoster_id)
    if filters.list_id is not None:
        conditions.append(
            Notice.id.in_(select(NoticeMatch.notice_id).where(NoticeMatch.list_id == filters.list_id))
        )
    for name, value in (("created_from", filters.created_from), ("created_to", filters.created_to)):
        if value is not None and value.tzinfo is None:
            raise InvalidRequest(name, "give a time zone (UTC offset)")
    if filters.created_from is not None:
        conditions.append(Notice.created_at >= filters.created_from)
    if filters.created_to is not None:
        conditions.append(Notice.created_at < filters.created_to)
    if filters.overdue is not None:
        late = and_(Notice.status.in_(("open", "overdue")), Notice.deadline <= now)
        conditions.append(late if filters.overdue else not_(late))
    if filters.binding_order is not None:
        conditions.append(Notice.binding_order.is_(filters.binding_order))
    return conditions


def _encode_cursor(notice_id: int) -> str:
    return base64.urlsafe_b64encode(_CURSOR_PREFIX + str(notice_id).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode())
    except (binascii.Error, ValueError):
        raw = b""
    number = raw.removeprefix(_CURSOR_PREFIX)
    if raw == number or not number.isdigit() or len(number) > len(str(MAX_ID)) or int(number) > MAX_ID:
        raise InvalidRequest("cursor", "not a cursor from a previous page")
    return int(number)


def iso_or_none(value: datetime | None) -> str | None:
    """A timestamp as ISO 8601 text, or None."""
    return None if value is None else value.isoformat()
