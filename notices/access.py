"""Who sees which notices: a hoster its own (never one held for review or dismissed there), a hotline
those resting on its lists, the authority and the operator (admin) all of them."""

from collections.abc import Iterable

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from db.models import UNSEEN_BY_HOSTER, HashList, Notice, NoticeMatch, Organisation
from notices.errors import NotAllowed

SEE_ALL = ("authority", "admin")


def visible_to(viewer: Organisation) -> ColumnElement[bool]:
    """A condition on ``Notice`` that holds for the notices ``viewer`` may see."""
    if viewer.role == "hoster":
        return (Notice.hoster_id == viewer.id) & Notice.status.not_in(UNSEEN_BY_HOSTER)
    if viewer.role == "hotline":
        return Notice.id.in_(
            select(NoticeMatch.notice_id)
            .join(HashList, HashList.id == NoticeMatch.list_id)
            .where(HashList.organisation_id == viewer.id)
        )
    if viewer.role in SEE_ALL:
        return true()
    raise NotAllowed("see notices", f"role {viewer.role!r} has no access to notices")


def can_see(session: Session, notice: Notice, viewer: Organisation) -> bool:
    found = session.scalar(select(Notice.id).where(Notice.id == notice.id, visible_to(viewer)))
    return found is not None


def owned_list_ids(session: Session, notice_ids: Iterable[int], hotline: Organisation) -> set[int]:
    """The lists of ``hotline`` that the given notices rest on."""
    return set(
        session.scalars(
            select(NoticeMatch.list_id)
            .join(HashList, HashList.id == NoticeMatch.list_id)
            .where(NoticeMatch.notice_id.in_(list(notice_ids)), HashList.organisation_id == hotline.id)
        )
    )
