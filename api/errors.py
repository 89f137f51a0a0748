"""Every error the API answers with, mapped to HTTP in this one place.

The body is always ``{"detail": "<one sentence>"}``, plus ``"errors": [{"index", "field", "reason"}]`` on
422. Nothing reaches the client as a traceback: an unexpected exception is logged and answered 500.
At a console address the same status and sentence are answered as the console's error page instead.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

import console
from accounts import AccountError, DuplicateName, InvalidKey, InvalidRole, UnknownKey, UnknownOrganisation
from indexer.errors import EmptyImport, FileFormatError, ImportRejected, InvalidRetraction, ListsError
from indexer.errors import NotFound as ListNotFound
from indexer.listfile import LineError
from matching import IndexNotReady, InvalidItems, InvalidThresholds, ItemError
from notices.errors import InvalidRequest, InvalidTransition, NotAllowed, NoticeError, PublishFailed
from notices.errors import NotFound as NoticeNotFound

log = logging.getLogger(__name__)
PASSED_ON = ("retry-after", "allow")
"""Headers of an error answer that a console page keeps."""


class ApiError(Exception):
    """An answer other than 2xx decided by the API layer itself."""

    status = 400

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class Forbidden(ApiError):
    status = 403


class WrongRole(Forbidden):
    """A key whose organisation's role may not call the route."""

    def __init__(self, role: str, roles: Sequence[str]) -> None:
        super().__init__(f"a {role} key may not do this: it needs a key of {' or '.join(roles)}")


class ForbiddenField(ApiError):
    """A field the caller's role may not send (403, one error naming it)."""

    status = 403

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.errors = (ItemError(-1, field, reason),)


class Suspended(ApiError):
    """The caller's organisation may not match until the operator lifts its suspension."""

    status = 403


class NotFound(ApiError):
    status = 404


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class InvalidBody(ApiError):
    """A body that is not the JSON the route expects (422, one error naming the field)."""

    status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid request body: {field}: {reason}")
        self.errors = (ItemError(-1, field, reason),)


class RateLimited(ApiError):
    status = 429

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(
            f"rate limit exceeded for this organisation (counted in hashes, over all its keys): "
            f"retry in {seconds} s",
            {"Retry-After": str(seconds)},
        )


STATUS: dict[type[Exception], int] = {
    InvalidKey: 401,
    InvalidRole: 422,
    DuplicateName: 409,
    UnknownKey: 404,
    UnknownOrganisation: 404,
    InvalidItems: 422,
    InvalidThresholds: 422,
    IndexNotReady: 503,
    PublishFailed: 503,
    NoticeNotFound: 404,
    NotAllowed: 403,
    InvalidTransition: 409,
    InvalidRequest: 422,
    ImportRejected: 422,
    FileFormatError: 422,
    InvalidRetraction: 422,
    ListNotFound: 404,
    ListsError: 409,
}


def line_errors(errors: Sequence[LineError]) -> list[ItemError]:
    """A list file's bad lines as errors: the index is the line number (from 1)."""
    return [ItemError(error.line, "line", f"{error.reason} (value {error.text!r})") for error in errors]


def error_body(detail: str, errors: Sequence[ItemError] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": _text(detail)}
    if errors is not None:
        body["errors"] = [
            {"index": e.index if e.index >= 0 else None, "field": _text(e.field), "reason": _text(e.reason)}
            for e in errors
        ]
    return body


def _text(echoed: str) -> str:
    """Text that may echo the request, made encodable: a lone surrogate (sent as a JSON ``\\ud800``
    escape, in a field name, say) is written as its escape."""
    return echoed.encode("utf-8", "backslashreplace").decode("utf-8")


def respond(error: Exception) -> JSONResponse:
    """The HTTP answer for one of our named errors."""
    status, body, headers = refusal(error)
    return JSONResponse(body, status, headers=headers)


def refusal(error: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The status, body and headers that answer one of our named errors."""
    if isinstance(error, ApiError):
        errors = getattr(error, "errors", None)
        return error.status, error_body(error.detail, errors), error.headers
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    errors = getattr(error, "errors", None)
    if isinstance(error, InvalidRequest):
        errors = (ItemError(-1, error.field, error.reason),)
    if isinstance(error, InvalidRetraction):
        errors = tuple(ItemError(-1 if at is None else at, name, why) for at, name, why in error.problems)
    if isinstance(error, ImportRejected):
        errors = tuple(line_errors(error.found.errors))
        detail = (
            f"{error.found.bad_lines} bad line(s) (the first {len(errors)} listed): nothing was imported; "
            "fix them, or send skip_bad=true to import the valid lines"
        )
    elif isinstance(error, EmptyImport):
        detail = (
            f"no valid rows: as a full import it would remove all {error.entries} entries of the list; "
            "nothing was imported (allow_empty=true empties the list)"
        )
    elif isinstance(error, InvalidItems):
        detail = (
            f"{len(error.errors)} invalid item(s): nothing was matched; fix them and send the batch again"
        )
    elif isinstance(error, InvalidThresholds):
        detail = "invalid thresholds: expected an object of hash type -> integer within the type's range"
    else:
        detail = str(error)
    return status, error_body(detail, errors), headers


def _validation_errors(error: RequestValidationError) -> list[ItemError]:
    found = []
    for problem in error.errors():
        location = [part for part in problem.get("loc", ()) if part not in ("body", "query", "path")]
        index = next((part for part in location if isinstance(part, int)), -1)
        field = ".".join(str(part) for part in location if not isinstance(part, int)) or "body"
        found.append(ItemError(index, field, str(problem.get("msg", "invalid"))))
    return found


def answer(
    request: Request, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    """An error answer as the API gives it, or at a console address as the console's error page (a
    person reads it: the same status and sentence instead of the JSON)."""
    if console.serves(request.url.path):
        kept = {name: value for name, value in (headers or {}).items() if name.lower() in PASSED_ON}
        return console.error_page(request, status, body["detail"], kept)
    return JSONResponse(body, status, headers=dict(headers or {}))


def answer_to(request: Request, error: Exception) -> Response:
    """:func:`answer` for one of our named errors (what :func:`respond` says, at a console address
    as a page)."""
    return answer(request, *refusal(error))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into our error shape."""

    async def named(request: Request, error: Exception) -> Response:
        return answer_to(request, error)

    async def validation(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = _validation_errors(error)
        return answer(request, 422, error_body("invalid request: see errors", errors))

    async def http(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        detail = error.detail if isinstance(error.detail, str) else "request refused"
        return answer(request, error.status_code, error_body(detail), error.headers)

    async def database(request: Request, error: Exception) -> Response:
        log.error("database unavailable: %s", error)
        return answer(request, 503, error_body("the database is unavailable: try again shortly"))

    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error", exc_info=error)
        return answer(request, 500, error_body("internal error: it has been logged"))

    for kind in (
        ApiError,
        AccountError,
        NoticeError,
        ListsError,
        InvalidItems,
        InvalidThresholds,
        IndexNotReady,
    ):
        app.add_exception_handler(kind, named)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(OperationalError, database)
    app.add_exception_handler(Exception, unexpected)
