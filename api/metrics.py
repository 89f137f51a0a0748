"""Prometheus metrics: requests and latency per route, match and notice counters, and gauges read at
scrape time (notices by status, the served index's version and size). One registry per app."""

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.models import STATUSES, Notice
from indexer.watcher import IndexWatcher

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, sessions: sessionmaker[Session], watcher: IndexWatcher) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hashmatch_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hashmatch_http_request_duration_seconds",
            "time to answer an HTTP request",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.items = Counter("hashmatch_match_items", "hash items matched", registry=self.registry)
        self.matches = Counter(
            "hashmatch_matches", "refs matched, by confidence", ["confidence"], registry=self.registry
        )
        self.notices_created = Counter("hashmatch_notices_created", "notices opened", registry=self.registry)
        self.probing = Counter(
            "hashmatch_probing_escalations",
            "organisations throttled or suspended for walking along listed entries' thresholds",
            ["level"],
            registry=self.registry,
        )
        self.registry.register(_StateCollector(sessions, watcher))


class _StateCollector(Collector):
    """Gauges computed when scraped: notices by status, the served index."""

    def __init__(self, sessions: sessionmaker[Session], watcher: IndexWatcher) -> None:
        self.sessions = sessions
        self.watcher = watcher

    def collect(self) -> Iterator[Metric]:
        notices = GaugeMetricFamily("hashmatch_notices", "notices by status", labels=["status"])
        with self.sessions() as session:
            rows = session.execute(select(Notice.status, func.count()).group_by(Notice.status))
            counts: dict[str, int] = {status: count for status, count in rows}  # noqa: C416
        for status in STATUSES:
            notices.add_metric([status], counts.get(status, 0))
        yield notices
        info = GaugeMetricFamily("hashmatch_index_info", "the served index version (1)", labels=["version"])
        entries = GaugeMetricFamily("hashmatch_index_entries", "entries in the served index", labels=["type"])
        served = self.watcher.current
        if served is not None:
            info.add_metric([served.version], 1)
            for name, index in served.indexes.items():
                entries.add_metric([name], index.entry_count)
        yield info
        yield entries


class MetricsMiddleware:
    """Counts and times every request by its route template (not its path: no ids in labels)."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics = self.metrics()
            metrics.requests.labels(scope["method"], route, str(status)).inc()
            metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
