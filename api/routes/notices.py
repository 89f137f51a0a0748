"""Notices: list and read them as the caller's role may see them, and move them through their life
(thin routes over ``notices.views`` and ``notices.lifecycle``). Every call is audited."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from accounts import Caller
from api.deps import Services, allow, organisation_of, record, services
from api.notice_schemas import (
    DisputeBody,
    EscalateBody,
    Moment,
    NoticeOut,
    NoticePage,
    RemovedBody,
    ResolveBody,
    ReviewBody,
)
from api.openapi import error_responses
from api.publishing import publish_for
from db.models import MAX_ID, ROLES, STATUSES, Notice, NoticeEvent, Organisation
from indexer.lists import retract_entries
from notices import lifecycle, views
from notices.errors import InvalidRequest

router = APIRouter(tags=["notices"])
Anyone = Annotated[Caller, Depends(allow(*ROLES))]
NoticeId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="the notice's id, e.g. ntc_zakqllfo4w4yag3u2bea2k74"),
]
Id = Annotated[int | None, Query(ge=1, le=MAX_ID)]
NOTICE_ERRORS = error_responses(401, 403, 404, 409, 422, 429)


@router.get(
    "/v1/notices",
    response_model=NoticePage,
    response_model_exclude_unset=True,
    summary="Notices the caller may see, newest first, with filters and paging",
    responses=error_responses(401, 403, 422, 429),
)
def list_notices(
    request: Request,
    caller: Anyone,
    status: Annotated[list[str], Query(description="repeatable: " + ", ".join(STATUSES))] = [],  # noqa: B006
    hoster_id: Id = None,
    list_id: Id = None,
    created_from: Annotated[Moment | None, Query(description="inclusive, with a UTC offset")] = None,
    created_to: Annotated[Moment | None, Query(description="exclusive, with a UTC offset")] = None,
    overdue: bool | None = None,
    binding_order: bool | None = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(description=f"1 to {views.MAX_LIMIT}")] = views.DEFAULT_LIMIT,
) -> dict[str, Any]:
    found = services(request)
    filters = views.NoticeFilters(
        status=tuple(status),
        hoster_id=hoster_id,
        list_id=list_id,
        created_from=created_from,
        created_to=created_to,
        overdue=overdue,
        binding_order=binding_order,
    )
    with found.sessions() as session:
        viewer = organisation_of(session, caller)
        page = views.list_notices(session, viewer, filters, now=found.clock.now(), cursor=cursor, limit=limit)
    record(found, caller, "notices.list", {"returned": len(page.items)})
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/v1/notices/{notice_id}",
    response_model=NoticeOut,
    response_model_exclude_unset=True,
    summary="One notice with its history (hotlines and the authority also see its matches)",
    responses=error_responses(401, 403, 404, 422, 429),
)
def get_notice(request: Request, caller: Anyone, notice_id: NoticeId) -> dict[str, Any]:
    found = services(request)
    with found.sessions() as session:
        viewer = organisation_of(session, caller)
        notice = views.get_notice(session, notice_id, viewer)
        shown = views.notice_view(session, notice, viewer)
    record(found, caller, "notices.read", {"notice": notice.public_id})
    return shown


def _transition(
    found: Services,
    caller: Caller,
    notice_id: str,
    change: Callable[[Session, Notice, Organisation], NoticeEvent],
) -> dict[str, Any]:
    """Find the notice (404 if the caller may not see it), apply ``change``, audit, commit, show it."""
    with found.sessions() as session:
        actor = organisation_of(session, caller)
        notice = views.get_notice(session, notice_id, actor)
        event = change(session, notice, actor)
        detail = {"notice": notice.public_id, "status": notice.status}
        record(found, caller, f"notice.{event.action}", detail, session)
        session.commit()
        return views.notice_view(session, notice, actor)


Step = Callable[[Session, Notice, Organisation, Any, datetime], NoticeEvent]


Then = Callable[[Services, Caller, Any], object]


def _step(
    name: str,
    roles: tuple[str, ...],
    summary: str,
    body_type: type[BaseModel],
    apply: Step,
    then: Then | None = None,
) -> None:
    """Register ``POST /v1/notices/{id}/<name>``: ``apply`` the lifecycle step with the request's body,
    and once it is committed, ``then``."""

    def endpoint(
        request: Request, caller: Annotated[Caller, Depends(allow(*roles))], notice_id: NoticeId, body: Any
    ) -> dict[str, Any]:
        found = services(request)
        now = found.clock.now()
        shown = _transition(
            found, caller, notice_id, lambda s, notice, actor: apply(s, notice, actor, body, now)
        )
        if then is not None:
            then(found, caller, body)
        return shown

    endpoint.__annotations__["body"] = body_type  # the body FastAPI parses and documents
    endpoint.__name__ = name
    router.post(
        f"/v1/notices/{{notice_id}}/{name}",
        response_model=NoticeOut,
        response_model_exclude_unset=True,
        summary=summary,
        responses=NOTICE_ERRORS,
    )(endpoint)


_step(
    "removed",
    ("hoster",),
    "The hoster confirms it took the content down (closes the notice)",
    RemovedBody,
    lambda s, notice, actor, body, now: lifecycle.confirm_removed(
        s, notice, actor, now=now, removed_at=body.removed_at, note=body.note
    ),
)
_step(
    "dispute",
    ("hoster",),
    "The hoster says the match is a false positive, with a reason",
    DisputeBody,
    lambda s, notice, actor, body, now: lifecycle.dispute(s, notice, actor, reason=body.reason, now=now),
)


def _resolve(s: Session, notice: Notice, actor: Organisation, body: Any, now: datetime) -> NoticeEvent:
    if body.publish and not body.retract:
        raise InvalidRequest("publish", "only with retract: a publish makes a retraction effective at once")
    return lifecycle.resolve_dispute(
        s,
        notice,
        actor,
        outcome=body.outcome,
        reason=body.reason,
        now=now,
        retract=retract_entries if body.retract else None,
    )


_step(
    "resolve",
    ("hotline", "admin"),
    "The hotline (or an admin) upholds or withdraws a disputed notice (and retracts and publishes)",
    ResolveBody,
    _resolve,
    then=lambda found, caller, body: publish_for(found, caller) if body.publish else None,
)
_step(
    "escalate",
    ("authority",),
    "The authority turns a notice into a binding order with a deadline of at most 12 hours",
    EscalateBody,
    lambda s, notice, actor, body, now: lifecycle.escalate(
        s, notice, actor, hours=body.hours, reason=body.reason, now=now
    ),
)
_step(
    "confirm",
    ("hotline", "admin"),
    "The hotline (or an admin) confirms a notice held for review: it opens for the hoster now",
    ReviewBody,
    lambda s, notice, actor, body, now: lifecycle.confirm_review(
        s, notice, actor, reason=body.reason, now=now
    ),
)
_step(
    "dismiss",
    ("hotline", "admin"),
    "The hotline (or an admin) dismisses a notice held for review, with a reason; the hoster never sees it",
    ReviewBody,
    lambda s, notice, actor, body, now: lifecycle.dismiss_review(
        s, notice, actor, reason=body.reason, now=now
    ),
)
