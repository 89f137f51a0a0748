"""What the probing guard did, for the owners of the lists concerned (and the operator)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from accounts import Caller
from api.deps import allow, services
from api.openapi import error_responses
from api.schemas import Escalations
from guard.escalations import escalations

router = APIRouter(tags=["probing"])


@router.get(
    "/v1/probing/escalations",
    response_model=Escalations,
    summary="Hosters throttled or suspended for walking along your lists' thresholds, newest first",
    responses=error_responses(401, 403, 422, 429),
)
def read(
    request: Request,
    caller: Annotated[Caller, Depends(allow("hotline", "admin"))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Escalations:
    """A hotline sees the escalations that concerned its own lists, with its own entries only (by id,
    item and list: never a hash); the operator sees every one. Each is also sent as a webhook event
    (``probing.throttled``, ``probing.suspended``) when it happens."""
    found = services(request)
    owner = caller.organisation_id if caller.role == "hotline" else None
    with found.sessions() as session:
        shown = escalations(session, owner, limit)
    return Escalations.model_validate({"escalations": [vars(escalation) for escalation in shown]})
