"""Compliance figures for the authority: per hoster, per list or in total, as JSON or CSV."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from accounts import Caller
from api.deps import allow, record, services
from api.openapi import error_responses
from api.schemas import ComplianceReport
from notices.compliance import READERS, GroupBy, compliance_report, parse_bound, to_csv
from notices.errors import InvalidRequest

router = APIRouter(tags=["reports"])
Reader = Annotated[Caller, Depends(allow(*READERS))]
FORMS = "a date (2026-11-01: 00:00 UTC) or an ISO 8601 time with a UTC offset (+ written %2B in a URL)"
From = Annotated[
    str | None, Query(alias="from", max_length=64, description=f"first day of the period: {FORMS}")
]
To = Annotated[
    str | None, Query(alias="to", max_length=64, description=f"end of the period, exclusive: {FORMS}")
]
Start = Annotated[str | None, Query(max_length=64, deprecated=True, description="the former name of 'from'")]
End = Annotated[str | None, Query(max_length=64, deprecated=True, description="the former name of 'to'")]
By = Annotated[GroupBy, Query(description="one row per hoster, per list (hotline/list), or one in total")]


def _bound(name: str, value: str | None, alias: str, old: str | None) -> datetime:
    """A period bound given by its name or its deprecated alias (not both), parsed as the CLI does."""
    if value is not None and old is not None:
        raise InvalidRequest(name, f"give {name} or its deprecated alias {alias}, not both")
    if value is None and old is None:
        which = "first day" if name == "from" else "end (exclusive)"
        raise InvalidRequest(name, f"required: the period's {which}, {FORMS}")
    return parse_bound(name, value) if value is not None else parse_bound(alias, old or "")


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
    request: Request,
    caller: Reader,
    from_: From = None,
    to: To = None,
    start: Start = None,
    end: End = None,
    group_by: By = "hoster",
) -> dict[str, Any]:
    first, last = _bound("from", from_, "start", start), _bound("to", to, "end", end)
    rows = _rows(request, caller, first, last, group_by)
    return {
        "start": first.isoformat(),
        "end": last.isoformat(),
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
    request: Request,
    caller: Reader,
    from_: From = None,
    to: To = None,
    start: Start = None,
    end: End = None,
    group_by: By = "hoster",
) -> Response:
    first, last = _bound("from", from_, "start", start), _bound("to", to, "end", end)
    rows = _rows(request, caller, first, last, group_by)
    name = f"compliance-{group_by}-{first.date()}-{last.date()}.csv"
    return Response(
        to_csv(rows), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
