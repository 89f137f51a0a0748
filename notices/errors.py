"""What can go wrong with a notice request, as a few named exceptions.

The API maps them in one place: ``NotFound`` -> 404, ``NotAllowed`` -> 403, ``InvalidTransition`` -> 409,
``InvalidRequest`` -> 422. Each carries ``detail()``, a JSON-ready body naming what was wrong.
"""

from collections.abc import Sequence
from typing import Any


class NoticeError(Exception):
    """Base of every notices error: ``str()`` is one readable line."""

    code = "notice_error"

    def detail(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self)}


class NotFound(NoticeError):
    """A notice or webhook that does not exist, or that the caller may not see (never told apart)."""

    code = "not_found"

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key}")
        self.kind = kind
        self.key = key

    def detail(self) -> dict[str, Any]:
        return {**super().detail(), "kind": self.kind, "key": str(self.key)}


class NoticeNotFound(NotFound):
    def __init__(self, key: object) -> None:
        super().__init__("notice", key)


class WebhookNotFound(NotFound):
    def __init__(self, key: object) -> None:
        super().__init__("webhook", key)


class NotAllowed(NoticeError):
    """The caller's role, or its relation to the notice, does not permit the action."""

    code = "not_allowed"

    def __init__(self, action: str, why: str) -> None:
        super().__init__(f"{action}: {why}")
        self.action = action
        self.why = why

    def detail(self) -> dict[str, Any]:
        return {**super().detail(), "action": self.action}


class InvalidTransition(NoticeError):
    """The notice's current status does not admit the action asked for."""

    code = "invalid_transition"

    def __init__(self, status: str, asked: str, allowed_from: Sequence[str], why: str = "") -> None:
        allowed = ", ".join(allowed_from)
        because = f" ({why})" if why else ""
        super().__init__(
            f"{asked}: not possible on a notice that is {status}{because}; allowed from: {allowed}"
        )
        self.status = status
        self.asked = asked
        self.allowed_from = tuple(allowed_from)

    def detail(self) -> dict[str, Any]:
        return {
            **super().detail(),
            "status": self.status,
            "asked": self.asked,
            "allowed_from": list(self.allowed_from),
        }


class InvalidRequest(NoticeError):
    """A field of the request is missing or out of range."""

    code = "invalid_request"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def detail(self) -> dict[str, Any]:
        return {**super().detail(), "field": self.field}


class PublishFailed(NoticeError):
    """The server could not write or upload a new index version (its disk, its index store): a fault
    of the service, not of the request. Nothing was published; the served version is unchanged."""

    code = "publish_failed"
