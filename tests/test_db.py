"""The schema: migrations apply on SQLite and PostgreSQL, are idempotent and match the models."""

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

import db.models
from db import Base, make_session_factory, upgrade
from db.clock import ManualClock, SystemClock
from db.models import Organisation
from db.periodic import Periodic


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
