"""The shapes of the list routes (a hotline's own lists over the API), with their examples."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import MAX_TEXT, PDQ_EXAMPLE, ErrorItem
from db.models import MAX_ID

LIST_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "name": "eokm-main",
    "description": "confirmed material, reviewed twice",
    "default_category": "A",
    "legal_basis": "Art. 240b Wetboek van Strafrecht",
    "notice_deadline_hours": 24,
    "thresholds": {"pdq": 31},
    "entries": 3,
    "types": {"md5": 1, "pdq": 2},
    "newest_version": 3,
    "served_version": 2,
}


class ListOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [LIST_EXAMPLE]})
    id: int
    name: str
    description: str
    default_category: str | None
    legal_basis: str
    notice_deadline_hours: int
    thresholds: dict[str, int]
    entries: int = Field(description="active entries of the newest version")
    types: dict[str, int] = Field(description="active entries of the newest version per hash type")
    newest_version: int | None
    served_version: int | None = Field(description="the version the published index serves (null: none)")


class ListsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"lists": [LIST_EXAMPLE], "index_version": "0c3e8f0f6a3b4be4"}]}
    )
    lists: list[ListOut]
    index_version: str | None = Field(description="the published index version (null before the first)")


class VersionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "number": 2,
                    "mode": "retract",
                    "created_at": "2026-11-23T10:00:00+00:00",
                    "added": 0,
                    "removed": 1,
                    "entries": 6,
                    "skipped": 0,
                    "published_at": "2026-11-23T10:00:05+00:00",
                    "source": "",
                    "reason": "false positive: a stock photo",
                    "served": True,
                }
            ]
        }
    )
    number: int
    mode: str = Field(description="full, delta or retract")
    created_at: str
    added: int
    removed: int
    entries: int
    skipped: int = Field(description="bad lines left out (an import with skip_bad)")
    published_at: str | None
    source: str = Field(description="the imported file's name")
    reason: str
    served: bool


class ImportOptions(BaseModel):
    """The query parameters of an import."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["full", "delta"] = Field(
        description="full: the file replaces the list; delta: its rows are added, those with "
        "action=retract retracted"
    )
    dry_run: bool = Field(False, description="check the file and count what it would change; write nothing")
    skip_bad: bool = Field(False, description="import the valid lines of a file with bad ones")
    allow_low_quality: bool = Field(False, description="keep PDQ rows with quality below 50 (flagged)")
    allow_empty: bool = Field(False, description="let a full import of a file without rows empty the list")
    source: str = Field("", max_length=200, description="the file's name, kept with the version")


class ImportReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "eokm-main",
                    "mode": "delta",
                    "dry_run": True,
                    "changed": True,
                    "version": None,
                    "entries": None,
                    "rows": 3,
                    "bad_lines": 1,
                    "errors": [
                        {
                            "index": 3,
                            "field": "line",
                            "reason": "invalid pdq hash: expected 64 hexadecimal digits, got 12 characters "
                            "(value 'f8f8f0cee0f4')",
                        }
                    ],
                    "added": {"pdq": 2},
                    "removed": 0,
                    "unchanged": 0,
                    "duplicates": 0,
                    "not_found": 0,
                    "low_quality": 0,
                    "ignored_columns": [],
                }
            ]
        }
    )
    name: str = Field(description="the list's name")
    mode: str
    dry_run: bool
    changed: bool = Field(description="the import makes (or, in a dry run, would make) a new version")
    version: int | None = Field(description="the version made (null in a dry run or when nothing changed)")
    entries: int | None = Field(description="active entries after the import (null in a dry run)")
    rows: int = Field(description="rows read (blank lines and comments aside)")
    bad_lines: int
    errors: list[ErrorItem] = Field(description="bad lines (index: the line number), up to the cap")
    added: dict[str, int] = Field(description="entries added per hash type")
    removed: int
    unchanged: int
    duplicates: int = Field(description="repeated rows, counted once")
    not_found: int = Field(description="retractions that matched no active entry")
    low_quality: int
    ignored_columns: list[str]


class HashRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,32}$", description="the hash type, e.g. pdq, md5", examples=["pdq"]
    )
    hash: str = Field(
        pattern=r"^[A-Za-z0-9+/=_-]{1,512}$",
        description="hex (PhotoDNA: also base64), as a list file writes it",
        examples=[PDQ_EXAMPLE],
    )


class RetractionBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"entries": [17], "reason": "false positive: a stock photo", "publish": True}]
        },
    )
    entries: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        [], max_length=10_000, description="ids of active entries (as notices' matches show them)"
    )
    hashes: list[HashRef] = Field([], max_length=10_000, description="or: the hashes to retract")
    reason: str = Field(min_length=1, max_length=MAX_TEXT, description="kept with the version")
    publish: bool = Field(
        False,
        description="publish your lists right after, so the entries stop matching now and the notices "
        "resting only on them are withdrawn",
    )


class PublishOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "index_version": "0c3e8f0f6a3b4be49d1f1b0c7d0f5a21",
                    "changed": True,
                    "entries": {"md5": 1, "pdq": 3},
                    "removed": 1,
                }
            ]
        }
    )
    index_version: str
    changed: bool = Field(description="false: what was asked for was served already")
    entries: dict[str, int] = Field(description="entries the index serves per hash type (every list)")
    removed: int = Field(description="entries no longer served (their notices withdrawn)")


class RetractionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "eokm-main",
                    "version": 4,
                    "removed": 1,
                    "entries": 6,
                    "not_found": 0,
                    "published": None,
                }
            ]
        }
    )
    name: str = Field(description="the list's name")
    version: int
    removed: int
    entries: int
    not_found: int = Field(description="hashes that matched no active entry")
    published: PublishOut | None = Field(description="the publish, when asked for")
