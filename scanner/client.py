"""The match API client: ``POST /v1/match`` with retries, and the checks before a scan.

Connection errors, 429 (after its ``Retry-After``), 502, 503 and 504 are retried with exponential
backoff; re-sending a batch is safe (the server never duplicates a notice). Any other error stops the
scan with the server's one-sentence ``detail``.
"""

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from matcher import get_hash_type
from scanner.defaults import MAX_ITEMS
from scanner.errors import ScannerError, ServerRefused, ServerUnavailable
from scanner.hashing import Hash

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MATCH_ROLES = ("hoster", "hotline", "admin")
"""The roles the server lets match (the authority reads figures only)."""


@dataclass(frozen=True)
class MatchResult:
    """The server's answer for one ref."""

    ref: str
    matched: bool
    confidence: str | None
    signals: tuple[str, ...]
    notice_id: str | None
    reupload_of: str | None


@dataclass(frozen=True)
class Answer:
    """The server's results for one request, and the index version that answered (None from a server
    that does not say)."""

    results: list[MatchResult]
    index_version: str | None


@dataclass(frozen=True)
class Server:
    """Who the key belongs to, and the index version the server serves (None: none yet)."""

    organisation: str
    role: str
    index_version: str | None


@dataclass(frozen=True)
class Retrying:
    """How long to keep trying: ``retries`` more attempts after the first, waiting ``backoff`` seconds
    doubled each time up to ``max_backoff`` (with jitter), or what a 429's ``Retry-After`` asks."""

    retries: int = 8
    backoff: float = 1.0
    max_backoff: float = 60.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_backoff, self.backoff * 2**attempt) * random.uniform(0.5, 1.0))


class MatchClient:
    """A client of one server with one key; ``close`` it after use (``contextlib.closing``)."""

    def __init__(
        self,
        server: str,
        key: str,
        retrying: Retrying = Retrying(),
        timeout: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.server = server.rstrip("/")
        self.url = self.server + "/v1/match"
        self.retrying = retrying
        self._sleep = sleep
        self._closed = False
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {key}", "User-Agent": "hashmatch-scanner"}, timeout=timeout
        )

    def check(self) -> Server:
        """Who the key belongs to (``GET /v1/me``) and the served index version (``GET /healthz``):
        a bad key, a key without match access or an unreachable server, before any file is read."""
        me = self._json(self._request("GET", "/v1/me"), ("organisation", "role"))
        if me["role"] not in MATCH_ROLES:
            raise ServerRefused(
                403, f"the key is {me['organisation']}'s ({me['role']}): a {me['role']} key cannot match"
            )
        health = self._json(self._request("GET", "/healthz"), ("status",))
        version = health.get("index_version")
        return Server(str(me["organisation"]), str(me["role"]), None if version is None else str(version))

    def match(self, items: Sequence[Mapping[str, str | bool]]) -> Answer:
        """The server's results for ``items`` (at most :data:`MAX_ITEMS`), one per distinct ref."""
        if len(items) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} items per request, got {len(items)}")
        return _answer(self.url, self._request("POST", "/v1/match", {"items": list(items)}))

    def get(self, path: str, params: Mapping[str, str | int | Sequence[str]]) -> dict[str, Any]:
        """The JSON object ``GET path`` answers with."""
        return self._json(self._request("GET", path, params=params), ())

    def _request(
        self, method: str, path: str, body: object = None, params: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """The server's successful answer, retried as the module says."""
        url = self.server + path
        attempt = 0
        while True:
            try:
                response = self._http.request(method, url, json=body, params=params)
            except httpx.TransportError as error:
                failure, wait = f"{type(error).__name__}: {error}", None
            else:
                if response.status_code == 200:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise ServerRefused(response.status_code, _detail(response))
                failure = f"HTTP {response.status_code}: {_detail(response)}"
                wait = _retry_after(response)
            if attempt >= self.retrying.retries or self._closed:
                tries = f"{attempt + 1} attempt" + ("s" if attempt else "")
                raise ServerUnavailable(
                    f"gave up on {url} after {tries} ({failure}); run the scan again to resume"
                )
            self._sleep(wait if wait is not None else self.retrying.delay(attempt))
            attempt += 1

    def _json(self, response: httpx.Response, required: Sequence[str]) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or any(key not in body for key in required):
            raise ScannerError(f"unexpected answer from {response.url}: not the hashmatch API?")
        return body

    def close(self) -> None:
        """Close the connections; a request still in flight on another thread fails without retries."""
        self._closed = True
        self._http.close()


def items_of(hashes: Iterable[Hash], ref: str) -> list[dict[str, str | bool]]:
    """The match API's items for a file's hashes (variants marked: the server may search them at a
    cheaper radius)."""
    return [
        {"type": item.type, "hash": item.hash, "ref": ref, **({"variant": True} if item.variant else {})}
        for item in hashes
    ]


def items_cost(items: Iterable[Mapping[str, object]]) -> int:
    """What ``items`` cost of the server's rate budget, in hashes: one each, a video its frames (a
    batch is cut by this, so that a request of long videos stays within the budget's burst)."""
    return sum(get_hash_type(item["type"]).cost(item["hash"]) for item in items)


def _answer(url: str, response: httpx.Response) -> Answer:
    try:
        body = response.json()
        results = [
            MatchResult(
                ref=str(result["ref"]),
                matched=bool(result["matched"]),
                confidence=result.get("confidence"),
                signals=tuple(result.get("signals") or ()),
                notice_id=result.get("notice_id"),
                reupload_of=result.get("reupload_of"),
            )
            for result in body["results"]
        ]
        version = body.get("index_version")
    except (ValueError, KeyError, TypeError) as error:
        raise ScannerError(f"unexpected answer from {url}: {error!r}") from None
    return Answer(results, None if version is None else str(version))


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no detail"
    detail = str(body.get("detail", "no detail")) if isinstance(body, dict) else "no detail"
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        first = errors[0]
        detail += f" (item {first.get('index')}, {first.get('field')}: {first.get('reason')})"
    return detail


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None
