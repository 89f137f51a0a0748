"""Requests in flight while the next batch is made: the scan waits for the server, not on itself.

A batch's answer is handled (report, state) on the caller's thread, in the order the batches were sent,
and only after it arrived: a scan stopped at any point has recorded nothing the server did not answer,
and re-sends at most the batches in flight, which the server answers without duplicating notices.
"""

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from scanner.client import Answer, MatchClient

IN_FLIGHT = 3
"""Requests sent before the oldest answer is waited for: two being answered (by two of the server's
workers, side by side) while the next batch is made."""


class Pipeline:
    """Send batches through ``client`` with up to ``depth`` requests in flight; a context manager that
    handles every answer before it exits (or drops those in flight when leaving on an error)."""

    def __init__(self, client: MatchClient, depth: int = IN_FLIGHT) -> None:
        self._client = client
        self._depth = depth
        self._pool = ThreadPoolExecutor(max_workers=depth, thread_name_prefix="hashmatch-send")
        self._waiting: deque[tuple[Future[Answer], Callable[[Answer], None]]] = deque()

    def send(self, items: Sequence[Mapping[str, str | bool]], handle: Callable[[Answer], None]) -> None:
        """Send ``items``; ``handle`` gets the answer once it and every earlier one has been handled."""
        self._waiting.append((self._pool.submit(self._client.match, items), handle))
        while len(self._waiting) >= self._depth:
            self._handle_oldest()

    def _handle_oldest(self) -> None:
        future, handle = self._waiting.popleft()
        handle(future.result())

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            while kind is None and self._waiting:
                self._handle_oldest()
        finally:
            self._pool.shutdown(wait=kind is None, cancel_futures=True)
