"""Publishing lists as the service does it, from the CLI, the API or the console: the index built and
served under the publish lock (:func:`indexer.publishing.publish`), and in the same transaction the
notices that rested only on entries it stops serving withdrawn."""

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

import audit
from audit import AuditEntry
from config.settings import Settings
from db.base import utcnow
from indexer.errors import NothingToPublish
from indexer.owned import own_list_ids
from indexer.publishing import PublishResult, publish
from indexer.store import IndexStore
from indexer.watcher import IndexWatcher
from notices.errors import PublishFailed
from notices.lifecycle import withdraw_for_removed_entries

log = logging.getLogger(__name__)


def withdraw_notices(session: Session, entry_ids: Sequence[int], now: datetime | None = None) -> None:
    """Called by every publish with the entries it stops serving: notices resting only on retracted
    entries are withdrawn in the publish's transaction (at ``now``, default the current time)."""
    withdraw_for_removed_entries(session, entry_ids, now or utcnow())


def publish_lists(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    lists: Sequence[int] | None = None,
    now: datetime | None = None,
) -> PublishResult:
    """Serve the newest version of ``lists`` (default: every list; the others stay as served), into
    ``settings``' index directory and store. An empty ``lists`` (an organisation without lists) is
    refused with :class:`NothingToPublish`."""
    if lists is not None and not lists:
        raise NothingToPublish("no lists to publish: create one first")
    return publish(
        sessions,
        settings.index_dir,
        lists=lists,
        on_entries_removed=lambda session, removed: withdraw_notices(session, removed, now),
        keep=settings.index_versions_kept,
        store=IndexStore.from_settings(settings),
    )


def publish_for(
    sessions: sessionmaker[Session],
    settings: Settings,
    watcher: IndexWatcher,
    *,
    organisation_id: int,
    role: str,
    key_id: int | None,
    now: datetime,
    marks: Mapping[str, Any] | None = None,
) -> PublishResult:
    """A publish asked for by a key (over the API or the console): the newest versions of the
    organisation's lists (an admin's: of every list; the others stay as served), notices resting only
    on entries it stops serving withdrawn; then audited as ``lists.published`` (with ``marks``, e.g.
    where it was asked) and served by this process at once (others serve it at their next poll). A
    fault of the disk or the index store is :class:`PublishFailed`."""
    with sessions() as session:
        lists = None if role == "admin" else own_list_ids(session, organisation_id)
    try:
        result = publish_lists(sessions, settings, lists=lists, now=now)
    except OSError as error:  # the caller is told what failed, the log where (no server path on the wire)
        log.exception("publish failed")
        raise PublishFailed(
            f"publishing failed: the index could not be written ({error.strerror or type(error).__name__}); "
            "nothing was published and the served version is unchanged: try again, or tell the operator"
        ) from error
    detail = {"index_version": result.version, "changed": result.changed, "removed": result.removed}
    with sessions.begin() as session:
        entry = AuditEntry("lists.published", {**detail, **(marks or {})}, now, organisation_id, key_id)
        audit.append_many(session, [entry])
    watcher.check()
    return result
