"""Every transition against every role, and what each step records."""

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import STATUSES, Entry, HashList, Notice, NoticeEvent, Organisation
from indexer.formats import read_list
from indexer.lists import import_list, retract_entries
from indexer.publishing import publish
from notices.errors import InvalidRequest, InvalidTransition, NotAllowed
from notices.lifecycle import (
    RULES,
    confirm_removed,
    confirm_review,
    dismiss_review,
    dispute,
    escalate,
    resolve_dispute,
    tick,
    withdraw_for_removed_entries,
)
from tests.notices.conftest import T0, World, history

NOW = T0 + timedelta(hours=2)
# Written out rather than read from RULES, so that a change to the rules shows up here.
ALLOWED_ACTORS = {
    "confirm removal": {"hoster-a"},
    "dispute": {"hoster-a"},
    "resolve a dispute": {"EOKM", "operator"},
    "escalate": {"ATKM"},
    "confirm a review": {"EOKM", "operator"},
    "dismiss a review": {"EOKM", "operator"},
}
ALLOWED_FROM = {
    "confirm removal": {"open", "overdue", "disputed"},
    "dispute": {"open", "overdue"},
    "resolve a dispute": {"disputed"},
    "escalate": {"open", "overdue", "disputed"},
    "confirm a review": {"review"},
    "dismiss a review": {"review"},
}


def ask(session: Session, notice: Notice, actor: Organisation, action: str) -> NoticeEvent:
    """``action`` with valid arguments."""
    if action == "confirm removal":
        return confirm_removed(session, notice, actor, now=NOW)
    if action == "dispute":
        return dispute(session, notice, actor, reason="a stock photo of a beach", now=NOW)
    if action == "resolve a dispute":
        return resolve_dispute(session, notice, actor, outcome="upheld", reason="it matches", now=NOW)
    if action == "confirm a review":
        return confirm_review(session, notice, actor, now=NOW)
    if action == "dismiss a review":
        return dismiss_review(session, notice, actor, reason="the other half of a stereo pair", now=NOW)
    return escalate(session, notice, actor, hours=4, reason="ATKM order 2026-17", now=NOW)


def put(notice: Notice, status: str) -> None:
    notice.status = status
    if status in ("removed", "withdrawn", "dismissed"):
        notice.closed_at = T0 + timedelta(hours=1)
        notice.active_ref = None


def organisations(world: World) -> list[Organisation]:
    return [world.eokm, world.iwf, world.host_a, world.host_b, world.atkm, world.operator]


def test_the_rules_are_the_documented_table() -> None:
    assert {action: set(rule.roles) for action, rule in RULES.items()} == {
        "confirm removal": {"hoster"},
        "dispute": {"hoster"},
        "resolve a dispute": {"hotline", "admin"},
        "escalate": {"authority"},
        "confirm a review": {"hotline", "admin"},
        "dismiss a review": {"hotline", "admin"},
    }
    assert {action: set(rule.from_statuses) for action, rule in RULES.items()} == ALLOWED_FROM


@pytest.mark.parametrize("action", sorted(ALLOWED_ACTORS))
def test_only_the_right_role_and_relation_may_act(world: World, action: str) -> None:
    """Refused: other roles, the other hoster, a hotline whose lists the notice does not rest on."""
    with world.sessions.begin() as session:
        for actor in organisations(world):
            notice = world.notice(session, [world.eokm_pdq, world.eokm_md5])
            put(notice, min(ALLOWED_FROM[action]))
            session.flush()
            status = notice.status
            if actor.name in ALLOWED_ACTORS[action]:
                event = ask(session, notice, actor, action)
                assert event.actor_id == actor.id
                assert history(session, notice)[-1] == (event.action, notice.status, actor.id)
            else:
                with pytest.raises(NotAllowed, match=action) as refused:
                    ask(session, notice, actor, action)
                assert refused.value.detail()["error"] == "not_allowed"
                assert notice.status == status
                assert [step[0] for step in history(session, notice)] == ["created"]


@pytest.mark.parametrize("action", sorted(ALLOWED_ACTORS))
def test_each_action_only_from_its_statuses(world: World, action: str) -> None:
    by_name = {org.name: org for org in organisations(world)}
    actor = by_name[min(ALLOWED_ACTORS[action])]
    with world.sessions.begin() as session:
        for status in STATUSES:
            notice = world.notice(session, [world.eokm_pdq])
            put(notice, status)
            session.flush()
            if status in ALLOWED_FROM[action]:
                ask(session, notice, actor, action)
                continue
            with pytest.raises(InvalidTransition) as refused:
                ask(session, notice, actor, action)
            assert refused.value.status == status
            assert refused.value.asked == action
            assert set(refused.value.allowed_from) == ALLOWED_FROM[action]
            assert f"a notice that is {status}" in str(refused.value)
            assert refused.value.detail() == {
                "error": "invalid_transition",
                "message": str(refused.value),
                "status": status,
                "asked": action,
                "allowed_from": list(RULES[action].from_statuses),
            }
            assert notice.status == status
            assert len(history(session, notice)) == 1


def test_confirm_removed_closes_with_the_reported_time(world: World) -> None:
    with world.sessions.begin() as session:
        notice = world.notice(session, [world.eokm_pdq], ref="https://cdn.example/a.jpg")
        for removed_at, field_problem in (
            (NOW + timedelta(seconds=1), "in the future"),
            (T0 - timedelta(seconds=1), "before the notice"),
            (NOW.replace(tzinfo=None), "time zone"),
        ):
            with pytest.raises(InvalidRequest, match=field_problem) as refused:
                confirm_removed(session, notice, world.host_a, now=NOW, removed_at=removed_at)
            assert refused.value.field == "removed_at"
        assert notice.status == "open"
        confirm_removed(
            session, notice, world.host_a, now=NOW, removed_at=T0 + timedelta(minutes=40), note="gone"
        )
        assert (notice.status, notice.closed_at, notice.active_ref) == (
            "removed",
            T0 + timedelta(minutes=40),
            None,
        )
        event = session.scalars(select(NoticeEvent).order_by(NoticeEvent.id.desc())).first()
        assert event is not None
        assert (event.at, event.action, event.status, event.reason) == (NOW, "removed", "removed", "gone")
        # the location is free again: a re-upload gets a new notice
        world.notice(session, [world.eokm_pdq], ref="https://cdn.example/a.jpg")


def test_one_active_notice_per_location_is_a_database_rule(world: World) -> None:
    with world.sessions.begin() as session:
        first = world.notice(session, [world.eokm_pdq], ref="path/x.png")
        copy = {column: getattr(first, column) for column in ("hoster_id", "ref", "active_ref", "deadline")}
    with world.sessions.begin() as session:  # the match service returns the active notice
        assert world.notice(session, [world.eokm_pdq], ref="path/x.png").id == first.id
    with (
        pytest.raises(IntegrityError),
        world.sessions.begin() as session,
    ):  # and the database refuses a second
        session.add(Notice(public_id="ntc_second", confidence="medium", **copy))


def test_dispute_needs_a_reason_and_happens_once(world: World) -> None:
    with world.sessions.begin() as session:
        notice = world.notice(session, [world.eokm_pdq])
        with pytest.raises(InvalidRequest, match="reason: required") as refused:
            dispute(session, notice, world.host_a, reason="  ", now=NOW)
        assert refused.value.detail() == {
            "error": "invalid_request",
            "message": "reason: required: say why it is a false positive",
            "field": "reason",
        }
        dispute(session, notice, world.host_a, reason=" a holiday photo ", now=NOW)
        assert session.scalars(select(NoticeEvent.reason).order_by(NoticeEvent.id.desc())).first() == (
            "a holiday photo"
        )
        resolve_dispute(session, notice, world.eokm, outcome="upheld", reason="it matches", now=NOW)
        with pytest.raises(InvalidTransition, match="a dispute was already upheld"):
            dispute(session, notice, world.host_a, reason="still a holiday photo", now=NOW)
        bound = world.notice(session, [world.eokm_pdq])
        escalate(session, bound, world.atkm, hours=6, reason="ATKM order 1", now=NOW)
        with pytest.raises(InvalidTransition, match="it is a binding order"):
            dispute(session, bound, world.host_a, reason="a holiday photo", now=NOW)


def test_upheld_returns_to_open_or_overdue_by_the_unchanged_deadline(world: World) -> None:
    with world.sessions.begin() as session:
        early, late = world.notice(session, [world.eokm_pdq]), world.notice(session, [world.eokm_pdq])
        for notice in (early, late):
            dispute(session, notice, world.host_a, reason="false positive", now=NOW)
        with pytest.raises(InvalidRequest, match="outcome"):
            resolve_dispute(session, early, world.eokm, outcome="maybe", reason="x", now=NOW)  # type: ignore[arg-type]
        resolve_dispute(session, early, world.eokm, outcome="upheld", reason="it matches", now=NOW)
        after_deadline = T0 + timedelta(hours=30)
        resolve_dispute(session, late, world.operator, outcome="upheld", reason="matches", now=after_deadline)
        assert (early.status, early.deadline) == ("open", T0 + timedelta(hours=24))
        assert (late.status, late.deadline) == ("overdue", T0 + timedelta(hours=24))
        assert history(session, late)[-1] == ("upheld", "overdue", world.operator.id)


def test_withdrawn_with_retraction_retracts_only_the_hotlines_own_entries(
    world: World, tmp_path: Path
) -> None:
    def withdraw(session: Session, entry_ids: Sequence[int]) -> None:
        withdraw_for_removed_entries(session, entry_ids, NOW)

    publish(world.sessions, tmp_path)  # the lists are served: notices rest on served entries
    calls: list[tuple[int, list[int], str]] = []

    def retract(session: Session, list_id: int, entry_ids: Sequence[int], reason: str) -> None:
        calls.append((list_id, list(entry_ids), reason))
        retract_entries(session, list_id, entry_ids, reason)

    with world.sessions.begin() as session:
        disputed = world.notice(session, [world.eokm_pdq, world.eokm_md5, world.iwf_pdq])
        only_on_pdq = world.notice(session, [world.eokm_pdq], hoster=world.host_b)
        also_iwf = world.notice(session, [world.eokm_pdq, world.iwf_pdq], hoster=world.host_b)
        dispute(session, disputed, world.host_a, reason="our own logo", now=NOW)
        with pytest.raises(InvalidRequest, match="retract"):
            resolve_dispute(
                session, disputed, world.eokm, outcome="upheld", reason="x", now=NOW, retract=retract
            )
        with pytest.raises(NotAllowed, match="only the hotline that owns a list"):
            resolve_dispute(
                session, disputed, world.operator, outcome="withdrawn", reason="x", now=NOW, retract=retract
            )
        assert calls == []
        resolve_dispute(
            session,
            disputed,
            world.eokm,
            outcome="withdrawn",
            reason="a logo, not CSAM",
            now=NOW,
            retract=retract,
        )
        assert calls == [
            (world.eokm_pdq.list_id, sorted([world.eokm_pdq.id, world.eokm_md5.id]), "a logo, not CSAM")
        ]
        assert (disputed.status, disputed.closed_at, disputed.active_ref) == ("withdrawn", NOW, None)
        assert history(session, disputed)[-1] == ("withdrawn", "withdrawn", world.eokm.id)
        assert only_on_pdq.status == "open"  # the retraction takes effect when it is published
    publish(world.sessions, tmp_path, on_entries_removed=withdraw)
    with world.sessions() as session:
        after_publish = session.get_one(Notice, only_on_pdq.id)
        assert history(session, after_publish)[-1] == ("withdrawn", "withdrawn", None)
        assert session.get_one(Notice, also_iwf.id).status == "open"  # the IWF entry is still listed


def test_withdraw_for_removed_entries_needs_every_match_gone(world: World) -> None:
    with world.sessions.begin() as session:
        retract_entries(session, world.eokm_md5.list_id, [world.eokm_md5.id], "retracted earlier")
        alone = world.notice(session, [world.eokm_pdq])
        with_removed = world.notice(session, [world.eokm_pdq, world.eokm_md5])
        with_listed = world.notice(session, [world.eokm_pdq, world.iwf_pdq])
        closed = world.notice(session, [world.eokm_pdq])
        confirm_removed(session, closed, world.host_a, now=NOW)
        unrelated = world.notice(session, [world.iwf_pdq])
        with_replaced = world.notice(session, [world.eokm_pdq, world.iwf_pdq])
        # a full replace listing the same hash under another category replaces the entry: still listed
        iwf = session.get_one(HashList, world.iwf_pdq.list_id)
        again = read_list(["type,hash,item,category", f"pdq,{world.iwf_pdq.value.hex()},iwf-0042,B"], "csv")
        import_list(session, iwf, again, mode="full", source="iwf-2.csv")
        assert session.get_one(Entry, world.iwf_pdq.id).removal == "replaced"
        withdrawn = withdraw_for_removed_entries(session, [world.eokm_pdq.id], NOW)
        assert {notice.id for notice in withdrawn} == {alone.id, with_removed.id}
        assert [
            notice.status for notice in (alone, with_removed, with_listed, closed, unrelated, with_replaced)
        ] == ["withdrawn", "withdrawn", "open", "removed", "open", "open"]
        assert alone.active_ref is None
        assert history(session, alone)[-1] == ("withdrawn", "withdrawn", None)
        assert withdraw_for_removed_entries(session, [world.eokm_pdq.id], NOW) == []


def test_escalation_sets_a_binding_deadline_of_at_most_12_hours(world: World) -> None:
    with world.sessions.begin() as session:
        notice = world.notice(session, [world.eokm_pdq])
        dispute(session, notice, world.host_a, reason="not ours", now=NOW)
        for hours in (0, 13):
            with pytest.raises(InvalidRequest, match="1 to 12 hours") as refused:
                escalate(session, notice, world.atkm, hours=hours, reason="order 5", now=NOW)
            assert refused.value.field == "hours"
        with pytest.raises(InvalidRequest, match="reference"):
            escalate(session, notice, world.atkm, hours=1, reason="", now=NOW)
        assert (notice.status, notice.binding_order) == ("disputed", False)
        escalate(session, notice, world.atkm, hours=1, reason="ATKM order 2026-5", now=NOW)
        assert (notice.status, notice.binding_order, notice.escalated_at, notice.deadline) == (
            "open",
            True,
            NOW,
            NOW + timedelta(hours=1),
        )
        assert history(session, notice) == [
            ("created", "open", world.host_a.id),
            ("disputed", "disputed", world.host_a.id),
            ("escalated", "open", world.atkm.id),
        ]


def test_a_step_decides_on_the_committed_status_not_a_stale_copy(world: World) -> None:
    with world.sessions.begin() as session:
        public_id = world.notice(session, [world.eokm_pdq]).public_id
    with world.sessions() as stale, world.sessions.begin() as fresh:
        old_copy = stale.scalars(select(Notice).where(Notice.public_id == public_id)).one()
        confirm_removed(fresh, fresh.merge(old_copy), world.host_a, now=NOW)
    with world.sessions() as stale:
        stale.add(old_copy)
        assert old_copy.status == "open"  # what this session last read
        with pytest.raises(InvalidTransition, match="a notice that is removed"):
            dispute(stale, old_copy, world.host_a, reason="false positive", now=NOW)


def test_a_notice_in_review_has_no_running_deadline_and_is_dismissed_when_its_entries_go(
    world: World,
) -> None:
    with world.sessions.begin() as session:
        held = world.notice(session, [world.eokm_pdq])
        put(held, "review")
        session.flush()
        assert tick(session, T0 + timedelta(days=30)).overdue == 0
        assert held.status == "review"
        assert [step[0] for step in history(session, held)] == ["created"]
        assert withdraw_for_removed_entries(session, [world.eokm_pdq.id], NOW) == [held]
        assert (held.status, held.active_ref) == ("dismissed", None)
        assert history(session, held)[-1] == ("dismissed", "dismissed", None)
