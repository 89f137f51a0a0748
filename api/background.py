"""The server's own periodic pass over notices, so no cron is needed: every ``interval`` seconds, mark
overdue notices and send reminders (``notices.lifecycle.tick``), then fan out and deliver webhooks
(``notices.webhooks.deliver_due``). Safe with several server processes: both lock what they touch."""

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from db.clock import Clock
from notices.lifecycle import tick
from notices.webhooks import HttpClient, UrllibClient, deliver_due

log = logging.getLogger(__name__)


class NoticeTicker:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Clock, interval: float, client: HttpClient | None = None
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.interval = interval
        self.client = client or UrllibClient()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        now = self.clock.now()
        with self.sessions.begin() as session:
            tick(session, now)
        deliver_due(self.sessions, now, self.client, budget=self.interval)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="notice-ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # the database is down, a receiver misbehaves: try again next time
                log.exception("notice tick failed")
