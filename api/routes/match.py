"""``POST /v1/match`` (a JSON batch) and ``POST /v1/match/stream`` (NDJSON in, NDJSON out)."""

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from accounts import Caller
from api.deps import Services, allow, budget_of, charge, rate_of, record, services
from api.errors import ForbiddenField, InvalidBody, PayloadTooLarge, Suspended
from api.guarding import SUSPENDED, escalate, guarded_queries, refuse_if_suspended, told_answers
from api.limits import first_chunk, read_body, require_content_type, split_lines
from api.match_schemas import MatchRequest, MatchResponse
from api.openapi import error_responses
from api.schemas import request_body
from guard.shares import at_share_edge
from matching import (
    IndexNotReady,
    InvalidItems,
    Item,
    ItemError,
    MatchOutcome,
    RefResult,
    Search,
    audit_detail,
    item_cost,
    match,
    parse_items,
    parse_thresholds,
)

MATCH_ROLES = ("hoster", "hotline", "admin")
"""The authority reads figures, not lists: it has no match access."""
MAX_LINE_BYTES = 16 * 1024
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


def _json(raw: bytes) -> object:
    """The JSON value of ``raw``; ``ValueError`` saying why it is none."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None


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
        payload = _json(body)
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
    thresholds = _thresholds(caller, raw_thresholds)
    items, errors = parse_items(raw_items)
    if errors:
        record(found, caller, "match", {"items": len(raw_items), "refused": len(errors)})
        raise InvalidItems(errors)
    outcome = _run(found, caller, "match", items, thresholds)
    results = [view(result, caller) for result in outcome.results]
    return {"results": results, "counts": outcome.counts, "index_version": outcome.index_version}


def _thresholds(caller: Caller, raw: object) -> dict[str, int]:
    """The request's lowered thresholds: a hoster may send none (with them, answers near an entry
    tell its distance: an oracle); a hotline lowers those of its own lists, the only ones it sees."""
    if raw is not None and caller.role == "hoster":
        raise ForbiddenField(
            "thresholds", "hoster keys match at the lists' own thresholds: send no thresholds"
        )
    return parse_thresholds(raw)


def _run(
    found: Services, caller: Caller, action: str, items: Sequence[Item], thresholds: dict[str, int]
) -> MatchOutcome:
    """Match as the caller may (a hotline against its own lists only); for a hoster, let the probing
    guard see the call, then open the notices; commit, audit the call (in the notices' transaction if
    there are any, else through the audit writer) and count it."""
    with found.sessions() as session:
        now = found.clock.now()
        if caller.role == "hoster":
            refuse_if_suspended(found, session, caller)
        outcome = match(
            session,
            found.watcher.current,
            caller.organisation_id,
            caller.role,
            items,
            thresholds,
            now,
            found.settings.variant_thresholds,
            lambda result: _guard(found, session, caller, items, result, now),
            at_share_edge,
        )
        if outcome.notices_created:
            record(found, caller, action, audit_detail(outcome), session)
        session.commit()  # the notices and the guard's state, or at most a key's last use
    if not outcome.notices_created:
        record(found, caller, action, audit_detail(outcome))
    _count(found, outcome)
    return outcome


def _guard(
    found: Services, session: Session, caller: Caller, items: Sequence[Item], result: Search, now: datetime
) -> None:
    """Let the probing guard see a hoster's call; on an escalation, audit it, count it and tell the
    owners of the lists concerned; refuse the call that reaches the suspension (committing only the
    guard's state and its audit record)."""
    seen = guarded_queries(items, found.settings.variant_thresholds, told_answers(result.results), result)
    matched = [(hit.entry_id, hit.hash_type) for hit in result.hits]
    verdict = found.probes.watch(
        session, caller.organisation_id, seen.codes, matched, now, seen.caps, seen.answers, seen.margins
    )
    if verdict.escalated is None:
        return
    escalate(found, session, caller, verdict, now)
    if verdict.refuse:
        session.commit()
        raise Suspended(SUSPENDED)


def _count(found: Services, outcome: MatchOutcome) -> None:
    found.metrics.items.inc(outcome.items)
    found.metrics.notices_created.inc(outcome.notices_created)
    for result in outcome.results:
        if result.confidence is not None:
            found.metrics.matches.labels(result.confidence).inc()


def view(result: RefResult, caller: Caller) -> dict[str, Any]:
    """A ref's result as the caller may see it: hosters never get entries or distances, nor anything
    of a result that is not a match (``review``: for the hotline only); a hotline's results already
    cover its own lists only."""
    hidden = caller.role == "hoster" and not result.matched
    shown: dict[str, Any] = {
        "ref": result.ref,
        "matched": result.matched,
        "confidence": None if hidden else result.confidence,
        "signals": [] if hidden else result.signals,
        "notice_id": result.notice_id,
        "reupload_of": result.reupload_of,
    }
    if result.unmatchable is not None:
        shown["unmatchable"] = result.unmatchable
    if caller.role != "hoster":
        shown["matches"] = [
            {
                "list_id": hit.list_id,
                "list": hit.list_name,
                "hotline_id": hit.hotline_id,
                "entry": hit.entry_id,
                "item": hit.item,
                "type": hit.hash_type,
                "distance": hit.distance,
                "category": hit.category,
                "variant": hit.variant,
            }
            for hit in result.hits
        ]
    return shown


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
    lowered = _thresholds(caller, _pairs(thresholds))
    if found.watcher.current is None:
        raise IndexNotReady(found.watcher.state.describe())
    first, rest = await first_chunk(request)
    lines = split_lines(first, rest, MAX_LINE_BYTES)
    return StreamingResponse(_stream(found, caller, lines, lowered), media_type="application/x-ndjson")


def _pairs(text: str | None) -> dict[str, object] | None:
    """``pdq:31,phash:6`` as {"pdq": 31, "phash": 6} (a value that is no integer is left for the check)."""
    if not text:
        return None
    pairs: dict[str, object] = {}
    for pair in text.split(","):
        name, _, value = pair.partition(":")
        try:
            pairs[name.strip()] = int(value)
        except ValueError:  # not an integer, or too many digits to be one
            pairs[name.strip()] = value
    return pairs


async def _stream(
    found: Services, caller: Caller, lines: AsyncIterator[bytes | None], thresholds: dict[str, int]
) -> AsyncIterator[bytes]:
    counts = {"items": 0, "refs": 0, "matched": 0, "refused": 0}
    versions: set[str] = set()
    try:
        async for item_line in _paced_chunks(found, caller, lines, thresholds, counts, versions):
            yield item_line
    except Suspended as refused:  # the guard stopped this organisation mid-stream: say so, stop reading
        counts["refused"] += 1
        yield _ndjson({"line": None, "field": "line", "reason": refused.detail})
    # the version that answered every chunk; null if none was matched or the index changed mid-stream
    yield _ndjson({"counts": counts, "index_version": versions.pop() if len(versions) == 1 else None})


async def _paced_chunks(
    found: Services,
    caller: Caller,
    lines: AsyncIterator[bytes | None],
    thresholds: dict[str, int],
    counts: dict[str, int],
    versions: set[str],
) -> AsyncIterator[bytes]:
    """The answers to a stream's lines, chunk by chunk, and its bad lines inline."""
    chunk: list[Item] = []
    number = 0
    over: bytes | None = None
    async for line in lines:
        number += 1
        item, error = _parse_line(line, number)
        if error is not None:
            counts["refused"] += 1
            yield _ndjson({"line": error.index, "field": error.field, "reason": error.reason})
            continue
        if item is None:
            continue
        if counts["items"] + len(chunk) >= found.settings.max_stream_items:
            over = _over_stream_limit(number, found.settings.max_stream_items, counts)
            break
        if len(chunk) >= found.settings.stream_chunk_items and chunk[-1].ref != item.ref:
            yield await _paced_chunk(found, caller, chunk, thresholds, counts, versions)
            chunk = []
        chunk.append(item)
    if chunk:
        yield await _paced_chunk(found, caller, chunk, thresholds, counts, versions)
    if over is not None:
        yield over


async def _paced_chunk(
    found: Services,
    caller: Caller,
    items: Sequence[Item],
    thresholds: dict[str, int],
    counts: dict[str, int],
    versions: set[str],
) -> bytes:
    """Match one chunk once its items fit the organisation's rate budget: over it, the stream waits
    (and stops reading the body) rather than fail halfway. The call itself paid for one item."""
    hashes = sum(item.cost for item in items) - (1 if counts["items"] == 0 else 0)
    burst, rate = found.settings.rate_burst_hashes, rate_of(found, caller)
    while hashes > 0:
        part = min(hashes, burst)  # a chunk (one ref's items are never split) may be longer than a burst
        wait = await run_in_threadpool(partial(found.budgets.take, rate=rate), budget_of(caller), part)
        if wait is None:
            hashes -= part
        else:
            await asyncio.sleep(wait)
    return await run_in_threadpool(_match_chunk, found, caller, items, thresholds, counts, versions)


def _over_stream_limit(number: int, limit: int, counts: dict[str, int]) -> bytes:
    counts["refused"] += 1
    reason = (
        f"more than {limit} items in one stream: this line and the rest were not matched; "
        "send them in another request"
    )
    return _ndjson({"line": number, "field": "line", "reason": reason})


def _parse_line(line: bytes | None, number: int) -> tuple[Item | None, ItemError | None]:
    if line is None:
        return None, ItemError(number, "line", f"longer than {MAX_LINE_BYTES} bytes")
    if not line.strip():
        return None, None
    try:
        value = _json(line)
    except ValueError as error:
        return None, ItemError(number, "line", str(error))
    items, errors = parse_items([value], offset=number)
    return (items[0], None) if items else (None, errors[0])


def _match_chunk(
    found: Services,
    caller: Caller,
    items: Sequence[Item],
    thresholds: dict[str, int],
    counts: dict[str, int],
    versions: set[str],
) -> bytes:
    outcome = _run(found, caller, "match.stream", items, thresholds)
    versions.add(outcome.index_version)
    for key, value in outcome.counts.items():
        counts[key] += value
    return b"".join(_ndjson(view(result, caller)) for result in outcome.results)


def _ndjson(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\n"
