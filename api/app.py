"""The app factory: one FastAPI app over one database, one clock and one index watcher."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import numpy as np
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

import console
from api import docs, errors
from api.background import NoticeTicker
from api.deps import Services
from api.errors import UnsupportedMediaType
from api.limits import BodyLimit, refuse_image_type
from api.metrics import Metrics, MetricsMiddleware
from api.routes import audit, lists, match, notices, probing, reports, system, webhooks
from audit import AuditWriter
from config import InvalidSettings
from config.settings import Settings
from db import make_engine, make_session_factory
from db.clock import Clock, SystemClock
from guard.budgets import Budgets, RateBudgets
from guard.watching import ProbeGuard
from indexer.replica import PublishedVersion
from indexer.serving import ServedIndexes
from indexer.store import IndexStore
from indexer.watcher import IndexWatcher
from matcher import get_hash_type
from matcher.warm import warm_kernels
from matching import InvalidThresholds, parse_thresholds
from notices.outbound import Outbound, Resolver, system_resolver
from notices.sealing import sealer_from

DESCRIPTION = """Hash-based known-material matching. Send hashes (never images) of the files you host;
every matched file gets a takedown notice with a deadline. Authenticate with
`Authorization: Bearer hm_<prefix>_<secret>`. Errors are `{"detail": "...", "errors": [...]}`."""


def create_app(
    settings: Settings,
    clock: Clock | None = None,
    watcher: IndexWatcher | None = None,
    resolve: Resolver = system_resolver,
) -> FastAPI:
    """The API over ``settings``' database and index store. Without ``watcher``, one is started on
    the newest publication (cached in ``settings.index_dir``) when the app starts and stopped when it
    stops. ``resolve`` turns webhook host
    names into addresses (tests stand in for DNS)."""
    check_variant_thresholds(settings.variant_thresholds)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    budget_engine = make_engine(settings.effective_database_url, durable=False)
    sessions = make_session_factory(engine)
    own_watcher = watcher is None
    watching = watcher or _watcher(settings, sessions)
    clock = clock or SystemClock()
    found = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock,
        watcher=watching,
        budgets=_budgets(settings, budget_engine, clock),
        metrics=Metrics(sessions, watching),
        audit=AuditWriter(sessions, settings.audit_interval_seconds),
        probes=ProbeGuard(settings.probe_limit),
        outbound=Outbound.from_settings(settings, resolve),
        sealer=sealer_from(settings),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if own_watcher:
            watching.start()
        warm_up(watching.current)
        found.warmed.set()
        found.audit.start()
        ticker = None
        if settings.tick_seconds > 0:
            ticker = NoticeTicker(
                sessions,
                found.clock,
                settings.tick_seconds,
                found.outbound,
                found.sealer,
                settings.webhook_workers,
            )
        if ticker is not None:
            ticker.start()
        try:
            yield
        finally:
            if ticker is not None:
                ticker.stop()
            found.audit.stop()
            if own_watcher:
                watching.stop()
            engine.dispose()
            budget_engine.dispose()

    app = FastAPI(
        title="hashmatch",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = found
    errors.install(app)
    docs.install(app)
    for router in (
        system.router,
        match.router,
        notices.router,
        webhooks.router,
        reports.router,
        audit.router,
        probing.router,
        lists.router,
    ):
        app.include_router(router)
    console.mount(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, unlimited=(match.STREAM_PATH,))
    app.add_middleware(ImageRefusal)
    app.add_middleware(MetricsMiddleware, metrics=lambda: found.metrics)
    return app


def _budgets(settings: Settings, engine: Engine, clock: Clock) -> Budgets:
    """The rate budgets: in Redis where ``settings.redis_url`` says, else in the database."""
    rate, burst = settings.rate_hashes_per_second, settings.rate_burst_hashes
    if not settings.redis_url:
        return RateBudgets(engine, clock, rate, burst)
    from guard.budgets_redis import RedisBudgets  # noqa: PLC0415 (the optional 'redis' extra)

    return RedisBudgets(settings.redis_url, rate, burst)  # by the Redis server's clock: one for every replica


def warm_up(served: ServedIndexes | None) -> None:
    """Before a worker takes its first request: compile the search kernels (or load them from numba's
    cache) and search each index of the served version once, so that no caller waits for either."""
    warm_kernels()
    for name, index in (served.indexes if served else {}).items():
        hash_type = get_hash_type(name)
        index.search(np.zeros((1, hash_type.nbytes), np.uint8), 0)


class ImageRefusal:
    """Refuses every request with an image (or other binary upload) content type, whatever the route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
            try:
                if not (content_type.startswith("multipart/form-data") and _upload_path(scope["path"])):
                    refuse_image_type(content_type)
            except UnsupportedMediaType as refused:
                await errors.answer_to(Request(scope), refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _upload_path(path: str) -> bool:
    """The console's list import takes a file as a multipart form (the file is read as text)."""
    return path.startswith(console.UPLOADS) and path.endswith("/import")


def _watcher(settings: Settings, sessions: sessionmaker[Session]) -> IndexWatcher:
    """The index watcher serving what the database says is published, fetched from the index store."""
    published = PublishedVersion(
        sessions, IndexStore.from_settings(settings), settings.index_dir, settings.index_versions_kept
    )
    return IndexWatcher(
        settings.index_dir, settings.index_poll_seconds, source=published, verified=published.verified
    )


def check_variant_thresholds(variants: Mapping[str, int]) -> None:
    """``HASHMATCH_VARIANT_THRESHOLDS`` names hash types by their names, each within its range."""
    try:
        checked = parse_thresholds(dict(variants))
    except InvalidThresholds as error:
        raise InvalidSettings(f"HASHMATCH_VARIANT_THRESHOLDS={dict(variants)!r}: {error}") from None
    if checked != dict(variants):
        raise InvalidSettings(f"HASHMATCH_VARIANT_THRESHOLDS: name the hash types as {sorted(checked)}")
