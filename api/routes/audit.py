"""The audit log, for the authority and admins: verify the hash chain."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

import audit
from accounts import Caller
from api.deps import allow, record, services
from api.schemas import AuditVerification, error_responses

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
        record(session, caller, found.clock, "audit.verify", {"records": result.records, "ok": result.ok})
        session.commit()
    return AuditVerification(
        ok=result.ok, records=result.records, broken_id=result.broken_id, reason=result.reason
    )
