"""A disputed notice withdrawn with its entries retracted: publishing the lists it names
(:func:`notices.publishing.publish_lists`) then withdraws the notices that rest only on those entries,
and the false positive stops matching at once."""

from datetime import datetime

from sqlalchemy.orm import Session

from db.models import Notice, NoticeEvent, Organisation
from indexer.lists import retract_entries
from notices.access import owned_list_ids
from notices.lifecycle import resolve_dispute


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
