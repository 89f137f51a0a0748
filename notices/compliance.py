"""Compliance figures for the authority: how fast hosters act on notices.

Definitions (``compliance_report``):

- **period**: the notices *created* in ``[start, end)``, whatever happened to them later;
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
from datetime import UTC, date, datetime, time
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import HashList, Notice, NoticeMatch, Organisation
from notices.errors import InvalidRequest

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
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None:
            raise InvalidRequest(name, "give a time zone (UTC offset)")
    if start >= end:
        raise InvalidRequest(
            "end", f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    in_period = (Notice.created_at >= start) & (Notice.created_at < end)
    notices = {notice.id: notice for notice in session.scalars(select(Notice).where(in_period))}
    if group_by == "total":
        return [_row("total", list(notices.values()), now)]
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
    groups: dict[str, list[Notice]] = defaultdict(list)
    for notice_id, group in session.execute(pairs.where(in_period)):
        groups[group].append(notices[notice_id])
    return [_row(group, members, now) for group, members in sorted(groups.items())]


def to_csv(rows: Iterable[ComplianceRow], delimiter: str = ",") -> str:
    """The rows as CSV with a header line; shares with 4 decimals, hours with 2, blanks for None."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow([field.name for field in fields(ComplianceRow)])
    for row in rows:
        writer.writerow([_cell(name, value) for name, value in zip(_NAMES, astuple(row), strict=True)])
    return out.getvalue()


_NAMES = [field.name for field in fields(ComplianceRow)]


def _row(group: str, notices: Sequence[Notice], now: datetime) -> ComplianceRow:
    status = Counter(notice.status for notice in notices)
    removals = [
        (notice.closed_at, notice)
        for notice in notices
        if notice.status == "removed" and notice.closed_at is not None
    ]
    on_time = sum(1 for closed_at, notice in removals if closed_at <= notice.deadline)
    late_now = sum(1 for notice in notices if notice.status in ("open", "overdue") and notice.deadline <= now)
    hours = sorted((closed_at - notice.created_at).total_seconds() / 3600 for closed_at, notice in removals)
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
