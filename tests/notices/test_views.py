"""What each role sees, and paging that neither skips nor repeats."""

import json
from datetime import timedelta

import pytest

from db.models import Notice, Organisation
from notices.errors import InvalidRequest, NotAllowed, NoticeNotFound
from notices.lifecycle import confirm_removed, escalate, tick
from notices.views import NoticeFilters, get_notice, list_notices, notice_view
from tests.notices.conftest import T0, World

NOW = T0 + timedelta(hours=1)


def secrets_of(world: World) -> list[str]:
    """What must never reach a hoster: entry hashes and items."""
    entries = (world.eokm_pdq, world.eokm_md5, world.iwf_pdq)
    return [entry.value.hex() for entry in entries] + [entry.item or "" for entry in entries]


def test_a_hoster_sees_its_notice_without_entries_or_distances(world: World) -> None:
    with world.sessions.begin() as session:
        notice = world.notice(session, [world.eokm_pdq, world.eokm_md5, world.iwf_pdq], ref="s3://b/k.jpg")
        view = notice_view(session, notice, world.host_a)
        serialized = json.dumps(view)
    assert "matches" not in view
    assert "distance" not in serialized
    for secret in secrets_of(world):
        assert secret not in serialized
    assert view["ref"] == "s3://b/k.jpg"
    assert view["signals"] == ["md5", "pdq"]
    assert view["confidence"] == "high"
    assert view["lists"] == ["eokm-main", "iwf-csam"]
    assert (view["category"], view["legal_basis"]) == ("A", "Art. 240b Wetboek van Strafrecht")
    assert (view["created_at"], view["deadline"]) == (T0.isoformat(), (T0 + timedelta(hours=24)).isoformat())
    assert view["history"] == [
        {"at": T0.isoformat(), "action": "created", "status": "open", "actor": "hoster-a", "reason": ""}
    ]


def test_a_hotline_sees_its_own_entries_in_full_and_others_by_list_name(world: World) -> None:
    with world.sessions.begin() as session:
        notice = world.notice(session, [world.eokm_pdq, world.iwf_pdq])
        eokm, iwf = notice_view(session, notice, world.eokm), notice_view(session, notice, world.iwf)
        authority = notice_view(session, notice, world.atkm)
    assert eokm["lists"] == iwf["lists"] == ["eokm-main", "iwf-csam"]
    assert eokm["matches"] == [
        {
            "list": "eokm-main",
            "entry_id": world.eokm_pdq.id,
            "hash_type": "pdq",
            "value": bytes(range(32)).hex(),
            "item": "item-17",
            "category": "A",  # the list's default category
            "variant": None,
            "distance": 3,
        }
    ]
    assert [match["list"] for match in iwf["matches"]] == ["iwf-csam"]
    assert bytes(range(32)).hex() not in json.dumps(iwf)
    assert [(match["list"], match["distance"]) for match in authority["matches"]] == [
        ("eokm-main", 3),
        ("iwf-csam", 4),
    ]


def test_nobody_sees_what_is_not_theirs(world: World) -> None:
    with world.sessions.begin() as session:
        notice = world.notice(session, [world.eokm_pdq])
        for outsider in (world.host_b, world.iwf):
            with pytest.raises(NotAllowed):
                notice_view(session, notice, outsider)
            with pytest.raises(NoticeNotFound, match=f"no notice {notice.public_id}"):
                get_notice(session, notice.public_id, outsider)
        for insider in (world.host_a, world.eokm, world.atkm, world.operator):
            assert get_notice(session, notice.public_id, insider) is notice
        with pytest.raises(NoticeNotFound):
            get_notice(session, "no-such-notice", world.operator)
        stranger = Organisation(name="who", role="visitor")
        session.add(stranger)
        session.flush()
        with pytest.raises(NotAllowed, match="role 'visitor'"):
            get_notice(session, notice.public_id, stranger)


def ids(notices: list[Notice]) -> list[str]:
    return [notice.public_id for notice in notices]


def page_ids(world: World, viewer: Organisation, filters: NoticeFilters) -> list[str]:
    with world.sessions() as session:
        page = list_notices(session, viewer, filters, now=NOW, limit=500)
    assert page.next_cursor is None
    return [item["id"] for item in page.items]


def test_paging_newest_first_neither_skips_nor_repeats_under_inserts(world: World) -> None:
    with world.sessions.begin() as session:
        first = [world.notice(session, [world.eokm_pdq]) for _ in range(7)]
        world.notice(session, [world.eokm_pdq], hoster=world.host_b)
    seen: list[str] = []
    cursor = None
    added: list[Notice] = []
    while True:
        with world.sessions.begin() as session:
            page = list_notices(session, world.host_a, NoticeFilters(), now=NOW, cursor=cursor, limit=3)
            seen += [item["id"] for item in page.items]
            added.append(world.notice(session, [world.eokm_pdq]))  # arrives while paging
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids(first)[::-1]
    with world.sessions() as session:
        everything = list_notices(session, world.host_a, NoticeFilters(), now=NOW, limit=500)
    assert [item["id"] for item in everything.items] == ids(added)[::-1] + ids(first)[::-1]
    with world.sessions() as session:
        for bad in ("nonsense", "bm90aWNlOng=", ""):
            with pytest.raises(InvalidRequest, match="cursor"):
                list_notices(session, world.host_a, NoticeFilters(), now=NOW, cursor=bad)
        for limit in (0, 501):
            with pytest.raises(InvalidRequest, match="limit"):
                list_notices(session, world.host_a, NoticeFilters(), now=NOW, limit=limit)


def test_filters(world: World) -> None:
    with world.sessions.begin() as session:
        early = world.notice(session, [world.eokm_pdq], created_at=T0 - timedelta(days=2))  # overdue at NOW
        removed = world.notice(session, [world.eokm_md5])
        confirm_removed(session, removed, world.host_a, now=NOW)
        on_iwf = world.notice(session, [world.iwf_pdq], hoster=world.host_b)
        bound = world.notice(session, [world.eokm_pdq], hoster=world.host_b)
        escalate(session, bound, world.atkm, hours=2, reason="order 3", now=NOW)
    everyone = [bound, on_iwf, removed, early]
    cases = {
        NoticeFilters(): everyone,
        NoticeFilters(status=("removed", "open")): everyone,
        NoticeFilters(status=("removed",)): [removed],
        NoticeFilters(hoster_id=world.host_b.id): [bound, on_iwf],
        NoticeFilters(list_id=world.iwf_pdq.list_id): [on_iwf],
        NoticeFilters(created_from=T0 - timedelta(days=1)): [bound, on_iwf, removed],
        NoticeFilters(created_to=T0): [early],
        NoticeFilters(overdue=True): [early],  # open past its deadline, even before a tick marks it
        NoticeFilters(overdue=False): [bound, on_iwf, removed],
        NoticeFilters(binding_order=True): [bound],
        NoticeFilters(binding_order=False, hoster_id=world.host_b.id): [on_iwf],
    }
    for filters, expected in cases.items():
        assert page_ids(world, world.atkm, filters) == ids(expected), filters
    with world.sessions.begin() as session:
        tick(session, NOW)
    assert page_ids(world, world.atkm, NoticeFilters(status=("overdue",))) == ids([early])
    # a viewer's own scope always applies
    assert page_ids(world, world.host_a, NoticeFilters(hoster_id=world.host_b.id)) == []
    assert page_ids(world, world.iwf, NoticeFilters()) == ids([on_iwf])
    assert page_ids(world, world.eokm, NoticeFilters()) == ids([bound, removed, early])
    with world.sessions() as session:
        with pytest.raises(InvalidRequest, match="status: unknown gone"):
            list_notices(session, world.atkm, NoticeFilters(status=("gone",)), now=NOW)
        with pytest.raises(InvalidRequest, match="created_from"):
            list_notices(session, world.atkm, NoticeFilters(created_from=T0.replace(tzinfo=None)), now=NOW)
