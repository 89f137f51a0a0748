"""The shapes at the edge: request and response models, with the examples the OpenAPI document shows."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from notices.compliance import ComplianceRow

PDQ_EXAMPLE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5_EXAMPLE = "3b5d5c3712955042212316173ccf37be"


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
MAX_TEXT = 2000
"""The longest reason or note a notice step takes (it is kept in the notice's history)."""


class ErrorItem(BaseModel):
    index: int | None = Field(description="position of the item (or line) at fault; null for the request")
    field: str = Field(description="the field at fault")
    reason: str = Field(description="what was expected")


class ErrorBody(BaseModel):
    """The one error shape of every answer other than 2xx (examples per status: :mod:`api.openapi`)."""

    detail: str
    errors: list[ErrorItem] | None = Field(None, description="every bad item (422 only)")


class MatchItem(BaseModel):
    type: Literal["pdq", "phash", "dhash", "ahash", "whash", "md5", "sha1", "sha256", "photodna", "vpdq"]
    hash: str | list[str] = Field(
        description="the hash in lowercase or uppercase hex (photodna also base64); vpdq: the video's "
        "frame lines 'frame,quality,pdq hex,timestamp' (Meta's vpdq format) separated by ';' or "
        "newlines, or as a list",
        examples=[PDQ_EXAMPLE],
    )
    ref: str = Field(max_length=2048, description="your location of the file: URL, object key or path")


class MatchRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"type": "pdq", "hash": PDQ_EXAMPLE, "ref": "s3://uploads/2026/11/a.jpg"},
                        {"type": "md5", "hash": MD5_EXAMPLE, "ref": "s3://uploads/2026/11/a.jpg"},
                        {
                            "type": "md5",
                            "hash": "d41d8cd98f00b204e9800998ecf8427e",
                            "ref": "s3://uploads/empty",
                        },
                    ],
                    "thresholds": {"pdq": 31},
                }
            ]
        }
    )
    items: list[MatchItem] = Field(description="up to HASHMATCH_MAX_ITEMS (default 10,000) items")
    thresholds: dict[str, int] | None = Field(
        None, description="per hash type, a lower threshold than the lists'; never raises them"
    )


class MatchDetail(BaseModel):
    """One list entry a ref matched: shown to hotlines (their own lists), the authority and admins."""

    list_id: int
    list: str
    hotline_id: int
    entry: int
    item: str | None
    type: str
    distance: int
    category: str | None
    variant: str | None = None
    """The entry hashes this transformed copy of its item (``crop5``, ``rot3``...); null: the item."""


class RefResult(BaseModel):
    ref: str
    matched: bool
    confidence: Literal["high", "medium", "review"] | None = Field(
        description="review (hotlines and admins only): not a match, pHash/dHash hits that the ref's "
        "PDQ contradicts, for the hotline to look at"
    )
    signals: list[str] = Field(description="hash types that matched")
    notice_id: str | None = Field(description="the notice opened for this ref (hosters only)")
    reupload_of: str | None = Field(description="the earlier removed notice this content was matched by")
    matches: list[MatchDetail] | None = Field(None, description="full detail: not for hosters")
    unmatchable: str | None = Field(
        None,
        description="only when every hash of the ref is a trivial value, never matched (the digest of the "
        "empty file, a blank image's perceptual hash): why",
        examples=["md5 of an empty file"],
    )


class Counts(BaseModel):
    items: int
    refs: int
    matched: int


class MatchResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "ref": "s3://uploads/2026/11/a.jpg",
                            "matched": True,
                            "confidence": "high",
                            "signals": ["md5", "pdq"],
                            "notice_id": "ntc_zakqllfo4w4yag3u2bea2k74",
                            "reupload_of": None,
                        },
                        {
                            "ref": "s3://uploads/empty",
                            "matched": False,
                            "confidence": None,
                            "signals": [],
                            "notice_id": None,
                            "reupload_of": None,
                            "unmatchable": "md5 of an empty file",
                        },
                    ],
                    "counts": {"items": 3, "refs": 2, "matched": 1},
                    "index_version": "0c3e8f0f6a3b4be49d1f1b0c7d0f5a21",
                }
            ]
        }
    )
    results: list[RefResult]
    counts: Counts
    index_version: str = Field(
        description="the index version that answered: a client keeping its files' hashes matches them "
        "again once another version is served (GET /healthz)"
    )


class Me(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"organisation": "Example Hosting", "role": "hoster", "key_prefix": "k3j5m2x7q9"}]
        }
    )
    organisation: str
    role: str
    key_prefix: str


class AuditVerification(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ok": True, "records": 1523, "broken_id": None, "reason": ""}]}
    )
    ok: bool
    records: int = Field(description="records verified before the first broken one (all if ok)")
    broken_id: int | None
    reason: str


class AuditRecordOut(BaseModel):
    id: int
    at: str
    organisation_id: int | None
    key_id: int | None
    action: str
    detail: dict[str, Any] = Field(description="counts and ids only: never a query hash")
    prev_digest: str
    digest: str = Field(description="SHA-256 of prev_digest + the record's canonical JSON")


class AuditPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        {
                            "id": 1,
                            "at": "2026-11-23T09:00:00.000000+00:00",
                            "organisation_id": 3,
                            "key_id": 5,
                            "action": "match",
                            "detail": {
                                "items": 2,
                                "refs": 1,
                                "matched": 1,
                                "refused": 0,
                                "notices_created": 1,
                            },
                            "prev_digest": "0" * 64,
                            "digest": "9f2c" + "0" * 60,
                        }
                    ],
                    "next_after": None,
                }
            ]
        }
    )
    records: list[AuditRecordOut]
    next_after: int | None = Field(description="pass as ?after= for the next page; null on the last")


class RefusedVersion(BaseModel):
    version: str
    problems: list[str] = Field(description="what is wrong, file names relative to the index directory")


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "degraded",
                    "index_version": "0c3e8f0f6a3b4be49d1f1b0c7d0f5a21",
                    "index_published_at": "2026-11-22T09:00:00+00:00",
                    "index_age_seconds": 86400.0,
                    "served_since": "2026-11-23T08:59:58+00:00",
                    "detail": "serving the older index version 0c3e8f0f6a3b4be49d1f1b0c7d0f5a21 (published "
                    "2026-11-22T09:00:00+00:00) because the published version "
                    "f08eabe4db7428bc484bfdfa01d11ffb was refused: "
                    "f08eabe4db7428bc484bfdfa01d11ffb/pdq/codes.faiss: its SHA-256 differs from the "
                    "manifest's; 'hashmatch lists publish' rebuilds it",
                    "refused": [
                        {
                            "version": "f08eabe4db7428bc484bfdfa01d11ffb",
                            "problems": [
                                "f08eabe4db7428bc484bfdfa01d11ffb/pdq/codes.faiss: its SHA-256 differs from "
                                "the manifest's"
                            ],
                        }
                    ],
                }
            ]
        }
    )
    status: str = Field(description="ok, degraded (an older version serves: see detail) or unavailable")
    index_version: str | None = None
    index_published_at: str | None = None
    index_age_seconds: float | None = Field(
        None, description="seconds since the served version was published"
    )
    served_since: str | None = Field(None, description="when this process started serving that version")
    detail: str | None = Field(None, description="what is served and why, in words")
    refused: list[RefusedVersion] = []


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAPI request body for a JSON model a route reads itself (to answer 413/415/422 its own way),
    with the model's nested definitions written in place."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return {"required": True, "content": {"application/json": {"schema": inline(schema)}}}


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


class ComplianceReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2026-11-01T00:00:00+00:00",
                    "end": "2026-12-01T00:00:00+00:00",
                    "group_by": "hoster",
                    "rows": [
                        {
                            "group": "Example Hosting",
                            "notices": 12,
                            "open": 1,
                            "overdue": 0,
                            "disputed": 0,
                            "removed": 11,
                            "withdrawn": 0,
                            "removed_within_deadline": 10,
                            "removed_within_deadline_share": 0.9091,
                            "median_hours_to_removal": 3.5,
                            "p90_hours_to_removal": 20.0,
                            "overdue_now": 0,
                            "binding_orders": 0,
                        }
                    ],
                }
            ]
        }
    )
    start: str
    end: str
    group_by: str
    rows: list[ComplianceRow]


WEBHOOK_EXAMPLE: dict[str, Any] = {
    "id": 4,
    "url": "https://hooks.example-hosting.net/hashmatch",
    "created_at": "2026-11-23T09:00:00+00:00",
    "disabled_at": None,
}


class WebhookBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"url": WEBHOOK_EXAMPLE["url"]}]}
    )
    url: str = Field(description="an http(s) URL that receives notice events")


class WebhookOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [WEBHOOK_EXAMPLE]})
    id: int
    url: str
    created_at: str
    disabled_at: str | None


class NewWebhook(WebhookOut):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**WEBHOOK_EXAMPLE, "secret": "whsec_9c1e..."}]}
    )
    secret: str = Field(description="verifies the HMAC-SHA256 signature header; shown only in this answer")


class Delivery(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 17,
                    "event": "notice.created",
                    "created_at": "2026-11-23T09:00:01+00:00",
                    "attempts": 1,
                    "next_attempt_at": None,
                    "delivered_at": "2026-11-23T09:00:02+00:00",
                    "gave_up_at": None,
                    "last_status": 200,
                    "last_error": None,
                    "log": [{"at": "2026-11-23T09:00:02+00:00", "status": 200, "error": None}],
                }
            ]
        }
    )
    id: int
    event: str
    created_at: str
    attempts: int
    next_attempt_at: str | None
    delivered_at: str | None
    gave_up_at: str | None
    last_status: int | None
    last_error: str | None
    log: list[dict[str, Any]]


class EscalatedEntry(BaseModel):
    entry: int
    item: str | None
    list_id: int
    list: str


class Escalation(BaseModel):
    """A hoster the probing guard throttled or suspended, and the caller's entries it walked along."""

    at: datetime
    organisation: str
    level: str = Field(description="throttled or suspended")
    probes: int = Field(description="probes (near-threshold queries whose answers flip) in the call")
    entries: list[EscalatedEntry]


class Escalations(BaseModel):
    escalations: list[Escalation]
