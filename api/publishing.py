"""A publish asked for over the API: :func:`notices.publishing.publish_for` for the calling key (the
console's publish is the same call), and what the answer shows of it."""

from typing import Any

from accounts import Caller
from api.deps import Services
from indexer.publishing import PublishResult
from notices import publishing


def publish_for(found: Services, caller: Caller) -> PublishResult:
    """Publish the newest versions of the caller's lists, audited, served here at once."""
    return publishing.publish_for(
        found.sessions,
        found.settings,
        found.watcher,
        organisation_id=caller.organisation_id,
        role=caller.role,
        key_id=caller.key_id,
        now=found.clock.now(),
    )


def publish_view(result: PublishResult) -> dict[str, Any]:
    return {
        "index_version": result.version,
        "changed": result.changed,
        "entries": result.entries,
        "removed": result.removed,
    }
