"""A publish asked for over the API: a hotline's own lists (an admin's: every list), audited, and
served by this process at once (other servers and replicas serve it at their next poll)."""

from typing import Any

from accounts import Caller
from api.deps import Services, record
from indexer.owned import own_list_ids
from indexer.publishing import PublishResult
from notices.publishing import publish_lists


def publish_for(found: Services, caller: Caller) -> PublishResult:
    """Publish the newest versions of the caller's lists (the others stay as served), withdrawing the
    notices resting only on entries it stops serving; then audit it and serve it here."""
    with found.sessions() as session:
        lists = None if caller.role == "admin" else own_list_ids(session, caller.organisation_id)
    result = publish_lists(found.sessions, found.settings, lists=lists, now=found.clock.now())
    with found.sessions.begin() as session:
        detail = {"index_version": result.version, "changed": result.changed, "removed": result.removed}
        record(found, caller, "lists.published", detail, session)
    found.watcher.check()
    return result


def publish_view(result: PublishResult) -> dict[str, Any]:
    return {
        "index_version": result.version,
        "changed": result.changed,
        "entries": result.entries,
        "removed": result.removed,
    }
