"""Notices in the console: the inbox (filters, deadline countdown, sort, pages), one notice with its
history, and the steps each role may take on it, all through ``notices.views`` and ``notices.lifecycle``
(the same core the API calls: what a role sees and may do is decided there, once)."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from console.web import PREFIX, PageError, Visit, countdown, parse_int, posted, signed_in, url
from db.models import ROLES, Notice, NoticeEvent, Organisation
from indexer.lists import retract_entries
from notices import lifecycle, views
from notices.errors import NoticeNotFound

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Anyone = Annotated[Visit, Depends(signed_in(*ROLES))]
PER_PAGE = 25
SHOWS = {
    "active": ("Needing action", views.NoticeFilters(status=("open", "overdue", "disputed"))),
    "open": ("Open", views.NoticeFilters(status=("open", "overdue"), overdue=False)),
    "overdue": ("Overdue", views.NoticeFilters(overdue=True)),
    "disputed": ("Disputed", views.NoticeFilters(status=("disputed",))),
    "closed": ("Closed", views.NoticeFilters(status=("removed", "withdrawn", "dismissed"))),
    "review": ("To review", views.NoticeFilters(status=("review",))),
    "all": ("All", views.NoticeFilters()),
}
"""The inbox's tabs (``review`` only for those who decide reviews: a hoster never has one)."""
Step = Callable[[Session, Notice, Organisation, datetime], NoticeEvent]
SORTS = {"deadline": "Deadline first", "newest": "Newest first", "oldest": "Oldest first"}


def _step(name: str) -> tuple[str, ...]:
    return lifecycle.RULES[name].roles


@router.get("/notices")
def inbox(visit: Anyone, show: str = "active", sort: str = "deadline", page: str = "1") -> Response:
    if show not in SHOWS or sort not in SORTS:
        raise PageError(400, f"show: one of {', '.join(SHOWS)}; sort: one of {', '.join(SORTS)}")
    number = parse_int(page, "page", 1, 1, 10**6)
    now = visit.now()
    with visit.session() as (session, organisation):
        table = views.table_of_notices(
            session,
            organisation,
            SHOWS[show][1],
            now=now,
            sort=sort,
            offset=(number - 1) * PER_PAGE,
            limit=PER_PAGE,
        )
    pages = max(1, -(-table.total // PER_PAGE))
    return visit.render(
        "notices.html",
        notices=[{**item, "countdown": countdown(item["deadline"], now)} for item in table.items],
        total=table.total,
        show=show,
        shows={
            name: label
            for name, (label, _) in SHOWS.items()
            if name != "review" or visit.role in _step("confirm a review")
        },
        sort=sort,
        sorts=SORTS,
        page=number,
        pages=pages,
        page_url=lambda n: url("/notices", show=show, sort=sort, page=n),
    )


@router.get("/notices/{notice_id}")
def notice(visit: Anyone, notice_id: str) -> Response:
    now = visit.now()
    with visit.session() as (session, organisation):
        try:
            found = views.get_notice(session, notice_id, organisation)
        except NoticeNotFound:
            raise PageError(404, f"There is no notice {notice_id} that you may see.") from None
        shown = views.notice_view(session, found, organisation)
    return visit.render(
        "notice.html",
        notice=shown,
        countdown=countdown(shown["deadline"], now),
        can={
            name: visit.role in _step(rule) and shown["status"] in lifecycle.RULES[rule].from_statuses
            for name, rule in (
                ("removed", "confirm removal"),
                ("dispute", "dispute"),
                ("resolve", "resolve a dispute"),
                ("escalate", "escalate"),
                ("confirm", "confirm a review"),
                ("dismiss", "dismiss a review"),
            )
        },
        max_hours=lifecycle.BINDING_ORDER_MAX_HOURS,
    )


def _change(
    visit: Visit, notice_id: str, what: str, apply: Step, then: Callable[[], str] | None = None
) -> Response:
    """Apply one lifecycle step to the notice (as the API does: audited in the same transaction)."""
    back = url(f"/notices/{notice_id}")

    def change(session: Session, organisation: Organisation) -> str:
        found = views.get_notice(session, notice_id, organisation)
        event = apply(session, found, organisation, visit.now())
        visit.audit(session, f"notice.{event.action}", {"notice": found.public_id, "status": found.status})
        return f"Notice {found.public_id}: {what} (now {found.status})."

    return visit.act(back, change, then)


@router.post("/notices/{notice_id}/removed")
def removed(visit: Annotated[Visit, Depends(posted(*_step("confirm removal")))], notice_id: str) -> Response:
    note = visit.field("note")
    return _change(
        visit,
        notice_id,
        "removal confirmed",
        lambda s, n, actor, now: lifecycle.confirm_removed(s, n, actor, now=now, note=note),
    )


@router.post("/notices/{notice_id}/dispute")
def dispute(visit: Annotated[Visit, Depends(posted(*_step("dispute")))], notice_id: str) -> Response:
    reason = visit.field("reason")
    return _change(
        visit,
        notice_id,
        "disputed",
        lambda s, n, actor, now: lifecycle.dispute(s, n, actor, reason=reason, now=now),
    )


@router.post("/notices/{notice_id}/resolve")
def resolve(
    visit: Annotated[Visit, Depends(posted(*_step("resolve a dispute")))], notice_id: str
) -> Response:
    """Uphold or withdraw a dispute; a hotline withdrawing may retract the matched entries of its lists,
    which are then published at once (the false positive stops matching)."""
    reason = visit.field("reason")
    outcome: Literal["upheld", "withdrawn"]
    if visit.field("outcome") == "upheld":
        outcome = "upheld"
    elif visit.field("outcome") == "withdrawn":
        outcome = "withdrawn"
    else:
        return visit.done(url(f"/notices/{notice_id}"), "Choose uphold or withdraw.", ok=False)
    retract = outcome == "withdrawn" and visit.field("retract") == "yes"
    return _change(
        visit,
        notice_id,
        outcome,
        lambda s, n, actor, now: lifecycle.resolve_dispute(
            s,
            n,
            actor,
            outcome=outcome,
            reason=reason,
            now=now,
            retract=retract_entries if retract else None,
        ),
        (lambda: f"Its entries are retracted. {visit.publish()}") if retract else None,
    )


@router.post("/notices/{notice_id}/escalate")
def escalate(visit: Annotated[Visit, Depends(posted(*_step("escalate")))], notice_id: str) -> Response:
    hours = parse_int(visit.field("hours"), "hours", lifecycle.BINDING_ORDER_MAX_HOURS, 1, 10**6)
    reason = visit.field("reason")
    return _change(
        visit,
        notice_id,
        "escalated to a binding order",
        lambda s, n, actor, now: lifecycle.escalate(s, n, actor, hours=hours, reason=reason, now=now),
    )


@router.post("/notices/{notice_id}/confirm")
def confirm(visit: Annotated[Visit, Depends(posted(*_step("confirm a review")))], notice_id: str) -> Response:
    reason = visit.field("reason")
    return _change(
        visit,
        notice_id,
        "confirmed: the hoster is notified",
        lambda s, n, actor, now: lifecycle.confirm_review(s, n, actor, reason=reason, now=now),
    )


@router.post("/notices/{notice_id}/dismiss")
def dismiss(visit: Annotated[Visit, Depends(posted(*_step("dismiss a review")))], notice_id: str) -> Response:
    reason = visit.field("reason")
    return _change(
        visit,
        notice_id,
        "dismissed",
        lambda s, n, actor, now: lifecycle.dismiss_review(s, n, actor, reason=reason, now=now),
    )


@router.get("/review")
def review(visit: Annotated[Visit, Depends(signed_in(*_step("confirm a review")))]) -> Response:
    """The review queue: notices held for review (a lone pHash/dHash signal the ref's own PDQ
    contradicts), oldest first, each to confirm (the hoster is notified) or dismiss."""
    return inbox(visit, show="review", sort="oldest")


@router.get("/disputes")
def disputes(visit: Annotated[Visit, Depends(signed_in(*_step("resolve a dispute")))]) -> Response:
    """The dispute queue: the disputed notices the user may decide, oldest deadline first."""
    return inbox(visit, show="disputed", sort="deadline")
