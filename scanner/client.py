"""The match API client: ``POST /v1/match`` with retries.

Connection errors, 429 (after its ``Retry-After``), 502, 503 and 504 are retried with exponential
backoff; re-sending a batch is safe (the server never duplicates a notice). Any other error stops the
scan with the server's one-sentence ``detail``.
"""

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from scanner.defaults import MAX_ITEMS
from scanner.errors import ScannerError, ServerRefused, ServerUnavailable

RETRY_STATUSES = frozenset({429, 502, 503, 504})


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
        self.url = server.rstrip("/") + "/v1/match"
        self.retrying = retrying
        self._sleep = sleep
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {key}", "User-Agent": "hashmatch-scanner"}, timeout=timeout
        )

    def match(self, items: Sequence[Mapping[str, str]]) -> list[MatchResult]:
        """The server's results for ``items`` (at most :data:`MAX_ITEMS`), one per distinct ref."""
        if len(items) > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} items per request, got {len(items)}")
        attempt = 0
        while True:
            try:
                response = self._http.post(self.url, json={"items": list(items)})
            except httpx.TransportError as error:
                failure, wait = f"{type(error).__name__}: {error}", None
            else:
                if response.status_code == 200:
                    return _results(self.url, response)
                if response.status_code not in RETRY_STATUSES:
                    raise ServerRefused(response.status_code, _detail(response))
                failure = f"HTTP {response.status_code}: {_detail(response)}"
                wait = _retry_after(response)
            if attempt >= self.retrying.retries:
                tries = f"{attempt + 1} attempt" + ("s" if attempt else "")
                raise ServerUnavailable(
                    f"gave up on {self.url} after {tries} ({failure}); run the scan again to resume"
                )
            self._sleep(wait if wait is not None else self.retrying.delay(attempt))
            attempt += 1

    def close(self) -> None:
        self._http.close()


def _results(url: str, response: httpx.Response) -> list[MatchResult]:
    try:
        return [
            MatchResult(
                ref=str(result["ref"]),
                matched=bool(result["matched"]),
                confidence=result.get("confidence"),
                signals=tuple(result.get("signals") or ()),
                notice_id=result.get("notice_id"),
                reupload_of=result.get("reupload_of"),
            )
            for result in response.json()["results"]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise ScannerError(f"unexpected answer from {url}: {error!r}") from None


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
