"""The shapes of the match route (``POST /v1/match``): what a caller sends and what each role gets back,
with the examples the OpenAPI document shows."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import MD5_EXAMPLE, PDQ_EXAMPLE


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
