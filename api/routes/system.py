"""Liveness, readiness, metrics, and who a key belongs to."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from accounts import Caller
from api.deps import allow, record, services
from api.schemas import Health, Me, error_responses
from db.models import ROLES

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Ready to match: an index is loaded and the database answers",
    responses={
        503: {
            "model": Health,
            "description": "not ready: no index loaded (none published, or the served one failed to load: "
            "the status says why), or no database",
        }
    },
)
def readyz(request: Request) -> JSONResponse:
    found = services(request)
    served = found.watcher.current
    if served is None:
        status = found.watcher.last_error or "no index published yet"
        return JSONResponse({"status": status, "index_version": None}, 503)
    try:
        with found.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "database unavailable", "index_version": served.version}, 503)
    return JSONResponse({"status": "ok", "index_version": served.version})


@router.get(
    "/metrics",
    summary="Prometheus metrics (an admin key: they show index sizes and traffic)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"example": 'hashmatch_notices{status="open"} 3.0\n'}}},
        **error_responses(401, 403, 429),
    },
)
async def metrics(request: Request, _: Annotated[Caller, Depends(allow("admin"))]) -> Response:
    found = services(request)
    body = await run_in_threadpool(generate_latest, found.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/v1/me",
    response_model=Me,
    summary="The organisation and role of the calling key",
    responses=error_responses(401, 429),
)
def me(request: Request, caller: Annotated[Caller, Depends(allow(*ROLES))]) -> Me:
    found = services(request)
    record(found, caller, "key.used", {"route": "/v1/me"})
    return Me(organisation=caller.organisation, role=caller.role, key_prefix=caller.prefix)
