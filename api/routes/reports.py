"""Compliance figures for the authority: per hoster, per list or in total, as JSON or CSV."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from accounts import Caller
from api.deps import allow, record, services
from api.openapi import error_responses
from api.schemas import ComplianceReport, Moment
from notices.compliance import GroupBy, compliance_report, to_csv

router = APIRouter(tags=["reports"])
REPORT_ROLES = ("authority", "admin")
Reader = Annotated[Caller, Depends(allow(*REPORT_ROLES))]
Start = Annotated[Moment, Query(description="first moment of the period, with a UTC offset")]
End = Annotated[Moment, Query(description="end of the period (exclusive), with a UTC offset")]
By = Annotated[GroupBy, Query(description="one row per hoster, per list (hotline/list), or one in total")]


def _rows(request: Request, caller: Caller, start: datetime, end: datetime, group_by: GroupBy) -> list[Any]:
    found = services(request)
    with found.sessions() as session:
        rows = compliance_report(session, start, end, group_by, found.clock.now())
    record(found, caller, "report.compliance", {"group_by": group_by, "rows": len(rows)})
    return rows


@router.get(
    "/v1/reports/compliance",
    response_model=ComplianceReport,
    summary="Counts by status, share removed in time, median and p90 time to removal, overdue now",
    responses=error_responses(401, 403, 422, 429),
)
def compliance(
    request: Request, caller: Reader, start: Start, end: End, group_by: By = "hoster"
) -> dict[str, Any]:
    rows = _rows(request, caller, start, end, group_by)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "group_by": group_by,
        "rows": [asdict(r) for r in rows],
    }


@router.get(
    "/v1/reports/compliance.csv",
    summary="The compliance report as CSV (a header line, one row per group)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {
                    "example": "group,notices,open,overdue,disputed,removed,withdrawn,"
                    "removed_within_deadline,removed_within_deadline_share,median_hours_to_removal,"
                    "p90_hours_to_removal,overdue_now,binding_orders\n"
                    "Example Hosting,12,1,0,0,11,0,10,0.9091,3.50,20.00,0,0\n"
                }
            }
        },
        **error_responses(401, 403, 422, 429),
    },
)
def compliance_csv(
    request: Request, caller: Reader, start: Start, end: End, group_by: By = "hoster"
) -> Response:
    rows = _rows(request, caller, start, end, group_by)
    name = f"compliance-{group_by}-{start.date()}-{end.date()}.csv"
    return Response(
        to_csv(rows), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
