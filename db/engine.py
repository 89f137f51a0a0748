"""Engines and sessions: SQLite embedded by default, PostgreSQL by URL."""

from functools import partial
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER"})
"""The statements that open a SQLite transaction (a write, a savepoint or DDL)."""


def make_engine(url: str | URL, *, durable: bool = True, **options: Any) -> Engine:
    """An engine for ``url``. SQLite files get write-ahead logging, enforced foreign keys, full
    fsync on commit (a committed notice survives a power cut), a busy timeout for concurrent
    writers in other processes, and transactions that hold what a session wrote together (see
    :func:`_begin_before_first_write`).

    ``durable=False`` is for state that may lose its last commits to a power cut (never to a crash of
    the process, and never its consistency), such as rate budgets: commits wait for no disk sync
    (SQLite: ``synchronous=NORMAL`` under WAL; PostgreSQL: ``synchronous_commit=off``)."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", partial(_sqlite_connect, "FULL" if durable else "NORMAL"))
        event.listen(engine, "before_cursor_execute", _begin_before_first_write)
        return engine
    if not durable:
        options["connect_args"] = {"options": "-c synchronous_commit=off"}
    return create_engine(url, pool_pre_ping=True, **options)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_connect(synchronous: str, connection: Any, _record: Any) -> None:
    connection.isolation_level = None  # the driver never begins a transaction itself: we do
    cursor = connection.cursor()
    pragmas = ("journal_mode=WAL", "foreign_keys=ON", f"synchronous={synchronous}", "busy_timeout=30000")
    for pragma in pragmas:
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
