"""The authority's compliance dashboard: the figures of ``notices.compliance`` for a period, per hoster
and over time, as tables and server-drawn charts; the notices overdue now (to escalate); the CSV of the
table shown."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from console import charts
from console.web import PREFIX, PageError, Visit, countdown, parse_day, signed_in, url
from notices import lifecycle, views
from notices.compliance import READERS, Dashboard, dashboard, to_csv
from notices.errors import InvalidRequest

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Reader = Annotated[Visit, Depends(signed_in(*READERS))]
DEFAULT_DAYS = 30
HOUR_EDGES = (0.0, 1.0, 2.0, 4.0, 8.0, 12.0, 24.0, 48.0, 72.0)
OVERDUE_SHOWN = 50


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    """Exclusive: the day after the last day asked for."""

    @property
    def first(self) -> str:
        return self.start.date().isoformat()

    @property
    def last(self) -> str:
        return (self.end - timedelta(days=1)).date().isoformat()


def _period(visit: Visit, start: str, end: str) -> Period:
    """The days ``start`` to ``end`` (both included; dates mean 00:00 UTC), by default the last 30."""
    today = visit.now().date()
    first = parse_day(start, "from", today - timedelta(days=DEFAULT_DAYS - 1))
    last = parse_day(end, "to", today)
    if last < first:
        raise PageError(400, f"to ({last.date()}) is before from ({first.date()})")
    return Period(first, last + timedelta(days=1))


def _figures(visit: Visit, period: Period, step: timedelta) -> Dashboard:
    with visit.session() as (session, _):
        try:
            return dashboard(session, period.start, period.end, step, visit.now())
        except InvalidRequest as refused:
            raise PageError(400, str(refused)) from None


@router.get("/compliance")
def compliance_page(visit: Reader) -> Response:
    query = visit.request.query_params
    period = _period(visit, query.get("from", ""), query.get("to", ""))
    now = visit.now()
    step = timedelta(days=7 if (period.end - period.start).days > 31 else 1)
    figures = _figures(visit, period, step)
    with visit.session() as (session, organisation):
        overdue = views.table_of_notices(
            session,
            organisation,
            views.NoticeFilters(overdue=True),
            now=now,
            sort="deadline",
            limit=OVERDUE_SHOWN,
        )
    labels = [f"{a:g}-{b:g} h" for a, b in pairwise(HOUR_EDGES)] + [f"{HOUR_EDGES[-1]:g}+ h"]
    return visit.render(
        "compliance.html",
        period=period,
        hosters=figures.hosters,
        total=figures.total,
        bars=charts.share_bars(
            [(row.group, row.removed_within_deadline_share) for row in figures.hosters],
            "Removed within the deadline, per hoster",
        ),
        line=charts.share_line(
            [(moment.strftime("%d %b"), row.removed_within_deadline_share) for moment, row in figures.series],
            "Removed within the deadline, over time",
        ),
        histogram=charts.histogram(
            charts.bins(figures.hours, [*HOUR_EDGES, float("inf")]), labels, "Hours to removal"
        ),
        removed=len(figures.hours),
        step="week" if step.days == 7 else "day",
        overdue=[{**item, "countdown": countdown(item["deadline"], now)} for item in overdue.items],
        overdue_total=overdue.total,
        can_escalate=visit.role in lifecycle.RULES["escalate"].roles,
        max_hours=lifecycle.BINDING_ORDER_MAX_HOURS,
        csv_url=url("/compliance.csv", **{"from": period.first, "to": period.last}),
    )


@router.get("/compliance.csv")
def download(visit: Reader) -> Response:
    query = visit.request.query_params
    period = _period(visit, query.get("from", ""), query.get("to", ""))
    name = f"compliance-hoster-{period.first}-{period.last}.csv"
    return Response(
        to_csv(_figures(visit, period, period.end - period.start).rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
