"""Compliance figures for the authority: how fast hosters act on notices.

Definitions (``compliance_report``):

- **period**: the notices *created* in ``[start, end)``, whatever happened to them later; a notice held
  for the hotline's review counts from its confirmation, and never while in review or once dismissed;
- **status counts**: each notice by its status now (open, overdue, disputed, removed, withdrawn);
- **removed within deadline**: removed notices whose removal time (``closed_at``, as the hoster reported
  it) is at or before the deadline in force (a binding order's own deadline once escalated);
- **removed within deadline share**: that count over the notices that were due, i.e. removed ones plus
  those open or overdue with their deadline passed at ``now``. Disputed and withdrawn notices, and
  open ones still inside their deadline, are left out. None when nothing was due;
- **median / p90 hours to removal**: from creation to removal, over removed notices, interpolating
  linearly between ranks (numpy's default percentile). None when nothing was removed;
- **overdue now**: open or overdue notices whose deadline has passed at ``now``;
- **binding orders**: notices the authority escalated.

``group_by="list"`` counts a notice once under each list it rests on, so list rows can add up to more
than the total.
"""

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from db.models import UNSEEN_BY_HOSTER, HashList, Notice, NoticeMatch, Organisation
from notices.errors import InvalidRequest


class Figures(NamedTuple):
    """What the figures of a notice come from, its times as POSIX seconds (compared and subtracted many
    times over: floats, not timezone-aware datetimes)."""

    id: int
    status: str
    created: float
    deadline: float
    closed: float | None
    binding_order: bool

    @classmethod
    def of(cls, row: Sequence[Any]) -> "Figures":
        """From a row starting with :data:`_COLUMNS` (by position: a row's names are slower to read)."""
        notice_id, status, created, deadline, closed, binding = row[:6]
        at = None if closed is None else closed.timestamp()
        return cls(notice_id, status, created.timestamp(), deadline.timestamp(), at, binding)


READERS = ("authority", "admin")
"""The roles that read compliance figures (over the API and in the console)."""
GroupBy = Literal["hoster", "list", "total"]
GROUPINGS: tuple[GroupBy, ...] = ("hoster", "list", "total")


@dataclass(frozen=True)
class ComplianceRow:
    group: str
    notices: int
    open: int
    overdue: int
    disputed: int
    removed: int
    withdrawn: int
    removed_within_deadline: int
    removed_within_deadline_share: float | None
    median_hours_to_removal: float | None
    p90_hours_to_removal: float | None
    overdue_now: int
    binding_orders: int


PERIOD_FORMS = (
    "expected a date (2026-11-01: 00:00 UTC) or an ISO 8601 time with a UTC offset "
    "(2026-11-01T09:00:00+01:00, or Z for UTC)"
)


def parse_bound(field: str, text: str) -> datetime:
    """One bound of a report period, as the API and the CLI both take it: a date means 00:00 UTC that
    day; a time must carry its UTC offset (a bare local time is ambiguous). Returned in UTC; raises
    :class:`InvalidRequest` naming ``field``."""
    text = text.strip()
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        hint = " (in a URL, write + as %2B)" if " " in text else ""
        raise InvalidRequest(field, PERIOD_FORMS + hint) from None
    if moment.tzinfo is None:
        raise InvalidRequest(
            field, f"{text!r} has no time zone: add a UTC offset (+01:00, or Z), or give a date alone"
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise InvalidRequest(field, "out of range: expected a time between years 1 and 9999 in UTC") from None


def compliance_report(
    session: Session, start: datetime, end: datetime, group_by: GroupBy, now: datetime
) -> list[ComplianceRow]:
    """One row per hoster, per list (named ``hotline/list``), or one in total, for the notices created
    in ``[start, end)``; rows sorted by name."""
    if group_by not in GROUPINGS:
        raise InvalidRequest("group_by", f"expected one of {', '.join(GROUPINGS)}, got {group_by!r}")
    in_period = _period(start, end)
    notices = {notice.id: notice for notice in _figures(session, in_period)}
    if group_by == "total":
        return [_row("total", list(notices.values()), now.timestamp())]
    if group_by == "hoster":
        pairs = select(Notice.id, Organisation.name).join(Organisation, Organisation.id == Notice.hoster_id)
    else:
        pairs = (
            select(Notice.id, Organisation.name + "/" + HashList.name)
            .join(NoticeMatch, NoticeMatch.notice_id == Notice.id)
            .join(HashList, HashList.id == NoticeMatch.list_id)
            .join(Organisation, Organisation.id == HashList.organisation_id)
            .distinct()
        )
    groups: dict[str, list[Figures]] = defaultdict(list)
    for notice_id, group in session.execute(pairs.where(in_period)):
        groups[group].append(notices[notice_id])
    return [_row(group, members, now.timestamp()) for group, members in sorted(groups.items())]


@dataclass(frozen=True)
class Dashboard:
    """The figures of a period at once (the console's compliance page), from one read of its notices."""

    hosters: list[ComplianceRow]
    """One row per hoster, by name: ``compliance_report(..., "hoster", ...)``."""
    total: ComplianceRow
    series: list[tuple[datetime, ComplianceRow]]
    """The total row of each ``step`` from the start (the last one cut at the end)."""
    hours: list[float]
    """Hours from creation to removal of each removed notice, ascending (what median and p90 come from)."""

    @property
    def rows(self) -> list[ComplianceRow]:
        """The hosters' rows, then the total: the table shown, and its CSV."""
        return [*self.hosters, self.total]


def dashboard(session: Session, start: datetime, end: datetime, step: timedelta, now: datetime) -> Dashboard:
    """The notices created in ``[start, end)``: per hoster, in total, per ``step``, hours to removal."""
    if step <= timedelta(0):
        raise InvalidRequest("step", "expected a positive length")
    found = session.execute(
        select(*_COLUMNS, Organisation.name)
        .join(Organisation, Organisation.id == Notice.hoster_id)
        .where(_period(start, end))
    ).all()
    by_hoster: dict[str, list[Figures]] = defaultdict(list)
    buckets: dict[int, list[Figures]] = defaultdict(list)
    everything = []
    origin, width = start.timestamp(), step.total_seconds()
    for row in found:
        notice = Figures.of(row)
        everything.append(notice)
        by_hoster[row[6]].append(notice)
        buckets[int((notice.created - origin) // width)].append(notice)
    steps = -((start - end) // step)
    at = now.timestamp()
    return Dashboard(
        hosters=[_row(name, members, at) for name, members in sorted(by_hoster.items())],
        total=_row("total", everything, at),
        series=[(start + step * i, _row("total", buckets[i], at)) for i in range(steps)],
        hours=_hours([n for n in everything if n.status == "removed" and n.closed is not None]),
    )


def to_csv(rows: Iterable[ComplianceRow], delimiter: str = ",") -> str:
    """The rows as CSV with a header line; shares with 4 decimals, hours with 2, blanks for None."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow([field.name for field in fields(ComplianceRow)])
    for row in rows:
        writer.writerow([_cell(name, value) for name, value in zip(_NAMES, astuple(row), strict=True)])
    return out.getvalue()


_NAMES = [field.name for field in fields(ComplianceRow)]


def _period(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Notices created in ``[start, end)``, once both are checked; never one the hoster has not seen
    (in review, or dismissed there: a confirmed one counts from its confirmation)."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidRequest(name, "give a time zone (UTC offset)")
    if start >= end:
        raise InvalidRequest(
            "end", f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    return (Notice.created_at >= start) & (Notice.created_at < end) & Notice.status.not_in(UNSEEN_BY_HOSTER)


_COLUMNS = (
    Notice.id,
    Notice.status,
    Notice.created_at,
    Notice.deadline,
    Notice.closed_at,
    Notice.binding_order,
)
"""What the figures come from (not whole notices: a period can hold many thousands)."""


def _figures(session: Session, where: ColumnElement[bool]) -> list[Figures]:
    return [Figures.of(row) for row in session.execute(select(*_COLUMNS).where(where))]


def _hours(removed: Sequence[Figures]) -> list[float]:
    """Hours from creation to removal of each (removed) notice, ascending."""
    return sorted(
        (closed - notice.created) / 3600 for notice in removed if (closed := notice.closed) is not None
    )


def _row(group: str, notices: Sequence[Figures], now: float) -> ComplianceRow:
    status = Counter(notice.status for notice in notices)
    removals = [notice for notice in notices if notice.status == "removed" and notice.closed is not None]
    on_time = sum(1 for notice in removals if notice.closed is not None and notice.closed <= notice.deadline)
    late_now = sum(1 for notice in notices if notice.status in ("open", "overdue") and notice.deadline <= now)
    hours = _hours(removals)
    due = len(removals) + late_now
    return ComplianceRow(
        group=group,
        notices=len(notices),
        open=status["open"],
        overdue=status["overdue"],
        disputed=status["disputed"],
        removed=status["removed"],
        withdrawn=status["withdrawn"],
        removed_within_deadline=on_time,
        removed_within_deadline_share=on_time / due if due else None,
        median_hours_to_removal=_percentile(hours, 0.5),
        p90_hours_to_removal=_percentile(hours, 0.9),
        overdue_now=late_now,
        binding_orders=sum(1 for notice in notices if notice.binding_order),
    )


def _percentile(ordered: Sequence[float], fraction: float) -> float | None:
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _cell(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if name.endswith("share") else f"{value:.2f}"
    return str(value)
