"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL server."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db import make_engine, upgrade
from tests.postgres import PostgresServer, PostgresUnavailable, new_database, postgres_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | PostgresUnavailable]:
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as reason:
        yield reason


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
