"""What the OpenAPI document says about errors: one real example body per status code.

Each example is the body the app answers with (:func:`api.errors.respond`, the one mapping of named
errors to HTTP) for a named error that answers with that status, so a 401 shows a 401's body and never
the 422's list of bad items."""

import json
from typing import Any

from accounts.errors import InvalidKey
from accounts.keys import MISSING_KEY
from api.errors import RateLimited, UnsupportedMediaType, WrongRole, respond
from api.limits import IMAGE_REFUSAL, body_too_large
from api.schemas import ErrorBody
from matching import IndexNotReady, InvalidItems, ItemError
from notices.errors import InvalidTransition, NoticeNotFound

EXAMPLE_ERRORS: dict[int, tuple[str, Exception]] = {
    401: ("missing, malformed, unknown or revoked API key", InvalidKey(MISSING_KEY)),
    403: (
        "the key's organisation has a role that may not call this route (or may not send a field)",
        WrongRole("hoster", ("authority", "admin")),
    ),
    404: (
        "not found, or not visible to the caller (never told apart)",
        NoticeNotFound("ntc_zakqllfo4w4yag3u2bea2k74"),
    ),
    409: (
        "the request conflicts with the current state: a notice's status that does not admit the step, "
        "a list changed by another request meanwhile, an import that would empty a list",
        InvalidTransition("removed", "dispute", ("open", "overdue")),
    ),
    413: ("the body is larger than the limit, or has too many items", body_too_large("40000000", 33554432)),
    415: (
        "an image content type or image bytes (only hashes are accepted), or a content type the route "
        "does not read",
        UnsupportedMediaType(f"content type 'image/jpeg' refused: {IMAGE_REFUSAL}"),
    ),
    422: (
        "invalid items, lines or fields: every one is listed with its index (or line), field and reason",
        InvalidItems(
            [ItemError(3, "hash", "invalid pdq hash: expected 64 hexadecimal digits, got 63 characters")]
        ),
    ),
    429: ("rate limit exceeded: retry after the Retry-After header's seconds", RateLimited(2.0)),
    503: (
        "no index version can be served (none published, or every one refused: /readyz says why), "
        "or the database is unavailable",
        IndexNotReady("no index has been published yet: import a list first"),
    ),
}
"""Status -> (what it means, the named error whose answer is the example)."""

HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
}


def example_body(status: int) -> dict[str, Any]:
    """The body the app answers with for the example error of ``status``."""
    found: dict[str, Any] = json.loads(bytes(respond(EXAMPLE_ERRORS[status][1]).body))
    return found


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error codes a route can answer, each with its own example."""
    return {
        code: {
            "model": ErrorBody,
            "description": EXAMPLE_ERRORS[code][0],
            "content": {"application/json": {"example": example_body(code)}},
            **({"headers": HEADERS[code]} if code in HEADERS else {}),
        }
        for code in codes
    }
