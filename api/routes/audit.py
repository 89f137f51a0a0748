"""The audit log, for the authority and admins: read it in chain order, verify the hash chain."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

import audit
from accounts import Caller
from api.deps import allow, record, services
from api.openapi import error_responses
from api.schemas import AuditPage, AuditVerification
from db.models import MAX_BIG_ID

router = APIRouter(tags=["audit"])
AUDIT_ROLES = ("authority", "admin")


@router.get(
    "/v1/audit/verify",
    response_model=AuditVerification,
    summary="Recompute the audit chain and name the first broken record",
    responses=error_responses(401, 403, 429),
)
def verify(request: Request, caller: Annotated[Caller, Depends(allow(*AUDIT_ROLES))]) -> AuditVerification:
    found = services(request)
    with found.sessions() as session:
        result = audit.verify(session)
    record(found, caller, "audit.verify", {"records": result.records, "ok": result.ok})
    return AuditVerification(
        ok=result.ok, records=result.records, broken_id=result.broken_id, reason=result.reason
    )


@router.get(
    "/v1/audit",
    response_model=AuditPage,
    summary="Audit records in chain order, with their digests, to check or archive",
    responses=error_responses(401, 403, 422, 429),
)
def read(
    request: Request,
    caller: Annotated[Caller, Depends(allow(*AUDIT_ROLES))],
    after: Annotated[
        int,
        Query(ge=0, le=MAX_BIG_ID, description="records with an id above this (next_after of the last page)"),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[
        str | None,
        Query(pattern=r"^[a-z_.]{1,64}$", description="only records of this action, e.g. match"),
    ] = None,
) -> dict[str, Any]:
    found = services(request)
    with found.sessions() as session:
        page = audit.records(session, after, limit, action)
        shown = [
            {
                "id": row.id,
                "at": row.at.isoformat(),
                "organisation_id": row.organisation_id,
                "key_id": row.key_id,
                "action": row.action,
                "detail": row.detail,
                "prev_digest": row.prev_digest,
                "digest": row.digest,
            }
            for row in page
        ]
    record(found, caller, "audit.read", {"after": after, "returned": len(shown)})
    return {"records": shown, "next_after": shown[-1]["id"] if len(shown) == limit else None}
