"""Making a retraction effective: publishing lists withdraws the notices that rest only on entries the
publication stops serving. One place for the CLI, the console and the API: a withdrawn false positive
stops matching as soon as the hotline publishes."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from db.base import utcnow
from db.models import Notice, NoticeEvent, Organisation
from indexer.lists import retract_entries
from indexer.publishing import PublishResult, publish
from indexer.store import IndexStore
from notices.access import owned_list_ids
from notices.lifecycle import resolve_dispute, withdraw_for_removed_entries


def withdraw_notices(session: Session, entry_ids: Sequence[int]) -> None:
    """Called by every publish with the entries it stops serving: notices resting only on retracted
    entries are withdrawn in the publish's transaction."""
    withdraw_for_removed_entries(session, entry_ids, utcnow())


def publish_lists(
    sessions: sessionmaker[Session], settings: Settings, lists: Sequence[int] | None = None
) -> PublishResult:
    """Serve the newest version of ``lists`` (default: every list) from the settings' index store,
    withdrawing the notices of entries no longer served."""
    return publish(
        sessions,
        settings.index_dir,
        lists=lists,
        on_entries_removed=withdraw_notices,
        keep=settings.index_versions_kept,
        store=IndexStore.from_settings(settings),
    )


def withdraw_and_retract(
    session: Session, notice: Notice, actor: Organisation, *, reason: str, now: datetime
) -> tuple[NoticeEvent, list[int]]:
    """The hotline withdraws a disputed notice and retracts the entries of its own lists that the notice
    matched; returns the event and the lists to publish (with :func:`publish_lists`, after the commit)
    for the entries to stop matching now."""
    event = resolve_dispute(
        session, notice, actor, outcome="withdrawn", reason=reason, now=now, retract=retract_entries
    )
    return event, sorted(owned_list_ids(session, [notice.id], actor))
