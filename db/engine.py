"""Engines and sessions: SQLite embedded by default, PostgreSQL by URL."""

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER"})
"""The statements that open a SQLite transaction (a write, a savepoint or DDL)."""


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url``. SQLite files get write-ahead logging, enforced foreign keys, full
    fsync on commit (a committed notice survives a power cut), a busy timeout for concurrent
    writers in other processes, and transactions that hold what a session wrote together (see
    :func:`_begin_before_first_write`)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "before_cursor_execute", _begin_before_first_write)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_connect(connection: Any, _record: Any) -> None:
    connection.isolation_level = None  # the driver never begins a transaction itself: we do
    cursor = connection.cursor()
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=FULL", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_before_first_write(
    conn: Connection, cursor: Any, statement: str, _parameters: Any, _context: Any, _executemany: bool
) -> None:
    """``BEGIN IMMEDIATE`` before a transaction's first write, savepoint or DDL statement.

    pysqlite left alone begins only before INSERT, UPDATE, DELETE and REPLACE: a SAVEPOINT outside a
    transaction then starts one that its RELEASE commits, and DDL runs outside any transaction. Here
    every write of a SQLAlchemy transaction is in one SQLite transaction, committed or rolled back
    whole. It starts at the first write, not at the first read, and takes the write lock at once
    (waiting up to the busy timeout for other writers): a transaction that began at a read could
    not take the write lock later if another connection had committed meanwhile (SQLITE_BUSY, which
    no busy timeout waits out). Reads before the first write each see the newest commit, as under
    PostgreSQL's READ COMMITTED; reads after it are serialized with every other writer."""
    autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    if cursor.connection.in_transaction or autocommit:
        return
    words = statement.split(None, 1)
    if words and words[0].upper() in _WRITES:
        cursor.execute("BEGIN IMMEDIATE")
