"""Opening the takedown notice of every matched ref of a hoster, and holding one for the hotline's review
for every ``review`` ref: idempotent, one active notice per (hoster, ref), with its matches and its
``created`` event, in the caller's transaction."""

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import HashList, Notice, NoticeMatch, Organisation
from db.tokens import random_token
from indexer.serving import ServedIndexes
from matching.items import Item
from matching.search import RefResult, Search, search
from notices.lifecycle import record_created, supersede_review


@dataclass(frozen=True)
class MatchOutcome:
    results: list[RefResult]
    items: int
    notices_created: int
    index_version: str

    @property
    def counts(self) -> dict[str, int]:
        return {
            "items": self.items,
            "refs": len(self.results),
            "matched": sum(result.matched for result in self.results),
        }


def new_public_id() -> str:
    """``ntc_`` and 24 random base32 characters (120 bits): unguessable."""
    return "ntc_" + random_token(15)


def ref_digest(ref: str) -> str:
    return hashlib.sha256(ref.encode("utf-8")).hexdigest()


def _active_notice(session: Session, hoster_id: int, active_ref: str) -> Notice | None:
    return session.scalar(
        select(Notice).where(Notice.hoster_id == hoster_id, Notice.active_ref == active_ref)
    )


def _earlier_removed(session: Session, hoster_id: int, entry_ids: Sequence[int]) -> Notice | None:
    """The newest removed notice of this hoster on any of the same entries: content coming back."""
    return session.scalar(
        select(Notice)
        .join(NoticeMatch, NoticeMatch.notice_id == Notice.id)
        .where(Notice.hoster_id == hoster_id, Notice.status == "removed", NoticeMatch.entry_id.in_(entry_ids))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(1)
    )


def open_notice(session: Session, hoster_id: int, result: RefResult, now: datetime) -> tuple[Notice, bool]:
    """The active notice for a matched (or ``review``) ref: the existing one, or a new one with its
    matches and its ``created`` event, in status ``open`` (``review``: unseen by the hoster until a
    hotline confirms it). A match replaces a notice still in review. Returns the notice and whether it
    is new."""
    active_ref = ref_digest(result.ref)
    existing = _active_notice(session, hoster_id, active_ref)
    if existing is not None and existing.status == "review" and result.matched:
        supersede_review(session, existing, now)
        existing = _active_notice(session, hoster_id, active_ref)
    if existing is not None:
        return existing, False
    lists = {
        hash_list.id: hash_list
        for hash_list in session.scalars(
            select(HashList).where(HashList.id.in_({hit.list_id for hit in result.hits}))
        )
    }
    earlier = _earlier_removed(session, hoster_id, [hit.entry_id for hit in result.hits])
    categories = sorted({hit.category for hit in result.hits if hit.category})
    notice = Notice(
        public_id=new_public_id(),
        hoster_id=hoster_id,
        ref=result.ref,
        active_ref=active_ref,
        status="open" if result.matched else "review",
        confidence=result.confidence,
        signals=result.signals,
        category=categories[0] if categories else None,
        legal_basis="; ".join(sorted({lst.legal_basis for lst in lists.values() if lst.legal_basis})),
        created_at=now,
        deadline=now + timedelta(hours=min(lst.notice_deadline_hours for lst in lists.values())),
        reupload_of=earlier.id if earlier is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(notice)
            session.flush()
    except IntegrityError:  # a concurrent call opened it first: that one is the notice
        existing = _active_notice(session, hoster_id, active_ref)
        if existing is None:
            raise
        return existing, False
    session.add_all(
        NoticeMatch(
            notice_id=notice.id,
            entry_id=hit.entry_id,
            list_id=hit.list_id,
            hash_type=hit.hash_type,
            distance=hit.distance,
        )
        for hit in result.hits
    )
    record_created(session, notice, session.get(Organisation, hoster_id), now)  # by the hoster's call
    return notice, True


def open_notices(session: Session, hoster_id: int, found: Search, now: datetime) -> int:
    """Open (or find) the notice of every matched or ``review`` ref of ``found`` for the hoster and put
    a matched ref's notice id on its result (a review's stays unseen); the number of notices created.
    Writes only notices (with their matches and events): the caller commits."""
    created = 0
    reupload_ids: dict[int, str] = {}
    for result in found.results:
        if not result.matched and result.confidence != "review":
            continue
        notice, new = open_notice(session, hoster_id, result, now)
        created += new
        if not result.matched:
            continue
        result.notice_id = notice.public_id
        if notice.reupload_of is not None:
            if notice.reupload_of not in reupload_ids:
                earlier = session.get(Notice, notice.reupload_of)
                reupload_ids[notice.reupload_of] = earlier.public_id if earlier is not None else ""
            result.reupload_of = reupload_ids[notice.reupload_of] or None
    return created


def match(
    session: Session,
    served: ServedIndexes | None,
    organisation_id: int,
    role: str,
    items: Sequence[Item],
    thresholds: Mapping[str, int],
    now: datetime,
    variant_thresholds: Mapping[str, int] | None = None,
    before_notices: Callable[[Search], None] | None = None,
    share_edge: Callable[[int], bool] | None = None,
) -> MatchOutcome:
    """Match ``items`` as ``role`` may see them (a hotline: its own lists only) and, when the caller
    is a hoster, let ``before_notices`` see what was found (the probing guard: it may refuse the call;
    ``share_edge``: which video margins it reads matched frames of, :func:`matching.search.search`),
    then open a notice for every matched ref (and hold one for review). The caller commits."""
    hoster = role == "hoster"
    found = search(
        session,
        served,
        items,
        thresholds,
        organisation_id if role == "hotline" else None,
        variant_thresholds,
        share_edge if hoster and before_notices is not None else None,
    )
    created = 0
    if hoster:
        if before_notices is not None:
            before_notices(found)
        created = open_notices(session, organisation_id, found, now)
    return MatchOutcome(found.results, len(items), created, found.index_version)


def audit_detail(outcome: MatchOutcome, refused: int = 0) -> dict[str, Any]:
    """What the audit log keeps of a match call: counts only, never a query hash."""
    return {
        **outcome.counts,
        "refused": refused,
        "notices_created": outcome.notices_created,
        "index": outcome.index_version,
    }
