"""Group commit for the audit log: records of calls that write nothing else (a match without a new
notice, a read) are queued and appended by one background thread, many per transaction, so such a
request costs no disk sync. Calls that change a notice append their record in their own transaction
instead. A crash loses at most the records of the last ``interval``; ``stop`` writes everything queued."""

import logging
import threading
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from audit.log import AuditEntry, append_many
from db.periodic import Periodic

log = logging.getLogger(__name__)


class AuditWriter:
    def __init__(self, sessions: sessionmaker[Session], interval: float = 0.05, batch: int = 2000) -> None:
        self.sessions = sessions
        self.interval = interval
        self.batch = batch
        self._pending: list[AuditEntry] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        """Held while records are taken and written: a flush waits for one under way."""
        self._periodic = Periodic("audit-writer", interval, self._flush_or_keep)

    def submit(self, entry: AuditEntry) -> None:
        with self._lock:
            self._pending.append(entry)

    def flush(self) -> int:
        """Append everything queued now; returns how many records were written. On a database error the
        records stay queued (in order) for the next attempt."""
        written = 0
        with self._writing:
            while True:
                with self._lock:
                    taken, self._pending = self._pending[: self.batch], self._pending[self.batch :]
                if not taken:
                    return written
                try:
                    self._write(taken)
                except Exception:
                    with self._lock:
                        self._pending = taken + self._pending
                    raise
                written += len(taken)

    def _write(self, entries: Sequence[AuditEntry]) -> None:
        with self.sessions.begin() as session:
            append_many(session, entries)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        """Stop the thread, then write everything still queued."""
        self._periodic.stop()
        self.flush()

    def _flush_or_keep(self) -> None:
        try:
            self.flush()
        except Exception as error:  # the database is down: keep the records, try again
            log.error("audit records not written yet (%d queued): %s", len(self._pending), error)
