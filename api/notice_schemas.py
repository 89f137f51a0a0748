"""The shapes of the notice routes: a notice and its history as each role sees it, and the bodies of
the steps (removed, dispute, review, resolve, escalate), with the examples the OpenAPI document shows."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.schemas import MAX_TEXT


def _within_utc(value: datetime) -> datetime:
    """A moment that exists in UTC: with an offset, years 1 to 9999 once converted (the database stores
    UTC). A naive time is left for the domain, which asks for a time zone."""
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range: expected a time between years 1 and 9999 in UTC") from None
    return value


Moment = Annotated[datetime, AfterValidator(_within_utc)]
"""A time in a request: ISO 8601 with a UTC offset."""


NOTICE_EXAMPLE: dict[str, Any] = {
    "id": "ntc_zakqllfo4w4yag3u2bea2k74",
    "hoster": "Example Hosting",
    "ref": "s3://uploads/2026/11/a.jpg",
    "status": "open",
    "confidence": "high",
    "signals": ["md5", "pdq"],
    "lists": ["eokm-main"],
    "category": "A",
    "legal_basis": "Art. 240b Wetboek van Strafrecht",
    "created_at": "2026-11-23T09:00:00+00:00",
    "deadline": "2026-11-24T09:00:00+00:00",
    "binding_order": False,
    "escalated_at": None,
    "closed_at": None,
    "history": [
        {
            "at": "2026-11-23T09:00:00+00:00",
            "action": "created",
            "status": "open",
            "actor": None,
            "reason": "matched eokm-main",
        }
    ],
}


class NoticeEventOut(BaseModel):
    at: str
    action: str
    status: str
    actor: str | None = Field(description="the organisation, or null for the service itself")
    reason: str


class NoticeOut(BaseModel):
    """A notice after DSA Art. 16. ``matches`` (entries, distances) only for hotlines on their own
    lists, the authority and admins."""

    model_config = ConfigDict(json_schema_extra={"examples": [NOTICE_EXAMPLE]})
    id: str
    hoster: str
    ref: str
    status: str
    confidence: str
    signals: list[str]
    lists: list[str]
    category: str | None
    legal_basis: str
    created_at: str
    deadline: str
    binding_order: bool
    escalated_at: str | None
    closed_at: str | None
    history: list[NoticeEventOut]
    matches: list[dict[str, Any]] | None = None


class NoticePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [NOTICE_EXAMPLE], "next_cursor": None}]}
    )
    items: list[NoticeOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last")


class RemovedBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"removed_at": "2026-11-23T10:12:00+00:00", "note": "deleted from bucket"}]
        },
    )
    removed_at: Moment | None = Field(
        None, description="when it was taken down (default: now), with a UTC offset"
    )
    note: str = Field("", max_length=MAX_TEXT)


class DisputeBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "a stock photo of a beach"}]}
    )
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


class ReviewBody(BaseModel):
    """A hotline's decision on a notice held for review: the reason is required to dismiss it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "the other half of a stereo pair"}]}
    )
    reason: str = Field("", max_length=MAX_TEXT)


class ResolveBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "outcome": "withdrawn",
                    "reason": "confirmed false positive",
                    "retract": True,
                    "publish": True,
                }
            ]
        },
    )
    outcome: Literal["upheld", "withdrawn"]
    reason: str = Field(min_length=1, max_length=MAX_TEXT)
    retract: bool = Field(
        False,
        description="with 'withdrawn': also retract the matched entries of your lists (a false positive); "
        "they stop matching at the next publish, which withdraws other notices resting only on them",
    )
    publish: bool = Field(
        False,
        description="with 'retract': publish your lists at once, so the retracted entries stop matching "
        "now and the other notices resting only on them are withdrawn",
    )


class EscalateBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"hours": 1, "reason": "ATKM order 2026-1142"}]}
    )
    hours: int = Field(ge=1, le=12, description="the order's deadline from now, 1 to 12 hours")
    reason: str = Field(min_length=1, max_length=MAX_TEXT, description="the order's reference")
