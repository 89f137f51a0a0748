"""``POST /v1/match`` (a JSON batch) and ``POST /v1/match/stream`` (NDJSON in, NDJSON out): the routes
and the batch's body; the match itself is ``api.matches``, the stream's answers ``api.match_stream``."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from accounts import Caller
from api.deps import Services, allow, charge, record, services
from api.errors import InvalidBody, PayloadTooLarge
from api.limits import first_chunk, read_body, require_content_type, split_lines
from api.match_schemas import MatchRequest, MatchResponse
from api.match_stream import MAX_LINE_BYTES, answer_stream, query_thresholds
from api.matches import json_value, result_view, run_match, thresholds_for
from api.openapi import error_responses
from api.schemas import request_body
from matching import IndexNotReady, InvalidItems, item_cost, parse_items

MATCH_ROLES = ("hoster", "hotline", "admin")
"""The authority reads figures, not lists: it has no match access."""
STREAM_PATH = "/v1/match/stream"
"""The one route without a body limit: it matches any number of lines in bounded memory."""
router = APIRouter(tags=["match"])
Matcher = Annotated[Caller, Depends(allow(*MATCH_ROLES))]


@router.post(
    "/v1/match",
    response_model=MatchResponse,
    response_model_exclude_none=False,
    summary="Match a batch of hashes; open a notice for every matched ref",
    openapi_extra={"requestBody": request_body(MatchRequest)},
    responses=error_responses(401, 403, 413, 415, 422, 429, 503),
)
async def match_batch(request: Request, caller: Matcher) -> JSONResponse:
    """Items of one ``ref`` (several hash types of one file) are combined into one result with the
    signals that matched and a confidence. Hosters get a notice id per matched ref (created and
    committed before this answer); hotlines, the authority and admins get full match detail instead."""
    found = services(request)
    require_content_type(request, "application/json")
    body = await read_body(request)
    raw_items, thresholds = _shape(body, found.settings.max_items)
    await _charge_batch(found, caller, sum(map(item_cost, raw_items)))
    answer = await run_in_threadpool(_match_batch, found, caller, raw_items, thresholds)
    return JSONResponse(answer)


async def _charge_batch(found: Services, caller: Caller, hashes: int) -> None:
    """Spend a batch's hashes (a video: its frames) of its organisation's rate budget before matching,
    or refuse it (429; 422 if they could never fit): one was paid with the call itself."""
    burst = found.settings.rate_burst_hashes
    if hashes > burst:
        raise InvalidBody(
            "items",
            f"{hashes} hashes (a vpdq item counts its frames) are more than the rate limit's burst of {burst}"
            " per organisation: send fewer videos per request, or use /v1/match/stream",
        )
    await run_in_threadpool(charge, found, caller, hashes - 1)


def _shape(body: bytes, max_items: int) -> tuple[list[Any], object]:
    try:
        payload = json_value(body)
    except ValueError as error:
        raise InvalidBody("body", str(error)) from None
    if not isinstance(payload, dict):
        raise InvalidBody("body", 'expected an object {"items": [...], "thresholds": {...}}')
    unknown = sorted(set(payload) - {"items", "thresholds"})
    if unknown:
        raise InvalidBody(unknown[0], "unknown field: expected only 'items' and 'thresholds'")
    items = payload.get("items")
    if not isinstance(items, list) or not items:
        raise InvalidBody("items", "expected a non-empty list of {type, hash, ref} items")
    if len(items) > max_items:
        raise PayloadTooLarge(
            f"{len(items)} items is more than the limit of {max_items} per request: split the batch, "
            "or use POST /v1/match/stream"
        )
    return items, payload.get("thresholds")


def _match_batch(
    found: Services, caller: Caller, raw_items: list[Any], raw_thresholds: object
) -> dict[str, Any]:
    thresholds = thresholds_for(caller, raw_thresholds)
    items, errors = parse_items(raw_items)
    if errors:
        record(found, caller, "match", {"items": len(raw_items), "refused": len(errors)})
        raise InvalidItems(errors)
    outcome = run_match(found, caller, "match", items, thresholds)
    results = [result_view(result, caller) for result in outcome.results]
    return {"results": results, "counts": outcome.counts, "index_version": outcome.index_version}


@router.post(
    STREAM_PATH,
    summary="Match any number of hashes as NDJSON, in bounded memory",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"type": "md5", "hash": "3b5d5c3712955042212316173ccf37be", "ref": "a.jpg"}\n'
                    '{"type": "pdq", "hash": "f8f8f0cee0f4a84f06370a22038f63f0'
                    'b36e2ed596621e1d33e6b39c4e9c9b22", "ref": "a.jpg"}\n'
                    '{"type": "md5", "hash": "d41d8cd98f00b204e9800998ecf8427e", "ref": "empty.bin"}\n',
                }
            },
        }
    },
    responses={
        200: {
            "description": "one line per ref (as in /v1/match), bad lines inline, a final counts line",
            "content": {
                "application/x-ndjson": {
                    "example": '{"ref": "a.jpg", "matched": true, "confidence": "high", "signals": ["md5"], '
                    '"notice_id": "ntc_zakqllfo4w4yag3u2bea2k74", "reupload_of": null}\n'
                    '{"ref": "empty.bin", "matched": false, "confidence": null, "signals": [], '
                    '"notice_id": null, "reupload_of": null, "unmatchable": "md5 of an empty file"}\n'
                    '{"line": 7, "field": "hash", "reason": "invalid pdq hash: '
                    'expected 64 hexadecimal digits, got 12 characters"}\n'
                    '{"counts": {"items": 3, "refs": 2, "matched": 1, "refused": 1}, '
                    '"index_version": "0c3e8f0f6a3b4be49d1f1b0c7d0f5a21"}\n'
                }
            },
        },
        **error_responses(401, 403, 415, 422, 429, 503),
    },
)
async def match_stream(
    request: Request,
    caller: Matcher,
    thresholds: Annotated[
        str | None,
        Query(description="lower thresholds, as type:threshold pairs: pdq:31,phash:6", examples=["pdq:31"]),
    ] = None,
) -> StreamingResponse:
    """One ``{type, hash, ref}`` item per line (items of one ref on consecutive lines). Items are
    matched in chunks as they arrive; each chunk's notices are committed before its results are sent.
    A bad line is answered inline with its line number (from 1) and does not stop the stream."""
    found = services(request)
    require_content_type(request, "application/x-ndjson", "application/jsonl")
    lowered = thresholds_for(caller, query_thresholds(thresholds))
    if found.watcher.current is None:
        raise IndexNotReady(found.watcher.state.describe())
    first, rest = await first_chunk(request)
    lines = split_lines(first, rest, MAX_LINE_BYTES)
    return StreamingResponse(answer_stream(found, caller, lines, lowered), media_type="application/x-ndjson")
