"""Lists and their versions on SQLite and PostgreSQL: create, full replace, delta, retract, bad input."""

import base64
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from db import make_session_factory
from db.models import Entry, HashList, ListVersion
from indexer.errors import EmptyImport, ImportRejected, InvalidList, ListChanged, NotFound, UnknownEntries
from indexer.lists import (
    ImportResult,
    Mode,
    apply_import,
    create_list,
    find_list,
    import_list,
    plan_import,
    retract_entries,
)
from indexer.owned import own_list
from indexer.versions import versions_of
from tests.listdata import (
    active_ids,
    assert_consistent,
    codes,
    csv_rows,
    hotline,
    load,
    new_list,
    parse,
    plain,
)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def test_a_list_belongs_to_a_hotline_and_its_settings_are_checked(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        hotline(session, "IWF")
        hotline(session, "Hoster BV", role="hoster")
        created = create_list(
            session,
            "IWF",
            "csam",
            description="d",
            default_category="A",
            legal_basis="law",
            thresholds={"PDQ": 40},
        )
        assert (created.thresholds, created.notice_deadline_hours) == ({"pdq": 40}, 24)
    cases: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"organisation": "NCMEC"}, NotFound, "no organisation named 'NCMEC'"),
        ({"organisation": "Hoster BV"}, InvalidList, "is a hoster, not a hotline"),
        ({"name": "csam"}, InvalidList, "already has a list named 'csam'"),
        ({"name": "a/b"}, InvalidList, "invalid list name"),
        ({"thresholds": {"pdq": 64}}, InvalidList, "invalid threshold 64 for pdq"),
        ({"thresholds": {"md5": 1}}, InvalidList, "invalid threshold 1 for md5"),
        ({"thresholds": {"tmk": 1}}, InvalidList, "unknown hash type"),
        ({"thresholds": {"vpdq": 64}}, InvalidList, "invalid threshold 64 for vpdq"),
        ({"thresholds": {"photodna": 3061}}, InvalidList, "invalid threshold 3061 for photodna"),
        ({"notice_deadline_hours": 0}, InvalidList, "notice deadline"),
    ]
    for change, error, message in cases:
        arguments: dict[str, object] = {"organisation": "IWF", "name": "other", **change}
        with pytest.raises(error, match=message), sessions.begin() as session:
            create_list(session, **arguments)  # type: ignore[arg-type]
    with sessions() as session:
        assert find_list(session, "IWF/csam").id == created.id
        assert find_list(session, "csam").id == created.id
        assert find_list(session, str(created.id)).id == created.id
        with pytest.raises(NotFound, match="no list 'IWF/other'"):
            find_list(session, "IWF/other")


def test_a_hotline_owns_its_lists_by_id_and_by_name_and_another_sees_neither(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        iwf, eokm = hotline(session, "IWF"), hotline(session, "EOKM")
        created = create_list(session, "IWF", "csam", legal_basis="law")
        ids = (iwf.id, eokm.id, created.id)
    with sessions() as session:
        owner, other, list_id = ids
        assert own_list(session, owner, list_id).id == own_list(session, owner, "csam").id == list_id
        for ref in (list_id, "csam"):
            with pytest.raises(NotFound, match=f"no list {ref!r}"):
                own_list(session, other, ref)
        with pytest.raises(NotFound, match="no list 'missing'"):
            own_list(session, owner, "missing")


def test_a_full_replace_keeps_the_ids_of_entries_it_holds_again(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    list_id = new_list(sessions, default_category="A")
    first = codes(6, 1)
    v1 = load(sessions, list_id, plain("pdq", first) + plain("pdq", first[:1]))  # one line repeated
    assert (v1.number, v1.mode, v1.added, v1.removed, v1.entries) == (1, "full", 6, 0, 6)
    with sessions() as session:
        before = {bytes(e.value): e.id for e in session.scalars(select(Entry))}
        assert {e.category for e in session.scalars(select(Entry))} == {"A"}  # the list's default
    second = np.concatenate([first[2:], codes(3, 2)])
    v2 = load(sessions, list_id, plain("pdq", second) + plain("md5", codes(1, 3, 16)))
    assert (v2.number, v2.added, v2.removed, v2.entries) == (2, 4, 2, 8)
    with sessions() as session:
        after = {
            bytes(e.value): e.id for e in session.scalars(select(Entry).where(Entry.removed_in.is_(None)))
        }
        for row in first[2:]:
            assert after[bytes(row)] == before[bytes(row)]
        removed = session.scalars(select(Entry).where(Entry.removed_in == v2.id)).all()
        assert sorted(bytes(e.value) for e in removed) == sorted(bytes(r) for r in first[:2])
        assert {e.removal for e in removed} == {"replaced"}
        assert len(active_ids(session, list_id, v1.id)) == 6  # version 1 is still what it was
    v3 = load(sessions, list_id, plain("pdq", second) + plain("md5", codes(1, 3, 16)))
    assert v3.id == v2.id  # the same file again: no new version
    assert_consistent(sessions, tmp_path)


def test_changed_metadata_replaces_an_entry(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    list_id = new_list(sessions)
    value = bytes(codes(1, 51)[0]).hex()
    load(sessions, list_id, csv_rows(f"pdq,{value},case-1,A,90,"), file_format="csv")
    v2 = load(sessions, list_id, csv_rows(f"pdq,{value},case-1,B,90,"), file_format="csv")
    assert (v2.added, v2.removed, v2.entries) == (1, 1, 1)
    with sessions() as session:
        entry = session.scalars(select(Entry).where(Entry.removed_in.is_(None))).one()
        assert (entry.item, entry.category, entry.quality) == ("case-1", "B", 90)
    assert_consistent(sessions, tmp_path)


def test_a_delta_adds_and_retracts(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    list_id = new_list(sessions)
    base = codes(4, 5)
    load(sessions, list_id, plain("pdq", base))
    new = codes(2, 6)
    delta = csv_rows(
        *(f"pdq,{bytes(r).hex()},,,," for r in new),
        f"pdq,{bytes(base[0]).hex()},,,,",  # already there: nothing to do
        f"pdq,{bytes(base[1]).hex()},,,,retract",
        f"pdq,{'0' * 64},,,,retract",  # not on the list
    )
    found = parse(delta, "csv", allow_retract=True)
    with sessions.begin() as session:
        hash_list = session.get(HashList, list_id)
        assert hash_list is not None
        result = import_list(session, hash_list, found, mode="delta", source="delta.csv")
        assert result.version is not None
        assert (result.version.added, result.version.removed, result.version.entries) == (2, 1, 5)
        assert (result.unchanged, result.not_found) == (1, 1)
        retracted = session.scalars(select(Entry).where(Entry.removed_in == result.version.id)).one()
        assert (bytes(retracted.value), retracted.removal) == (bytes(base[1]), "retracted")
    assert_consistent(sessions, tmp_path)


def test_bad_lines_reject_the_whole_file_unless_skipped(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    content = plain("pdq", codes(3, 7)) + "pdq nothex\nmd5 12\n"
    with pytest.raises(
        ImportRejected,
        match=r"test: line 4: invalid pdq hash.*\(and 1 more bad line\); nothing was imported",
    ):
        load(sessions, list_id, content)
    with sessions() as session:
        assert session.scalars(select(ListVersion)).all() == []
        assert session.scalars(select(Entry)).all() == []
        assert session.get(HashList, list_id).latest_version == 0  # type: ignore[union-attr]
    version = load(sessions, list_id, content, skip_bad=True)
    assert (version.number, version.added, version.skipped) == (1, 3, 2)
    with pytest.raises(EmptyImport, match="no valid rows"):
        load(sessions, list_id, "# nothing here\n")
    assert_consistent(sessions, tmp_path)


def test_retract_entries_makes_a_version_and_refuses_unknown_ids(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    other = new_list(sessions, name="other")
    load(sessions, list_id, plain("pdq", codes(3, 8)))
    load(sessions, other, plain("pdq", codes(1, 9)))
    with sessions() as session:
        mine = sorted(active_ids(session, list_id))
        theirs = sorted(active_ids(session, other))
    with (
        pytest.raises(UnknownEntries, match=f"not active entries of list EOKM/main: {theirs[0]}, 999"),
        sessions.begin() as session,
    ):
        retract_entries(session, list_id, [mine[0], theirs[0], 999], "x")
    with sessions.begin() as session:
        version = retract_entries(session, list_id, [mine[0], mine[0]], "stock photo, reported by Hoster BV")
        assert (version.number, version.mode, version.removed, version.entries) == (2, "retract", 1, 2)
        assert version.reason == "stock photo, reported by Hoster BV"
    with pytest.raises(UnknownEntries), sessions.begin() as session:
        retract_entries(session, list_id, [mine[0]], "again")
    with pytest.raises(NotFound), sessions.begin() as session:
        retract_entries(session, 12345, [1], "no list")
    with sessions() as session:
        assert [v.number for v in versions_of(session, list_id)] == [1, 2]
        assert active_ids(session, list_id) == set(mine[1:])
    assert_consistent(sessions, tmp_path)


def test_retract_by_file_retracts_every_entry_with_those_hashes(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    value = bytes(codes(1, 10)[0]).hex()
    load(
        sessions,
        list_id,
        csv_rows(f"pdq,{value},case-1,,,", f"pdq,{value},case-2,,,", f"md5,{'1' * 32},,,,"),
        file_format="csv",
    )
    found = parse(f"pdq {value}\n", allow_retract=True)
    with sessions.begin() as session:
        hash_list = session.get(HashList, list_id)
        assert hash_list is not None
        result = import_list(
            session, hash_list, found, mode="retract", source="fp.txt", reason="false positive"
        )
        assert result.version is not None
        assert (result.version.mode, result.version.removed, result.version.entries) == ("retract", 2, 1)
    with sessions.begin() as session:
        hash_list = session.get(HashList, list_id)
        assert hash_list is not None
        with pytest.raises(NotFound, match="its hash is not an active entry"):
            import_list(session, hash_list, found, mode="retract", source="fp.txt")
        session.rollback()
    assert_consistent(sessions, tmp_path)


def test_entries_are_stored_exactly_whatever_their_mix_of_metadata(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Rows sharing their metadata go in by the blob statement, the others one by one."""
    list_id = new_list(sessions)
    values = codes(150, 11)
    metas = (
        [("", "A", "")] * 70 + [("", "B", "60")] * 50 + [(f"case-{n}", "C", str(50 + n)) for n in range(30)]
    )
    rows = [
        f"pdq,{bytes(v).hex()},{item},{category},{quality},"
        for v, (item, category, quality) in zip(values, metas, strict=True)
    ]
    load(sessions, list_id, csv_rows(*rows, f"md5,{'e' * 32},,,,"), file_format="csv")
    with sessions() as session:
        stored = {
            bytes(e.value): (e.hash_type, e.item, e.category, e.quality)
            for e in session.scalars(select(Entry))
        }
    expected = {
        bytes(v): ("pdq", item or None, category, int(quality) if quality else None)
        for v, (item, category, quality) in zip(values, metas, strict=True)
    }
    assert stored == {**expected, bytes.fromhex("e" * 32): ("md5", None, None, None)}
    again = load(sessions, list_id, csv_rows(*rows, f"md5,{'e' * 32},,,,"), file_format="csv")
    assert again.number == 1  # unchanged
    assert_consistent(sessions, tmp_path)


def test_an_import_prepared_before_another_change_writes_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(3, 12)))
    with sessions() as first, sessions() as second:
        first_list, second_list = first.get(HashList, list_id), second.get(HashList, list_id)
        assert first_list is not None
        assert second_list is not None
        slow = plan_import(first, first_list, parse(plain("pdq", codes(2, 13))), "full", "a.txt")
        fast = plan_import(second, second_list, parse(plain("md5", codes(1, 14, 16))), "delta", "b.txt")
        apply_import(second, fast)
        second.commit()
        with pytest.raises(ListChanged, match="got version 2 from another change"):
            apply_import(first, slow)
        first.rollback()
    with sessions() as session:
        assert [v.source for v in versions_of(session, list_id)] == ["test", "b.txt"]
    assert_consistent(sessions, tmp_path)


def _import(
    sessions: sessionmaker[Session],
    list_id: int,
    content: str,
    mode: Mode = "full",
    *,
    skip_bad: bool = False,
    allow_empty: bool = False,
) -> ImportResult:
    found = parse(content, allow_retract=mode != "full")
    with sessions.begin() as session:
        hash_list = session.get_one(HashList, list_id)
        return import_list(
            session, hash_list, found, mode=mode, source="day.txt", skip_bad=skip_bad, allow_empty=allow_empty
        )


def test_an_unchanged_reimport_makes_no_version(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    list_id = new_list(sessions)
    content = plain("pdq", codes(5, 31)) + plain("md5", codes(2, 32, 16))
    first = _import(sessions, list_id, content)
    assert first.changed
    assert first.version is not None
    assert first.version.number == 1
    for mode in ("full", "delta"):
        again = _import(sessions, list_id, content, mode)
        assert not again.changed
        assert again.version is not None
        assert again.version.number == 1
        assert (again.added, again.removed, again.unchanged) == ({"md5": 0, "pdq": 0}, 0, 7)
    assert not _import(sessions, list_id, "# nothing new today\n", "delta").changed
    with sessions() as session:
        assert [v.number for v in versions_of(session, list_id)] == [1]
        assert session.get_one(HashList, list_id).latest_version == 1
    fresh = new_list(sessions, "other")
    nothing = _import(sessions, fresh, "", "delta")  # a list without versions stays without
    assert (nothing.changed, nothing.version) == (False, None)
    assert_consistent(sessions, tmp_path)


def test_an_empty_full_import_needs_allow_empty(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    list_id = new_list(sessions)
    _import(sessions, list_id, plain("pdq", codes(4, 33)))
    for content in ("", "# only a comment\n", "pdq nothex\n"):
        with pytest.raises(EmptyImport) as raised:
            _import(sessions, list_id, content, skip_bad=True)
        assert str(raised.value) == (
            "day.txt: no valid rows: as a full import it would remove all 4 entries of the list; "
            "nothing was imported (--allow-empty empties the list)"
        )
    with sessions() as session:
        assert session.get_one(HashList, list_id).latest_version == 1
    emptied = _import(sessions, list_id, "", allow_empty=True)
    assert emptied.changed
    assert emptied.version is not None
    assert (emptied.version.number, emptied.removed, emptied.version.entries) == (2, 4, 0)
    assert_consistent(sessions, tmp_path)


def test_photodna_rows_need_the_lists_own_threshold(sessions: sessionmaker[Session]) -> None:
    """No PhotoDNA threshold is published: an import with PhotoDNA rows into a list without one is
    refused whole, naming the option; with one, hex and base64 rows are the same entries."""
    vectors = codes(3, 7, nbytes=144)
    bare = new_list(sessions, "bare")
    with pytest.raises(InvalidList, match=r"has photodna rows but no threshold for photodna: no default"):
        load(sessions, bare, plain("photodna", vectors) + plain("pdq", codes(1, 8)))
    with sessions() as session:
        assert session.scalars(select(Entry).where(Entry.list_id == bare)).all() == []
    listed = new_list(sessions, "pdna", thresholds={"photodna": 1800})
    mixed = plain("photodna", vectors[:2]) + f"photodna {base64.b64encode(bytes(vectors[2])).decode()}\n"
    load(sessions, listed, mixed)
    with sessions() as session:
        stored = session.scalars(select(Entry.value).where(Entry.list_id == listed).order_by(Entry.id)).all()
    assert sorted(bytes(value) for value in stored) == sorted(bytes(row) for row in vectors)
