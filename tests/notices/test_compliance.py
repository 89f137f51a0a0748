"""Compliance figures on a small example worked out by hand."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from notices.compliance import ComplianceRow, compliance_report, dashboard, parse_bound, to_csv
from notices.errors import InvalidRequest
from notices.lifecycle import confirm_removed, dispute, escalate, resolve_dispute, tick
from tests.notices.conftest import T0, World

END = NOW = T0 + timedelta(days=3)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def example(world: World) -> World:
    """hoster-a: removed after 2 h, 10 h (also on the IWF list) and 30 h (late); overdue; withdrawn after
    a dispute; a binding order (2 h from T0+1h) removed after 2.5 h. hoster-b: removed after 4 h (IWF
    list), disputed, open within its deadline; one before and one at the end of the period."""
    a, b = world.host_a, world.host_b
    with world.sessions.begin() as s:
        confirm_removed(s, world.notice(s, [world.eokm_pdq]), a, now=hours(2) + T0)
        confirm_removed(s, world.notice(s, [world.eokm_pdq, world.iwf_pdq]), a, now=T0 + hours(10))
        confirm_removed(s, world.notice(s, [world.eokm_pdq]), a, now=NOW, removed_at=T0 + hours(30))
        world.notice(s, [world.eokm_pdq], created_at=T0 + hours(1))
        withdrawn = world.notice(s, [world.eokm_md5], created_at=T0 + hours(2))
        dispute(s, withdrawn, a, reason="our logo", now=T0 + hours(3))
        resolve_dispute(s, withdrawn, world.eokm, outcome="withdrawn", reason="agreed", now=T0 + hours(4))
        bound = world.notice(s, [world.eokm_pdq])
        escalate(s, bound, world.atkm, hours=2, reason="ATKM order 4", now=T0 + hours(1))
        confirm_removed(s, bound, a, now=T0 + hours(2.5))
        confirm_removed(
            s, world.notice(s, [world.iwf_pdq], hoster=b, created_at=T0 + hours(5)), b, now=T0 + hours(9)
        )
        dispute(
            s, world.notice(s, [world.eokm_pdq], hoster=b, created_at=T0 + hours(5)), b, reason="x", now=NOW
        )
        world.notice(s, [world.eokm_md5], hoster=b, created_at=T0 + hours(71))
        before = world.notice(s, [world.eokm_pdq], hoster=b, created_at=T0 - hours(1))
        confirm_removed(s, before, b, now=T0)
        world.notice(s, [world.eokm_pdq], hoster=b, created_at=END)
        tick(s, NOW)
    return world


def row(
    group: str, *counts: int, share: float | None, median: float | None, p90: float | None
) -> ComplianceRow:
    notices, open_, overdue, disputed, removed, withdrawn, on_time, overdue_now, binding = counts
    return ComplianceRow(
        group,
        notices,
        open_,
        overdue,
        disputed,
        removed,
        withdrawn,
        on_time,
        share,
        median,
        p90,
        overdue_now,
        binding,
    )


def report(world: World, group_by: str) -> list[dict[str, object]]:
    with world.sessions() as session:
        rows = compliance_report(session, T0, END, group_by, NOW)  # type: ignore[arg-type]
    return [asdict(r) for r in rows]


def test_per_hoster(example: World) -> None:
    assert report(example, "hoster") == [
        pytest.approx(asdict(row("hoster-a", 6, 0, 1, 0, 4, 1, 3, 1, 1, share=0.6, median=6.25, p90=24.0))),
        pytest.approx(asdict(row("hoster-b", 3, 1, 0, 1, 1, 0, 1, 0, 0, share=1.0, median=4.0, p90=4.0))),
    ]


def test_per_list_counts_a_notice_under_each_of_its_lists(example: World) -> None:
    assert report(example, "list") == [
        pytest.approx(
            asdict(row("EOKM/eokm-main", 8, 1, 1, 1, 4, 1, 3, 1, 1, share=0.6, median=6.25, p90=24.0))
        ),
        pytest.approx(asdict(row("IWF/iwf-csam", 2, 0, 0, 0, 2, 0, 2, 0, 0, share=1.0, median=7.0, p90=9.4))),
    ]


def test_total_and_csv(example: World) -> None:
    with example.sessions() as session:
        (total,) = compliance_report(session, T0, END, "total", NOW)
        (empty,) = compliance_report(session, END + hours(1), END + hours(2), "total", NOW)
    assert asdict(total) == pytest.approx(
        asdict(row("total", 9, 1, 1, 1, 5, 1, 4, 1, 1, share=4 / 6, median=4.0, p90=22.0))
    )
    assert to_csv([total, empty]) == (
        "group,notices,open,overdue,disputed,removed,withdrawn,removed_within_deadline,"
        "removed_within_deadline_share,median_hours_to_removal,p90_hours_to_removal,overdue_now,binding_orders\n"
        "total,9,1,1,1,5,1,4,0.6667,4.00,22.00,1,1\n"
        "total,0,0,0,0,0,0,0,,,,0,0\n"
    )


def test_bad_periods_and_groupings_are_refused(world: World) -> None:
    with world.sessions() as session:
        with pytest.raises(InvalidRequest, match="end: the period ends"):
            compliance_report(session, END, T0, "hoster", NOW)
        with pytest.raises(InvalidRequest, match="start: give a time zone"):
            compliance_report(session, T0.replace(tzinfo=None), END, "hoster", NOW)
        with pytest.raises(InvalidRequest, match="group_by"):
            compliance_report(session, T0, END, "country", NOW)  # type: ignore[arg-type]


def test_the_dashboard_holds_the_reports_rows_and_splits_the_period_into_steps(example: World) -> None:
    with example.sessions() as session:
        shown = dashboard(session, T0, END, timedelta(days=2), NOW)
        hosters = compliance_report(session, T0, END, "hoster", NOW)
        (total,) = compliance_report(session, T0, END, "total", NOW)
    assert shown.rows == [*hosters, total]
    assert [moment for moment, _ in shown.series] == [T0, T0 + timedelta(days=2)]  # the second cut at END
    assert [r.notices for _, r in shown.series] == [total.notices - 1, 1]  # created at T0 + 71 h
    assert shown.hours == sorted([2, 10, 30, 2.5, 4])  # the removals of the period, from creation
    with pytest.raises(InvalidRequest, match="step"), example.sessions() as session:
        dashboard(session, T0, END, timedelta(0), NOW)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        (" 2026-11-01 ", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T09:30:00+01:00", datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
        ("2026-11-01T09:30Z", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
    ],
)
def test_a_period_bound_is_a_date_at_midnight_utc_or_a_time_with_its_zone(
    text: str, moment: datetime
) -> None:
    parsed = parse_bound("from", text)
    assert parsed == moment
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-11-01T09:30:00", "has no time zone: add a UTC offset"),
        ("yesterday", "expected a date (2026-11-01: 00:00 UTC) or an ISO 8601 time with a UTC offset"),
        ("2026-11-01T09:30:00 01:00", "in a URL, write + as %2B"),
        ("", "expected a date"),
        ("0001-01-01T00:00:00+14:00", "out of range"),
    ],
)
def test_a_bad_period_bound_names_its_field_and_what_is_expected(text: str, reason: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_bound("to", text)
    assert refused.value.field == "to"
    assert reason in refused.value.reason
