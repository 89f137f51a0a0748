"""The server's own periodic pass over notices, so no cron is needed: every ``interval`` seconds, mark
overdue notices and send reminders (``notices.lifecycle.tick``), then fan out and deliver webhooks
(``notices.delivery.deliver_due``). Safe with several server processes: both lock what they touch."""

from sqlalchemy.orm import Session, sessionmaker

from db.clock import Clock
from db.periodic import Periodic
from db.sealing import Sealer
from notices.delivery import deliver_due
from notices.lifecycle import tick
from notices.outbound import Outbound


class NoticeTicker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        interval: float,
        outbound: Outbound,
        sealer: Sealer,
        workers: int,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.interval = interval
        self.outbound = outbound
        self.sealer = sealer
        self.workers = workers
        self._periodic = Periodic("notice-ticker", interval, self.run_once)

    def run_once(self) -> None:
        now = self.clock.now()
        with self.sessions.begin() as session:
            tick(session, now)
        deliver_due(
            self.sessions, now, self.outbound, self.sealer, budget=self.interval, workers=self.workers
        )

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()
