"""Engines and sessions: SQLite embedded by default, PostgreSQL by URL."""

from functools import partial
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str | URL, *, durable: bool = True, **options: Any) -> Engine:
    """An engine for ``url``. SQLite files get write-ahead logging, enforced foreign keys, full
    fsync on commit (a committed notice survives a power cut) and a busy timeout for concurrent
    writers in other processes.

    ``durable=False`` is for state that may lose its last commits to a power cut (never to a crash of
    the process, and never its consistency), such as rate budgets: commits wait for no disk sync
    (SQLite: ``synchronous=NORMAL`` under WAL; PostgreSQL: ``synchronous_commit=off``)."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", partial(_sqlite_pragmas, "FULL" if durable else "NORMAL"))
        return engine
    if not durable:
        options["connect_args"] = {"options": "-c synchronous_commit=off"}
    return create_engine(url, pool_pre_ping=True, **options)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(synchronous: str, connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    pragmas = ("journal_mode=WAL", "foreign_keys=ON", f"synchronous={synchronous}", "busy_timeout=30000")
    for pragma in pragmas:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
