"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL server."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import Engine

from config import get_settings
from db import make_engine, upgrade
from tests.postgres import PostgresServer, PostgresUnavailable, new_database, postgres_server
from tests.redis_server import RedisUnavailable, redis_server
from tests.s3 import S3Server, s3_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | PostgresUnavailable]:
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as reason:
        yield reason


@pytest.fixture(scope="session")
def redis() -> Iterator[str | RedisUnavailable]:
    """The URL of a Redis server for the session (or why there is none)."""
    try:
        with redis_server() as url:
            yield url
    except RedisUnavailable as reason:
        yield reason


@pytest.fixture
def redis_url(redis: str | RedisUnavailable) -> str:
    """The URL of the session's Redis server, emptied; skips the test when there is none."""
    if isinstance(redis, RedisUnavailable):
        pytest.skip(f"Redis run skipped: {redis}")
    flush = Redis.from_url(redis)
    flush.flushdb()
    flush.close()
    return redis


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresServer | PostgresUnavailable
) -> str:
    """The URL of a new, empty database: a SQLite file, then a PostgreSQL database."""
    return new_database(request.param, tmp_path, postgres)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a new database migrated to the newest schema."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


Configure = Callable[..., None]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Set settings through the environment, as a user does: ``configure(data_dir=..., database_url=...)``
    sets ``HASHMATCH_DATA_DIR`` and ``HASHMATCH_DATABASE_URL``; the settings are read again after each call
    and after the test."""

    def apply(**variables: object) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(f"HASHMATCH_{name.upper()}", str(value))
        get_settings.cache_clear()

    monkeypatch.delenv("HASHMATCH_DATABASE_URL", raising=False)
    yield apply
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """moto's S3 server (see tests/s3.py), for the whole session."""
    with s3_server() as server:
        yield server
