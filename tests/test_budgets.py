"""Rate budgets in the database and in Redis: shared by workers, kept across restarts, counted in hashes."""

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from api.app import create_app
from db import make_engine, upgrade
from db.clock import Clock, ManualClock
from guard.budgets import Budgets, CostOverBurst, RateBudgets
from guard.budgets_redis import RedisBudgets
from tests.api.support import make_settings
from tests.postgres import PostgresServer, PostgresUnavailable, new_database
from tests.redis_server import RedisUnavailable

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

Make = Callable[[int, Clock, float, int], Budgets]
"""``make(worker, clock, rate, burst)``: the budgets of worker 0 or 1, each with a connection of its own."""


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres: PostgresServer | PostgresUnavailable,
    redis: str | RedisUnavailable,
) -> Iterator[Make]:
    """Budgets of two workers on one new store: a SQLite file, a PostgreSQL database, a Redis server."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        yield lambda worker, clock, rate, burst: RedisBudgets(url, rate, burst, clock)
        return
    url = new_database(request.param, tmp_path, postgres)
    migrating = make_engine(url)
    upgrade(migrating)
    migrating.dispose()
    engines = [make_engine(url, durable=False) for _ in range(2)]
    yield lambda worker, clock, rate, burst: RateBudgets(engines[worker], clock, rate, burst)
    for each in engines:
        each.dispose()


@pytest.fixture
def workers(engine: Engine) -> Iterator[list[Engine]]:
    """Two engines of their own on the test database, as two worker processes have."""
    engines = [make_engine(engine.url, durable=False) for _ in range(2)]
    yield engines
    for each in engines:
        each.dispose()


def test_a_take_passes_within_the_burst_and_says_how_long_to_wait_after(store: Make) -> None:
    clock = ManualClock(START)
    budgets = store(0, clock, 10, 100)
    assert budgets.take("org:1", 60) is None
    assert budgets.take("org:1", 40) is None
    assert budgets.take("org:1", 25) == pytest.approx(2.5)  # 25 hashes at 10 a second
    clock.advance(timedelta(seconds=2))
    assert budgets.take("org:1", 25) == pytest.approx(0.5)  # a refused take spent nothing
    clock.advance(timedelta(seconds=0.5))
    assert budgets.take("org:1", 25) is None
    assert budgets.take("org:2", 100) is None  # buckets are separate


def test_a_cost_over_the_burst_is_refused_naming_the_limit(store: Make) -> None:
    budgets = store(0, ManualClock(START), 10, 100)
    with pytest.raises(CostOverBurst, match="burst of 100 hashes"):
        budgets.take("org:1", 101)


def test_two_workers_share_one_budget_within_ten_percent(store: Make) -> None:
    clock = ManualClock(START)
    one, two = (store(worker, clock, 50, 200) for worker in (0, 1))
    granted = 0
    for _ in range(100):  # 10 s, a take of 7 hashes by each worker every 0.1 s
        for budgets in (one, two):
            if budgets.take("org:1", 7) is None:
                granted += 7
        clock.advance(timedelta(seconds=0.1))
    assert 200 + 50 * 10 * 0.9 <= granted <= 200 + 50 * 10


def test_concurrent_takes_through_two_connections_never_spend_more_than_the_budget(store: Make) -> None:
    clock = ManualClock(START)  # stands still: nothing refills while the threads race
    granted = [0] * 8

    def spend(thread: int) -> None:
        budgets = store(thread % 2, clock, 1, 300)
        for _ in range(60):
            if budgets.take("org:1", 1) is None:
                granted[thread] += 1

    threads = [threading.Thread(target=spend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 300  # 480 asked for


def test_a_restart_keeps_what_was_spent(store: Make) -> None:
    clock = ManualClock(START)
    assert store(0, clock, 100, 1000).take("org:1", 1000) is None
    assert store(1, clock, 100, 1000).take("org:1", 500) == pytest.approx(5.0)  # a new process


def test_a_throttled_rate_refills_the_same_bucket_slower(store: Make) -> None:
    clock = ManualClock(START)
    budgets = store(0, clock, 100, 100)
    assert budgets.take("org:1", 100, rate=2) is None  # the burst is the same
    assert budgets.take("org:1", 10, rate=2) == pytest.approx(5.0)  # 10 hashes at 2 a second
    clock.advance(timedelta(seconds=5))
    assert budgets.take("org:1", 10, rate=2) is None
    assert budgets.take("org:1", 1, rate=2) == pytest.approx(0.5)
    unthrottled = budgets.take("org:1", 1)  # the debt is paid off at the rate it was run up at
    assert unthrottled == pytest.approx(50 - 1 + 0.01)


def test_the_budget_engine_commits_without_waiting_for_the_disk(workers: list[Engine]) -> None:
    with workers[0].connect() as connection:
        if workers[0].dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
        else:
            assert connection.execute(text("SHOW synchronous_commit")).scalar_one() == "off"


class LateClock:
    """The time as a worker that waited for the database's write lock saw it: first when it asked,
    then, from its second reading on, when it got the lock."""

    def __init__(self, asked: datetime, locked: datetime) -> None:
        self.readings = [asked, locked]

    def now(self) -> datetime:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


def test_a_take_that_waited_for_the_lock_is_not_refused_for_the_time_it_waited(workers: list[Engine]) -> None:
    """Under load a worker reads the time, then waits for the write lock while others' takes pass:
    the budget must be judged at the time of the decision, not at the time the worker asked."""
    later = START + timedelta(seconds=2)
    RateBudgets(workers[0], ManualClock(later), rate=1000, burst=1000).take("org:1", 500)
    waited = RateBudgets(workers[1], LateClock(START, later), rate=1000, burst=1000)
    assert waited.take("org:1", 1) is None  # half the burst is left at the time it got the lock


def test_replicas_with_skewed_clocks_spend_one_redis_budget_by_the_servers_clock(
    redis_url: str, tmp_path: Path
) -> None:
    """The service's Redis buckets go by the Redis server's clock (``TIME`` in the script), not each
    replica's: one whose clock runs an hour ahead finds the budget another just spent as spent."""
    settings = make_settings(
        f"sqlite:///{tmp_path / 'hashmatch.db'}",
        tmp_path,
        redis_url=redis_url,
        rate_hashes_per_second=10_000,
        rate_burst_hashes=10_000,
        max_items=10_000,
    )
    right = create_app(settings, clock=ManualClock(datetime.now(UTC)))
    ahead = create_app(settings, clock=ManualClock(datetime.now(UTC) + timedelta(hours=1)))
    behind = create_app(settings, clock=ManualClock(datetime.now(UTC) - timedelta(hours=1)))
    budgets = [app.state.services.budgets for app in (right, ahead, behind)]
    assert budgets[0].take("org:1", 10_000) is None
    waits = [found.take("org:1", 5_000) for found in budgets[1:]]
    assert all(wait is not None and 0 < wait <= 0.5 for wait in waits), waits  # 5,000 at 10,000 a second
