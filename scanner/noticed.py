"""``hashmatch scan report``: every file of a state file that has an active notice, with its status.

The state file keeps each matched file's notice id; the statuses come from the server, a page of the
hoster's active notices at a time (``GET /v1/notices?status=open&status=overdue&status=disputed``), not
one request per file.
"""

from collections.abc import Iterator
from typing import Any

from scanner.client import MatchClient
from scanner.config import ScanConfig
from scanner.output import Value
from scanner.state import ScanState

ACTIVE = ("open", "overdue", "disputed")
"""Notice statuses that still ask something of the hoster."""
PAGE = 500
"""Notices per request (the server's most)."""
NOTICE_COLUMNS = ("ref", "path", "notice_id", "status", "deadline", "confidence", "signals")


def active_notices(client: MatchClient) -> dict[str, dict[str, Any]]:
    """The caller's active notices by id, read page by page."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"status": list(ACTIVE), "limit": PAGE}
        if cursor is not None:
            params["cursor"] = cursor
        page = client.get("/v1/notices", params)
        for notice in page.get("items") or ():
            found[str(notice["id"])] = notice
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def noticed_rows(state: ScanState, config: ScanConfig, client: MatchClient) -> Iterator[dict[str, Value]]:
    """A row per file of ``state`` whose notice is active, by path."""
    active = active_notices(client)
    for path, notice_id in state.noticed():
        notice = active.get(notice_id)
        if notice is None:
            continue
        yield {
            "ref": config.ref(path),
            "path": path,
            "notice_id": notice_id,
            "status": notice["status"],
            "deadline": notice.get("deadline"),
            "confidence": notice.get("confidence"),
            "signals": "+".join(notice.get("signals") or ()) or None,
        }
