"""A notice's life: who may move it from which status to which, and the deadline clock.

Statuses (``db.models.STATUSES``): ``open`` -> ``removed`` (the hoster confirms, with the removal time)
| ``disputed`` (the hoster says false positive, with a reason) -> ``upheld`` (back to ``open``, or
``overdue`` if the unchanged deadline has passed) | ``withdrawn`` (the hotline agrees, and may retract the
entries). ``open`` past its deadline -> ``overdue`` (by ``tick``). The authority may turn any active
notice into a binding order with its own deadline of at most 12 hours. A notice the match service holds
for review (a lone pHash/dHash signal the ref's own PDQ contradicts) starts in ``review``, unseen by its
hoster and with no deadline running: a hotline owning a matched list (or an admin) confirms it
(-> ``open``, created and its deadline counted from then) or dismisses it (-> ``dismissed``, closed, never
shown to the hoster).

Every function checks the actor's role and relation to the notice, then the transition, and only then
changes the notice and appends a ``NoticeEvent`` (actor, time, action, resulting status, reason) in the
caller's transaction: a refused request changes nothing. ``active_ref`` becomes NULL when a notice
closes (removed, withdrawn, dismissed), so the location can be noticed again.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeAlias

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from db.models import ACTIVE, Entry, HashList, Notice, NoticeEvent, NoticeMatch, Organisation, text_problem
from notices.access import owned_list_ids
from notices.errors import InvalidRequest, InvalidTransition, NotAllowed

Retract: TypeAlias = Callable[[Session, int, Sequence[int], str], object]
"""``indexer.retract_entries(session, list_id, entry_ids, reason)``, passed in by the caller."""

BINDING_ORDER_MAX_HOURS = 12
SYSTEM = None
"""The actor of the events the service records by itself (deadlines, reminders, retracted entries)."""


@dataclass(frozen=True)
class Rule:
    """Who may ask for a step, and from which statuses."""

    roles: tuple[str, ...]
    from_statuses: tuple[str, ...]


RULES: dict[str, Rule] = {
    "confirm removal": Rule(("hoster",), ACTIVE),
    "dispute": Rule(("hoster",), ("open", "overdue")),
    "resolve a dispute": Rule(("hotline", "admin"), ("disputed",)),
    "escalate": Rule(("authority",), ACTIVE),
    "confirm a review": Rule(("hotline", "admin"), ("review",)),
    "dismiss a review": Rule(("hotline", "admin"), ("review",)),
}
"""The transition table: hosters act on their own notices, hotlines on notices resting on their lists."""


@dataclass(frozen=True)
class ReminderPolicy:
    """One reminder when ``before_fraction`` of the notice's window is left; then, once overdue, one
    every ``overdue_interval`` (the overdue mark itself counts as the first)."""

    before_fraction: float = 0.25
    overdue_interval: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class TickSummary:
    overdue: int
    reminded: int


def record_created(
    session: Session, notice: Notice, actor: Organisation | None, now: datetime
) -> NoticeEvent:
    """The first step of every notice's history (the match service calls it when it creates one)."""
    return _record(session, notice, actor, "created", now)


def confirm_removed(
    session: Session,
    notice: Notice,
    actor: Organisation,
    *,
    now: datetime,
    removed_at: datetime | None = None,
    note: str = "",
) -> NoticeEvent:
    """The hoster took the content down at ``removed_at`` (default: now); closes the notice."""
    _check(session, notice, actor, "confirm removal")
    removed_at = now if removed_at is None else removed_at
    if removed_at.tzinfo is None:
        raise InvalidRequest("removed_at", "give a time zone (UTC offset)")
    if removed_at > now:
        raise InvalidRequest("removed_at", f"{removed_at.isoformat()} is in the future")
    if removed_at < notice.created_at:
        raise InvalidRequest(
            "removed_at", f"{removed_at.isoformat()} is before the notice ({notice.created_at.isoformat()})"
        )
    note = _text("note", note)
    _close(notice, "removed", removed_at)
    return _record(session, notice, actor, "removed", now, note)


def dispute(
    session: Session, notice: Notice, actor: Organisation, *, reason: str, now: datetime
) -> NoticeEvent:
    """The hoster says the match is a false positive. Once per notice, and not against a binding order
    (that is contested with the authority)."""
    rule = _check(session, notice, actor, "dispute")
    if notice.binding_order:
        raise InvalidTransition(notice.status, "dispute", rule.from_statuses, "it is a binding order")
    if _has_event(session, notice, "upheld"):
        raise InvalidTransition(notice.status, "dispute", rule.from_statuses, "a dispute was already upheld")
    reason = _required(reason, "say why it is a false positive")
    notice.status = "disputed"
    return _record(session, notice, actor, "disputed", now, reason)


def resolve_dispute(
    session: Session,
    notice: Notice,
    actor: Organisation,
    *,
    outcome: Literal["upheld", "withdrawn"],
    reason: str,
    now: datetime,
    retract: Retract | None = None,
) -> NoticeEvent:
    """A hotline owning a matched list (or the operator) decides a dispute. ``upheld``: back to open, or
    overdue if the unchanged deadline has passed. ``withdrawn``: closed; given ``retract``, the matched
    entries of the hotline's own lists are retracted through it (which withdraws other notices resting
    only on them)."""
    _check(session, notice, actor, "resolve a dispute")
    if outcome not in ("upheld", "withdrawn"):
        raise InvalidRequest("outcome", f"expected 'upheld' or 'withdrawn', got {outcome!r}")
    if retract is not None and outcome != "withdrawn":
        raise InvalidRequest("retract", "only a withdrawn notice retracts its entries")
    if retract is not None and actor.role != "hotline":
        raise NotAllowed("retract entries", "only the hotline that owns a list retracts its entries")
    reason = _required(reason, "explain the decision to the hoster")
    if outcome == "upheld":
        notice.status = "overdue" if notice.deadline <= now else "open"
        return _record(session, notice, actor, "upheld", now, reason)
    _close(notice, "withdrawn", now)
    event = _record(session, notice, actor, "withdrawn", now, reason)
    if retract is not None:
        session.flush()
        for list_id in sorted(owned_list_ids(session, [notice.id], actor)):
            entry_ids = session.scalars(
                select(NoticeMatch.entry_id)
                .join(Entry, Entry.id == NoticeMatch.entry_id)
                .where(
                    NoticeMatch.notice_id == notice.id,
                    NoticeMatch.list_id == list_id,
                    Entry.removed_in.is_(None),  # retracted already, by an earlier decision or import
                )
                .order_by(NoticeMatch.entry_id)
            ).all()
            if entry_ids:
                retract(session, list_id, entry_ids, reason)
    return event


def escalate(
    session: Session, notice: Notice, actor: Organisation, *, hours: int, reason: str, now: datetime
) -> NoticeEvent:
    """The authority issues a binding order: a new deadline ``hours`` (1 to 12) from now. An open,
    overdue or disputed notice becomes open again under the order's deadline."""
    _check(session, notice, actor, "escalate")
    if not 1 <= hours <= BINDING_ORDER_MAX_HOURS:
        raise InvalidRequest(
            "hours", f"a binding order's deadline is 1 to {BINDING_ORDER_MAX_HOURS} hours, got {hours}"
        )
    reason = _required(reason, "give the order's reference")
    notice.binding_order = True
    notice.escalated_at = now
    notice.deadline = now + timedelta(hours=hours)
    notice.reminded_at = None
    notice.status = "open"
    return _record(session, notice, actor, "escalated", now, reason)


def confirm_review(
    session: Session, notice: Notice, actor: Organisation, *, reason: str = "", now: datetime
) -> NoticeEvent:
    """A hotline owning a matched list (or the operator) confirms a notice held for review: it opens for
    the hoster now, its deadline ``notice_deadline_hours`` from now (the shortest of its lists)."""
    _check(session, notice, actor, "confirm a review")
    reason = _text("reason", reason)
    hours = session.scalar(
        select(func.min(HashList.notice_deadline_hours))
        .join(NoticeMatch, NoticeMatch.list_id == HashList.id)
        .where(NoticeMatch.notice_id == notice.id)
    )
    notice.status = "open"
    notice.created_at = now
    notice.deadline = now + timedelta(hours=hours or 0)
    return _record(session, notice, actor, "confirmed", now, reason)


def dismiss_review(
    session: Session, notice: Notice, actor: Organisation, *, reason: str, now: datetime
) -> NoticeEvent:
    """A hotline owning a matched list (or the operator) dismisses a notice held for review: closed,
    and its hoster never learns of it."""
    _check(session, notice, actor, "dismiss a review")
    reason = _required(reason, "say why the match is not the listed item")
    _close(notice, "dismissed", now)
    return _record(session, notice, actor, "dismissed", now, reason)


def supersede_review(session: Session, notice: Notice, now: datetime) -> None:
    """A later call matched the location outright: the notice held for review is dismissed (by the
    service) so that a notice of its own replaces it. Nothing if it left review meanwhile."""
    session.flush()
    session.refresh(notice, with_for_update=True)
    if notice.status == "review":
        _close(notice, "dismissed", now)
        _record(
            session, notice, SYSTEM, "dismissed", now, "a later call matched it: a new notice replaces it"
        )


def withdraw_for_removed_entries(session: Session, entry_ids: Sequence[int], now: datetime) -> list[Notice]:
    """Withdraw the active notices every match of which rests on an entry in ``entry_ids`` or on one
    already removed from its list (an entry ``replaced`` by an identical one in a later version still
    counts as listed), and dismiss the notices held for review that way. The indexer calls it inside a
    publish, with the entries that left their lists. Returns the withdrawn (and dismissed) notices."""
    removed = set(entry_ids)
    candidates: set[int] = set()
    for chunk in _chunks(sorted(removed)):
        candidates.update(
            session.scalars(select(NoticeMatch.notice_id).where(NoticeMatch.entry_id.in_(chunk)))
        )
    withdrawn: list[Notice] = []
    for chunk in _chunks(sorted(candidates)):
        resting = session.execute(
            select(NoticeMatch.notice_id, NoticeMatch.entry_id, Entry.removed_in, Entry.removal)
            .join(Entry, Entry.id == NoticeMatch.entry_id)
            .where(NoticeMatch.notice_id.in_(chunk))
        ).all()
        still_listed = {
            row.notice_id
            for row in resting
            if row.entry_id not in removed and (row.removed_in is None or row.removal == "replaced")
        }
        notices = session.scalars(
            select(Notice)
            .where(Notice.id.in_(set(chunk) - still_listed), Notice.status.in_((*ACTIVE, "review")))
            .order_by(Notice.id)
            .with_for_update()
        ).all()
        for notice in notices:
            closed = "dismissed" if notice.status == "review" else "withdrawn"
            _close(notice, closed, now)
            _record(session, notice, SYSTEM, closed, now, "every list entry it rests on was removed")
            withdrawn.append(notice)
    return withdrawn


def tick(session: Session, now: datetime, policy: ReminderPolicy = ReminderPolicy()) -> TickSummary:
    """One periodic pass: re-remind overdue notices every ``policy.overdue_interval``, mark open notices
    past their deadline overdue, remind open notices once when ``policy.before_fraction`` of their
    window (from creation, or from the binding order) is left. Running it twice at one ``now`` does
    nothing the second time."""
    reminded = 0
    last_nudge = func.coalesce(Notice.reminded_at, Notice.deadline)
    for notice in _locked(session, Notice.status == "overdue", last_nudge <= now - policy.overdue_interval):
        _remind(session, notice, now, "still online past its deadline")
        reminded += 1
    overdue = 0
    for notice in _locked(session, Notice.status == "open", Notice.deadline <= now):
        notice.status = "overdue"
        notice.reminded_at = now
        _record(session, notice, SYSTEM, "overdue", now, "the deadline passed")
        overdue += 1
    unreminded = session.execute(
        select(Notice.id, Notice.created_at, Notice.escalated_at, Notice.deadline).where(
            Notice.status == "open", Notice.reminded_at.is_(None)
        )
    )
    due = [
        row.id
        for row in unreminded
        if now
        >= row.deadline - (row.deadline - (row.escalated_at or row.created_at)) * policy.before_fraction
    ]
    for chunk in _chunks(due):
        for notice in _locked(
            session, Notice.id.in_(chunk), Notice.status == "open", Notice.reminded_at.is_(None)
        ):
            _remind(session, notice, now, f"deadline {notice.deadline.isoformat()}")
            reminded += 1
    return TickSummary(overdue=overdue, reminded=reminded)


def _check(session: Session, notice: Notice, actor: Organisation, asked: str) -> Rule:
    """Lock the notice, then refuse unless ``actor`` may ask for ``asked`` on it in its status."""
    rule = RULES[asked]
    session.flush()  # refresh would drop changes not yet flushed
    session.refresh(notice, with_for_update=True)
    if actor.role not in rule.roles:
        raise NotAllowed(asked, f"a {actor.role} may not; only: {', '.join(rule.roles)}")
    if actor.role == "hoster" and notice.hoster_id != actor.id:
        raise NotAllowed(asked, "the notice is addressed to another hoster")
    if actor.role == "hotline" and not owned_list_ids(session, [notice.id], actor):
        raise NotAllowed(asked, "the notice rests on none of your lists")
    if notice.status not in rule.from_statuses:
        raise InvalidTransition(notice.status, asked, rule.from_statuses)
    return rule


def _record(
    session: Session, notice: Notice, actor: Organisation | None, action: str, now: datetime, reason: str = ""
) -> NoticeEvent:
    event = NoticeEvent(
        notice_id=notice.id,
        at=now,
        actor_id=None if actor is None else actor.id,
        action=action,
        status=notice.status,
        reason=reason,
    )
    session.add(event)
    return event


def _close(notice: Notice, status: str, at: datetime) -> None:
    notice.status = status
    notice.closed_at = at
    notice.active_ref = None


def _remind(session: Session, notice: Notice, now: datetime, reason: str) -> None:
    notice.reminded_at = now
    _record(session, notice, SYSTEM, "reminded", now, reason)


def _locked(session: Session, *conditions: ColumnElement[bool]) -> Sequence[Notice]:
    """The notices matching ``conditions``, locked; rows another pass holds are left to it."""
    query = select(Notice).where(*conditions).order_by(Notice.id).with_for_update(skip_locked=True)
    return session.scalars(query).all()


def _has_event(session: Session, notice: Notice, action: str) -> bool:
    found = session.scalar(
        select(NoticeEvent.id)
        .where(NoticeEvent.notice_id == notice.id, NoticeEvent.action == action)
        .limit(1)
    )
    return found is not None


def _required(text: str, what: str) -> str:
    reason = _text("reason", text)
    if not reason:
        raise InvalidRequest("reason", f"required: {what}")
    return reason


def _text(field: str, text: str) -> str:
    """``text`` stripped; refused if the database cannot keep it."""
    problem = text_problem(text)
    if problem is not None:
        raise InvalidRequest(field, problem)
    return text.strip()


def _chunks(ids: Sequence[int], size: int = 1000) -> Iterator[Sequence[int]]:
    """Bound the parameters of one IN (...) (SQLite and PostgreSQL both cap them)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
