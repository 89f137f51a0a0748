"""The notices tests' world: organisations of every role, two hotlines' lists with entries, and notices
made the way the match service makes them (this fixture stands in for it)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from db import make_session_factory
from db.models import Entry, HashList, Notice, NoticeEvent, NoticeMatch, Organisation
from indexer.formats import read_list
from indexer.lists import create_list, import_list
from matching import Hit, RefResult, confidence, open_notice

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    sessions: sessionmaker[Session]
    eokm: Organisation  # hotline owning eokm-main (entries eokm_pdq, eokm_md5)
    iwf: Organisation  # hotline owning iwf-csam (entry iwf_pdq)
    host_a: Organisation
    host_b: Organisation
    atkm: Organisation  # the authority
    operator: Organisation  # admin
    eokm_pdq: Entry
    eokm_md5: Entry
    iwf_pdq: Entry

    def notice(
        self,
        session: Session,
        entries: Sequence[Entry],
        *,
        hoster: Organisation | None = None,
        ref: str | None = None,
        created_at: datetime = T0,
    ) -> Notice:
        """A new open notice at ``hoster`` (default host_a) resting on ``entries`` (at distances 3, 4, ...),
        opened by the match service as a match on them would open it."""
        hoster = hoster or self.host_a
        hits = []
        for distance, entry in enumerate(entries, start=3):
            hash_list = session.get_one(HashList, entry.list_id)
            hits.append(
                Hit(
                    entry.hash_type,
                    entry.id,
                    distance,
                    hash_list.id,
                    hash_list.name,
                    hash_list.organisation_id,
                    entry.item,
                    entry.category,
                )
            )
        result = RefResult(ref or f"s3://bucket/{uuid.uuid4().hex}.jpg", matched=True, hits=hits)
        result.confidence = confidence(hits)
        result.signals = sorted({hit.hash_type for hit in hits})
        notice, _ = open_notice(session, hoster.id, result, created_at)
        session.flush()
        return notice


def history(session: Session, notice: Notice) -> list[tuple[str, str, int | None]]:
    """(action, resulting status, actor id) of each step, oldest first."""
    events = session.scalars(
        select(NoticeEvent).where(NoticeEvent.notice_id == notice.id).order_by(NoticeEvent.id)
    )
    return [(event.action, event.status, event.actor_id) for event in events]


@pytest.fixture
def world(engine: Engine) -> World:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        orgs = {
            name: Organisation(name=name, role=role, created_at=T0)
            for name, role in (
                ("EOKM", "hotline"),
                ("IWF", "hotline"),
                ("hoster-a", "hoster"),
                ("hoster-b", "hoster"),
                ("ATKM", "authority"),
                ("operator", "admin"),
            )
        }
        session.add_all(orgs.values())
        session.flush()
        entries = []
        for owner, name, specs in (
            (
                "EOKM",
                "eokm-main",
                (("pdq", bytes(range(32)), "item-17"), ("md5", bytes(range(16)), "item-18")),
            ),
            ("IWF", "iwf-csam", (("pdq", bytes(range(100, 132)), "iwf-0042"),)),
        ):
            hash_list = create_list(
                session, owner, name, default_category="A", legal_basis="Art. 240b Wetboek van Strafrecht"
            )
            rows = ["type,hash,item", *(f"{kind},{value.hex()},{item}" for kind, value, item in specs)]
            import_list(session, hash_list, read_list(rows, "csv"), mode="full", source=f"{name}.csv")
            for hash_type, value, _ in specs:
                entries.append(
                    session.scalars(
                        select(Entry).where(
                            Entry.list_id == hash_list.id, Entry.hash_type == hash_type, Entry.value == value
                        )
                    ).one()
                )
        session.flush()
    return World(
        sessions,
        orgs["EOKM"],
        orgs["IWF"],
        orgs["hoster-a"],
        orgs["hoster-b"],
        orgs["ATKM"],
        orgs["operator"],
        *entries,
    )


def half_written(session: Session) -> list[str]:
    """The public ids of notices without a match or without their ``created`` event: notices a
    crash or a rollback left behind, which must never exist."""
    matched = select(NoticeMatch.notice_id)
    created = select(NoticeEvent.notice_id).where(NoticeEvent.action == "created")
    return list(
        session.scalars(select(Notice.public_id).where(Notice.id.not_in(matched) | Notice.id.not_in(created)))
    )
