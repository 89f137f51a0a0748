"""Rate budgets in Redis (``HASHMATCH_REDIS_URL``): the same GCRA as :mod:`guard.budgets`, one Lua script
per take, so every worker and replica spends one budget without a database write per call.

The time is the Redis server's (``TIME`` in the script), so every replica judges a bucket by one clock:
a replica whose clock is skewed neither grants a spent budget again nor refuses a whole one. (A script
that reads ``TIME`` and then writes is replicated by its effects: Redis 5 and later.) Tests give a clock
of their own instead, to set the time.

Why not one of ``limits``' strategies: they are windows (fixed, moving, sliding counter) that key each
rate separately, so a throttled organisation would start a fresh, full budget at its lower rate instead
of paying off what it owes. The ``limits`` package still gives the connection: its Redis storage reads
every URL form (``redis://``, ``rediss://``, ``redis+unix://``, ``redis+sentinel://``,
``redis+cluster://``) and checks the server.

Times are whole microseconds since 1970 (Lua numbers are doubles: exact up to 2^53), so a rate is at
most 1,000,000 hashes per second per organisation. A bucket expires once its budget is whole again.
Redis keeps budgets in memory: a Redis restart without persistence gives them back.
"""

from datetime import timedelta

from limits.errors import ConfigurationError
from limits.storage import RedisStorage, storage_from_string
from limits.typing import RedisClientP

from db.clock import Clock
from guard.budgets import EPOCH, check_cost, interval_of

US = 1_000_000
PREFIX = "hashmatch:budget:"

TAKE = b"""
local step, tolerance, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local start = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
if start + step - now > tolerance then
  return {0, string.format('%.0f', start), string.format('%.0f', now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', start + step), 'PX', math.ceil((start + step - now) / 1000))
return {1, string.format('%.0f', start + step), string.format('%.0f', now)}
"""
"""KEYS: the bucket; ARGV: now ('' for the server's time), cost / rate and burst / rate in microseconds.
Returns (1 if taken, else 0, the bucket's TAT then, the time it went by)."""


class RedisUnavailable(RuntimeError):
    """The Redis server of ``HASHMATCH_REDIS_URL`` cannot be used."""


class RedisBudgets:
    """GCRA buckets of ``burst`` hashes refilled at ``rate`` hashes per second, in Redis at ``url``: see
    :class:`guard.budgets.RateBudgets` for what a take means; only the store differs. The time is the
    Redis server's unless ``clock`` is given (tests that set the time)."""

    def __init__(self, url: str, rate: float, burst: int, clock: Clock | None = None) -> None:
        if burst < 1:
            raise ValueError(f"the burst must be at least 1 hash, not {burst}")
        interval_of(rate, burst, US)  # refuse a bad rate now rather than at the first take
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self._take = connect(url).register_script(TAKE)

    def take(self, bucket: str, cost: int, *, rate: float | None = None) -> float | None:
        """See :meth:`guard.budgets.RateBudgets.take`."""
        if check_cost(cost, self.burst) == 0:
            return None
        interval = interval_of(self.rate if rate is None else rate, self.burst, US)
        now = "" if self.clock is None else (self.clock.now() - EPOCH) // timedelta(microseconds=1)
        step, tolerance = cost * interval, self.burst * interval
        taken, tat, then = self._take(keys=[PREFIX + bucket], args=[now, step, tolerance])
        if int(taken):
            return None
        return (int(tat) + step - tolerance - int(then)) / US


def connect(url: str) -> RedisClientP:
    """A client of the Redis server at ``url`` (connecting at its first command)."""
    try:
        storage = storage_from_string(url)
    except ConfigurationError as error:
        raise RedisUnavailable(f"HASHMATCH_REDIS_URL: {error}") from None
    if not isinstance(storage, RedisStorage):
        raise RedisUnavailable(
            "HASHMATCH_REDIS_URL: not a Redis URL (redis://, rediss://, redis+sentinel://)"
        )
    return storage.get_connection()


def check_redis(url: str) -> None:
    """:class:`RedisUnavailable`, in one line, unless the Redis server at ``url`` answers."""
    try:
        connect(url).ping()
    except RedisUnavailable:
        raise
    except Exception as error:
        raise RedisUnavailable(f"the Redis server of HASHMATCH_REDIS_URL does not answer: {error}") from None
