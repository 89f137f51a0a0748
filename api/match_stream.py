"""The answers of ``POST /v1/match/stream``: NDJSON lines in, matched in chunks as they arrive, each
chunk paced by the organisation's rate budget and answered once its notices are committed; bad lines
answered inline; a final counts line. Apart from the route so that it stays thin."""

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool

from accounts import Caller
from api.deps import Services, budget_of, rate_of
from api.errors import Suspended
from api.matches import json_value, result_view, run_match
from matching import Item, ItemError, parse_items

MAX_LINE_BYTES = 16 * 1024


def query_thresholds(text: str | None) -> dict[str, object] | None:
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


async def answer_stream(
    found: Services, caller: Caller, lines: AsyncIterator[bytes | None], thresholds: dict[str, int]
) -> AsyncIterator[bytes]:
    """The stream's answer lines: one per ref and one per bad line, as they come, then the counts."""
    stream = _Stream(found, caller, thresholds)
    try:
        async for item_line in stream.paced_chunks(lines):
            yield item_line
    except Suspended as refused:  # the guard stopped this organisation mid-stream: say so, stop reading
        stream.counts["refused"] += 1
        yield _ndjson({"line": None, "field": "line", "reason": refused.detail})
    # the version that answered every chunk; null if none was matched or the index changed mid-stream
    versions = stream.versions
    yield _ndjson({"counts": stream.counts, "index_version": versions.pop() if len(versions) == 1 else None})


@dataclass
class _Stream:
    """One stream: who asks, at which thresholds, and what it has answered so far."""

    found: Services
    caller: Caller
    thresholds: dict[str, int]
    counts: dict[str, int] = field(
        default_factory=lambda: {"items": 0, "refs": 0, "matched": 0, "refused": 0}
    )
    versions: set[str] = field(default_factory=set)
    """The index versions that answered its chunks."""

    async def paced_chunks(self, lines: AsyncIterator[bytes | None]) -> AsyncIterator[bytes]:
        """The answers to a stream's lines, chunk by chunk, and its bad lines inline."""
        settings = self.found.settings
        chunk: list[Item] = []
        number = 0
        over: bytes | None = None
        async for line in lines:
            number += 1
            item, error = _parse_line(line, number)
            if error is not None:
                self.counts["refused"] += 1
                yield _ndjson({"line": error.index, "field": error.field, "reason": error.reason})
                continue
            if item is None:
                continue
            if self.counts["items"] + len(chunk) >= settings.max_stream_items:
                over = self._over_limit(number, settings.max_stream_items)
                break
            if len(chunk) >= settings.stream_chunk_items and chunk[-1].ref != item.ref:
                yield await self._paced_chunk(chunk)
                chunk = []
            chunk.append(item)
        if chunk:
            yield await self._paced_chunk(chunk)
        if over is not None:
            yield over

    async def _paced_chunk(self, items: Sequence[Item]) -> bytes:
        """Match one chunk once its items fit the organisation's rate budget: over it, the stream waits
        (and stops reading the body) rather than fail halfway. The call itself paid for one item."""
        found, caller = self.found, self.caller
        hashes = sum(item.cost for item in items) - (1 if self.counts["items"] == 0 else 0)
        burst, rate = found.settings.rate_burst_hashes, rate_of(found, caller)
        while hashes > 0:
            part = min(hashes, burst)  # a chunk (one ref's items are never split) may be longer than a burst
            wait = await run_in_threadpool(partial(found.budgets.take, rate=rate), budget_of(caller), part)
            if wait is None:
                hashes -= part
            else:
                await asyncio.sleep(wait)
        return await run_in_threadpool(self._match_chunk, items)

    def _match_chunk(self, items: Sequence[Item]) -> bytes:
        outcome = run_match(self.found, self.caller, "match.stream", items, self.thresholds)
        self.versions.add(outcome.index_version)
        for key, value in outcome.counts.items():
            self.counts[key] += value
        return b"".join(_ndjson(result_view(result, self.caller)) for result in outcome.results)

    def _over_limit(self, number: int, limit: int) -> bytes:
        self.counts["refused"] += 1
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
        value = json_value(line)
    except ValueError as error:
        return None, ItemError(number, "line", str(error))
    items, errors = parse_items([value], offset=number)
    return (items[0], None) if items else (None, errors[0])


def _ndjson(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\n"
