"""The schema: migrations apply on SQLite and PostgreSQL, are idempotent and match the models."""

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import IntegrityError

import db.models
from db import Base, make_engine, make_session_factory, upgrade
from db.clock import ManualClock, SystemClock
from db.models import Entry, HashList, ListVersion, Notice, NoticeEvent, NoticeMatch, Organisation
from db.periodic import Periodic
from matching import Hit, RefResult, new_public_id, open_notice, ref_digest
from tests.listdata import codes, new_list

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def test_migrations_create_every_table_and_match_the_models(engine: Engine) -> None:
    upgrade(engine)  # a second run changes nothing
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert db.models.ROLES == ("hotline", "hoster", "authority", "admin")


def test_timestamps_come_back_in_utc_and_naive_ones_are_refused(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    amsterdam = timezone(timedelta(hours=1))
    with sessions.begin() as session:
        session.add(
            Organisation(name="EOKM", role="hotline", created_at=datetime(2026, 1, 1, 12, tzinfo=amsterdam))
        )
    with sessions() as session:
        stored = session.query(Organisation).one().created_at
    assert stored == datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert stored.tzinfo is not None
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as session:
        session.add(Organisation(name="IWF", role="hotline", created_at=datetime(2026, 1, 1)))


def test_foreign_keys_and_unique_names_are_enforced(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        session.add(Organisation(name="EOKM", role="hotline"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(Organisation(name="EOKM", role="hoster"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(db.models.HashList(organisation_id=999, name="orphan"))


def test_the_manual_clock_stands_still_until_moved() -> None:
    start = datetime(2026, 11, 23, 9, tzinfo=timezone(timedelta(hours=1)))
    clock = ManualClock(start)
    assert clock.now() == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(hours=25)) == datetime(2026, 11, 24, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 1, 1))
    assert SystemClock().now().tzinfo is UTC


def test_a_periodic_step_survives_a_failure_and_stops_when_asked() -> None:
    calls: list[int] = []
    third = threading.Event()

    def step() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("the database is down")
        if len(calls) == 3:
            third.set()

    periodic = Periodic("test-step", 0.001, step)
    periodic.start()
    assert third.wait(10)
    periodic.stop()
    stopped_at = len(calls)
    assert not any(thread.name == "test-step" for thread in threading.enumerate())
    assert len(calls) == stopped_at >= 3


def test_migration_0004_withdraws_the_notices_a_crash_left_half_written(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0003b")
    sessions = make_session_factory(engine)
    list_id = new_list(sessions)
    with sessions.begin() as session:  # entries as they were at 0003b (later columns left unset)
        version = ListVersion(list_id=list_id, number=1, mode="full", entries=2, types={"md5": 2})
        session.add(version)
        session.flush()
        session.execute(
            insert(Entry),
            [
                {"list_id": list_id, "hash_type": "md5", "value": bytes(row), "added_in": version.id}
                for row in codes(2, 1, 16)
            ],
        )
    with sessions.begin() as session:
        hoster = Organisation(name="hoster", role="hoster")
        session.add(hoster)
        session.flush()
        entry_id = session.scalars(select(Entry.id).order_by(Entry.id)).first()
        assert entry_id is not None
        hash_list = session.get_one(HashList, list_id)
        hit = Hit("md5", entry_id, 0, list_id, hash_list.name, hash_list.organisation_id, None, "A")
        whole, _ = open_notice(session, hoster.id, RefResult("a.jpg", True, "high", ["md5"], hits=[hit]), T0)
        bare = _notice(hoster.id, "b.jpg", "open")  # what a crash left: the notice row alone
        unheard = _notice(hoster.id, "c.jpg", "overdue")  # matches, but no `created` event
        closed = _notice(hoster.id, "d.jpg", "removed")
        session.add_all([bare, unheard, closed])
        session.flush()
        session.add(
            NoticeMatch(notice_id=unheard.id, entry_id=entry_id, list_id=list_id, hash_type="md5", distance=0)
        )
        ids = {"whole": whole.id, "bare": bare.id, "unheard": unheard.id, "closed": closed.id}

    upgrade(engine)

    with sessions() as session:
        after = {name: session.get_one(Notice, notice_id) for name, notice_id in ids.items()}
        events = {
            name: [
                (event.action, event.status, event.actor_id, event.reason)
                for event in session.scalars(
                    select(NoticeEvent).where(NoticeEvent.notice_id == notice_id).order_by(NoticeEvent.id)
                )
            ]
            for name, notice_id in ids.items()
        }
        assert [after[name].status for name in ("whole", "bare", "unheard", "closed")] == [
            "open", "withdrawn", "withdrawn", "removed"
        ]  # fmt: skip
        for name in ("bare", "unheard"):
            assert after[name].active_ref is None
            assert after[name].closed_at is not None
            [(action, status, actor, reason)] = events[name]
            assert (action, status, actor) == ("withdrawn", "withdrawn", None)
            assert reason.startswith("left half-written by a crash before its matches")
        assert events["whole"] == [("created", "open", after["whole"].hoster_id, "")]
        assert events["closed"] == []
        assert after["whole"].active_ref is not None
        _, new = open_notice(
            session, after["bare"].hoster_id, RefResult("b.jpg", True, "high", ["md5"], hits=[hit]), T0
        )
        assert new  # the ref the crash had blocked is noticed again
    engine.dispose()


def _notice(hoster_id: int, ref: str, status: str) -> Notice:
    closed = status in ("removed", "withdrawn")
    return Notice(
        public_id=new_public_id(),
        hoster_id=hoster_id,
        ref=ref,
        active_ref=None if closed else ref_digest(ref),
        status=status,
        confidence="high",
        signals=["md5"],
        created_at=T0,
        closed_at=T0 + timedelta(hours=1) if closed else None,
        deadline=T0 + timedelta(hours=24),
    )
