"""Rate budgets counted in hashes, one per bucket (an organisation), kept in the database: every worker
and replica spends the same budget, and a restart gives nothing back.

GCRA (the generic cell rate algorithm): a bucket keeps one time, its theoretical arrival time (TAT),
the moment its budget would be whole again. With an interval of 1/rate per hash, a take of ``cost``
hashes at ``now`` passes if ``max(TAT, now) + cost/rate - now <= burst/rate`` and then moves TAT to
``max(TAT, now) + cost/rate``. One conditional upsert decides and records a take atomically (two
workers can never both spend the last of a budget), creating the bucket on first use. Times are whole
nanoseconds, the interval rounded up: exact arithmetic, never more than ``rate``.

The store is SQL through SQLAlchemy core (SQLite and PostgreSQL: no maintained rate-limit library has
one). The same algorithm runs in Redis where ``HASHMATCH_REDIS_URL`` is set (:mod:`guard.budgets_redis`).
"""

import math
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import BigInteger, Engine, Executable, bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite

from db.clock import Clock
from db.models import RateBudget

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NS = 1_000_000_000
MAX_TOLERANCE_NS = 10**18
"""The longest burst / rate, about 31 years: keeps TAT within a 64-bit integer."""


class CostOverBurst(ValueError):
    """A take larger than the whole budget: it could never pass, however long one waited."""


class Budgets(Protocol):
    """A shared rate budget store."""

    def take(self, bucket: str, cost: int, *, rate: float | None = None) -> float | None:
        """Spend ``cost`` of ``bucket``'s budget: None if allowed, else the seconds until it fits."""
        ...


RETRIES = 3
"""Takes tried in a row when a refusal came from waiting for the database, not from the budget."""


class RateBudgets:
    """GCRA buckets of ``burst`` hashes refilled at ``rate`` hashes per second, in ``engine``'s database
    (table ``rate_budgets``).

    Each take is its own short transaction: give it an engine of its own from
    ``db.make_engine(url, durable=False)``, whose commits wait for no disk sync (a power cut may give
    back the last seconds of budget), and never call it inside another transaction."""

    def __init__(self, engine: Engine, clock: Clock, rate: float, burst: int) -> None:
        if burst < 1:
            raise ValueError(f"the burst must be at least 1 hash, not {burst}")
        self.engine = engine
        self.clock = clock
        self.rate = rate
        self.burst = burst
        interval_of(rate, burst, NS)  # refuse a bad rate now rather than at the first take
        self._take = _conditional_upsert(engine.dialect.name)
        self._read = select(RateBudget.tat_ns).where(RateBudget.bucket == bindparam("bucket"))

    def take(self, bucket: str, cost: int, *, rate: float | None = None) -> float | None:
        """Spend ``cost`` hashes of ``bucket``'s budget (at ``rate`` hashes per second, lower to throttle
        it, instead of the default): None if allowed, else the seconds to wait until ``cost`` fits, in
        which case nothing is spent. A cost over the burst raises :class:`CostOverBurst`.

        The burst stays ``burst`` hashes at any rate. What is owed is kept as time, so it is paid off at
        the rate of the take that reads it: moving a bucket to a lower rate forgives part of its debt
        (at most one burst, once), moving it back makes it wait out the rest at the higher rate."""
        if check_cost(cost, self.burst) == 0:
            return None
        interval = interval_of(self.rate if rate is None else rate, self.burst, NS)
        step, tolerance = cost * interval, self.burst * interval
        for _ in range(RETRIES):
            now = self._now_ns()
            params = {"bucket": bucket, "now": now, "step": step, "tolerance": tolerance}
            with self.engine.begin() as connection:
                if connection.execute(self._take, params).first() is not None:
                    return None
                tat = connection.execute(self._read, {"bucket": bucket}).scalar_one()
            # ``now`` was read before the write lock was ours: others' takes may have passed meanwhile.
            # Refused only if the budget is short at the moment of the refusal too; else take again.
            later = self._now_ns()
            wait = max(tat, later) + step - tolerance - later
            if wait > 0:
                return max(wait, 1_000_000) / NS
        return 1_000_000 / NS

    def _now_ns(self) -> int:
        return (self.clock.now() - EPOCH) // timedelta(microseconds=1) * 1000


def check_cost(cost: int, burst: int) -> int:
    """``cost`` if a take of it can ever pass; :class:`CostOverBurst` if it exceeds ``burst``."""
    if cost < 0:
        raise ValueError(f"a cost is a number of hashes, not {cost}")
    if cost > burst:
        raise CostOverBurst(
            f"{cost} hashes at once is more than the rate limit's burst of {burst} hashes "
            "per organisation: it could never pass; send fewer at once"
        )
    return cost


def interval_of(rate: float, burst: int, ticks_per_second: int) -> int:
    """The time one hash takes at ``rate``, in whole ticks, rounded up (never more than ``rate``)."""
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"a rate is a positive number of hashes per second, not {rate}")
    interval = math.ceil(ticks_per_second / rate)
    if burst * interval > MAX_TOLERANCE_NS * ticks_per_second // NS:
        raise ValueError(
            f"a burst of {burst} hashes at {rate} per second lasts over 30 years: raise the rate"
        )
    return interval


def _conditional_upsert(dialect: str) -> Executable:
    """``INSERT ... ON CONFLICT (bucket) DO UPDATE SET tat = max(tat, now) + step WHERE that is within
    the tolerance RETURNING tat``: a row comes back if and only if the take passed."""
    insert: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        insert = postgresql.insert(RateBudget)
    elif dialect == "sqlite":
        insert = sqlite.insert(RateBudget)
    else:
        raise ValueError(f"rate budgets are kept in SQLite or PostgreSQL, not {dialect}")
    now, step = bindparam("now", type_=BigInteger), bindparam("step", type_=BigInteger)
    tolerance = bindparam("tolerance", type_=BigInteger)
    tat = RateBudget.__table__.c.tat_ns
    start = case((tat > now, tat), else_=now)
    return (
        insert.values(bucket=bindparam("bucket"), tat_ns=now + step)
        .on_conflict_do_update(
            index_elements=[RateBudget.bucket],
            set_={"tat_ns": start + step},
            where=start + step - now <= tolerance,
        )
        .returning(tat)
    )
