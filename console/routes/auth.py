"""Signing in with an API key, signing out, and each role's first page."""

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console.sessions import REASONS, SignInRefused, sign_in, sign_out
from console.web import COOKIE, PREFIX, Visit, page, posted, services, signed_in, url
from db.models import ROLES

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PRE_COOKIE = "hashmatch_console_form"
"""The sign-in form's CSRF token before there is a session (double submit: cookie and form field)."""
HOMES = {"hoster": "/notices", "hotline": "/lists", "authority": "/compliance", "admin": "/organisations"}
Anyone = Annotated[Visit, Depends(signed_in(*ROLES))]


def _secure(request: Request) -> bool:
    """Cookies are Secure (HTTPS only) except on this machine's own addresses (local use, tests)."""
    return request.url.hostname not in ("localhost", "127.0.0.1")


def _sign_in_page(request: Request, status: int = 200, error: str = "", why: str = "") -> Response:
    form_token = secrets.token_urlsafe(24)
    nxt = request.query_params.get("next", "")
    response = page(
        request,
        "sign_in.html",
        status,
        csrf=form_token,
        error=error,
        notice=REASONS.get(why, ""),
        next=nxt if nxt.startswith(f"{PREFIX}/") else "",
        plain_http=request.url.scheme == "http" and _secure(request),
    )
    response.set_cookie(
        PRE_COOKIE, form_token, httponly=True, secure=_secure(request), samesite="strict", path=PREFIX
    )
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request, why=request.query_params.get("why", ""))


Field = Annotated[str, Form()]


@router.post("/sign-in")
def sign_in_post(request: Request, key: Field = "", csrf: Field = "", next: Field = "") -> Response:
    token, nxt = csrf, next
    expected = request.cookies.get(PRE_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, token):
        return _sign_in_page(request, 403, error="This form is stale: sign in again.")
    found = services(request)
    idle = timedelta(minutes=found.settings.console_idle_minutes)
    with found.sessions() as session:
        try:
            session_token = sign_in(session, key, found.clock.now(), idle)
        except SignInRefused as refused:
            return _sign_in_page(request, 401, error=str(refused))
        session.commit()
    response = RedirectResponse(nxt if nxt.startswith(f"{PREFIX}/") else url("/"), status_code=303)
    response.set_cookie(
        COOKIE, session_token, httponly=True, secure=_secure(request), samesite="strict", path=PREFIX
    )
    response.delete_cookie(PRE_COOKIE, path=PREFIX)
    return response


@router.post("/sign-out")
def sign_out_post(visit: Annotated[Visit, Depends(posted(*ROLES))]) -> Response:
    with visit.found.sessions() as session:
        sign_out(session, visit.token)
        session.commit()
    response = RedirectResponse(url("/sign-in", why="signed-out"), status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("")
@router.get("/")
def home(visit: Anyone) -> Response:
    return RedirectResponse(url(HOMES[visit.role]), status_code=303)
