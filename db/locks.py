"""One lock per purpose for every process on one database: who publishes, who migrates.

On PostgreSQL a session-level advisory lock, held on a connection of its own for as long as the work
lasts and released by the server if the holder dies (no stale lock after ``kill -9``). A SQLite
database lives on one machine: a file lock (``flock``) beside the database file, also released when
its holder dies.
"""

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, func, select

PUBLISH = 0x68617368_0001
"""Advisory lock key of ``lists publish`` (one publisher at a time)."""
MIGRATE = 0x68617368_0002
"""Advisory lock key of schema migrations (one migrating process at a time)."""


@contextmanager
def database_lock(engine: Engine, key: int, name: str, fallback_dir: Path | None = None) -> Iterator[None]:
    """Hold the lock ``key`` (PostgreSQL) or the file ``<database>.<name>.lock`` (SQLite; in
    ``fallback_dir`` for a database without a file) until the block ends; waits for the holder."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(select(func.pg_advisory_lock(key)))
            try:
                yield
            finally:
                connection.execute(select(func.pg_advisory_unlock(key)))
        return
    database = engine.url.database
    if database and database != ":memory:":
        path = Path(f"{database}.{name}.lock")
    elif fallback_dir is not None:
        path = fallback_dir / f".{name}.lock"
    else:
        yield  # an in-memory database lives in one process
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
