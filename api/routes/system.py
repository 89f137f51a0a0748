"""Liveness, readiness, metrics, and who a key belongs to."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from accounts import Caller
from api.deps import allow, record, services
from api.openapi import error_responses
from api.schemas import Health, Me, RefusedVersion
from db.base import utcnow
from db.models import ROLES
from indexer.watcher import ServingState

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health, summary="The process is up, and the index version it serves")
def healthz(request: Request) -> Health:
    return Health(status="ok", **_served(services(request).watcher.state))


@router.get(
    "/readyz",
    response_model=Health,
    summary="Ready to match: an index version is served, the search warmed up, and the database answers",
    description="200 with status ok (the published version is served) or degraded (an older version "
    "serves because the published one was refused or CURRENT is missing: detail says which and why).",
    responses={
        503: {
            "model": Health,
            "description": "unavailable: no index version can be served (none published, or every one "
            "refused: detail and refused say why), the search is not warmed up yet (its compiled code "
            "loading), or the database does not answer",
        }
    },
)
def readyz(request: Request) -> JSONResponse:
    found = services(request)
    state = found.watcher.state
    refused = [RefusedVersion(version=r.version, problems=list(r.problems)) for r in state.refused]
    health = Health(status=state.status, detail=state.describe(), refused=refused, **_served(state))
    if state.served is not None and not found.warmed.is_set():
        health.status, health.detail = "unavailable", "warming up: loading the compiled search"
    elif state.served is not None:
        try:
            with found.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            health.status, health.detail = "unavailable", "the database does not answer"
    code = 503 if health.status == "unavailable" else 200
    return JSONResponse(health.model_dump(), code)


def _served(state: ServingState) -> dict[str, Any]:
    """The served version, when it was published, its age and since when this process serves it."""
    served = state.served
    if served is None:
        return {}
    published = served.published_at
    return {
        "index_version": served.version,
        "index_published_at": published.isoformat() if published else None,
        "index_age_seconds": round((utcnow() - published).total_seconds(), 3) if published else None,
        "served_since": state.since.isoformat() if state.since else None,
    }


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
