"""The shapes at the edge that every route shares (the error body, :func:`request_body`, the hash
examples, ``MAX_TEXT``) and those of the small routes (who am I, health, audit, compliance reports,
webhooks, probing escalations), with the examples the OpenAPI document shows. The match, notice and
list routes have their own modules (:mod:`api.match_schemas`, :mod:`api.notice_schemas`,
:mod:`api.list_schemas`)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from notices.compliance import ComplianceRow

PDQ_EXAMPLE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5_EXAMPLE = "3b5d5c3712955042212316173ccf37be"


MAX_TEXT = 2000
"""The longest reason or note a notice step or a list change takes (it is kept in their history)."""


class ErrorItem(BaseModel):
    index: int | None = Field(description="position of the item (or line) at fault; null for the request")
    field: str = Field(description="the field at fault")
    reason: str = Field(description="what was expected")


class ErrorBody(BaseModel):
    """The one error shape of every answer other than 2xx (examples per status: :mod:`api.openapi`)."""

    detail: str
    errors: list[ErrorItem] | None = Field(None, description="every bad item (422 only)")


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
