"""The group-committing audit writer: ``flush`` returns only once every record submitted before it is
committed, including those its background thread had already taken and was still writing."""

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from audit import AuditEntry, AuditWriter
from db import make_engine, make_session_factory, upgrade
from db.models import AuditRecord


def test_a_flush_waits_for_the_records_the_background_thread_is_writing(tmp_path: Path) -> None:
    path = tmp_path / "hashmatch.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    writer = AuditWriter(sessions, interval=0.01)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database: the thread's write waits
    writer.submit(AuditEntry("key.used", {}, datetime(2026, 11, 26, tzinfo=UTC)))
    writer.start()
    time.sleep(0.3)  # the background thread has taken the record and waits for the lock
    flushed = threading.Thread(target=writer.flush)
    flushed.start()
    flushed.join(0.5)
    assert flushed.is_alive()  # not returned while the record is not committed
    blocker.execute("ROLLBACK")
    flushed.join(30)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditRecord)) == 1
    writer.stop()
    blocker.close()
    engine.dispose()
