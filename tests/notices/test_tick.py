"""Deadlines and reminders on a clock the test moves: no sleeping."""

from datetime import timedelta

from db.clock import ManualClock
from notices.lifecycle import TickSummary, dispute, escalate, tick
from tests.notices.conftest import T0, World, history


def test_reminder_at_a_quarter_left_then_overdue_then_every_six_hours(world: World) -> None:
    clock = ManualClock(T0)
    with world.sessions.begin() as session:
        notice = world.notice(session, [world.eokm_pdq])  # deadline T0 + 24 h
        disputed = world.notice(session, [world.eokm_pdq])
        dispute(session, disputed, world.host_a, reason="not ours", now=T0)

    def run(at: timedelta) -> tuple[TickSummary, list[str]]:
        clock.advance(T0 + at - clock.now())
        with world.sessions.begin() as session:
            summary = tick(session, clock.now())
            assert tick(session, clock.now()) == TickSummary(overdue=0, reminded=0)  # idempotent
            return summary, [action for action, _, _ in history(session, notice)]

    assert run(timedelta(hours=17, minutes=59)) == (TickSummary(0, 0), ["created"])
    assert run(timedelta(hours=18)) == (TickSummary(0, 1), ["created", "reminded"])
    assert run(timedelta(hours=23, minutes=59)) == (TickSummary(0, 0), ["created", "reminded"])
    assert run(timedelta(hours=24)) == (TickSummary(1, 0), ["created", "reminded", "overdue"])
    assert run(timedelta(hours=29, minutes=59))[0] == TickSummary(0, 0)
    assert run(timedelta(hours=30)) == (TickSummary(0, 1), ["created", "reminded", "overdue", "reminded"])
    assert run(timedelta(hours=36))[0] == TickSummary(0, 1)
    with world.sessions() as session:
        assert history(session, notice)[2:] == [
            ("overdue", "overdue", None),
            ("reminded", "overdue", None),
            ("reminded", "overdue", None),
        ]
        # a disputed notice waits for the hotline: no deadline runs against the hoster meanwhile
        assert [action for action, _, _ in history(session, disputed)] == ["created", "disputed"]


def test_a_binding_order_gets_its_own_reminder_and_deadline(world: World) -> None:
    with world.sessions.begin() as session:
        notice = world.notice(session, [world.eokm_pdq])
        assert tick(session, T0 + timedelta(hours=18)) == TickSummary(0, 1)
        escalate(session, notice, world.atkm, hours=4, reason="ATKM order 9", now=T0 + timedelta(hours=19))
        # window 19 h .. 23 h: reminder with an hour left, overdue at 23 h
        assert tick(session, T0 + timedelta(hours=21, minutes=59)) == TickSummary(0, 0)
        assert tick(session, T0 + timedelta(hours=22)) == TickSummary(0, 1)
        assert tick(session, T0 + timedelta(hours=23)) == TickSummary(1, 0)
        assert notice.status == "overdue"


def test_a_tick_after_a_long_pause_marks_overdue_without_a_late_reminder(world: World) -> None:
    with world.sessions.begin() as session:
        notice = world.notice(session, [world.eokm_pdq])
        assert tick(session, T0 + timedelta(days=3)) == TickSummary(1, 0)
        assert [action for action, _, _ in history(session, notice)] == ["created", "overdue"]
        assert tick(session, T0 + timedelta(days=3, hours=6)) == TickSummary(0, 1)
