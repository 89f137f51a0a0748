"""Publishing on SQLite and PostgreSQL: per-type indexes over every list, retractions, the notice hook,
content versions, and finishing a publication interrupted after its commit."""

import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from db import make_session_factory
from db.models import Entry, ListVersion, Publication
from indexer import serving
from indexer.checksums import MANIFEST
from indexer.lists import retract_entries
from indexer.publishing import publish, served_list_versions, unserved_publication
from indexer.serving import ServedIndexes, check_version
from indexer.watcher import IndexWatcher
from tests.listdata import active_ids, assert_consistent, codes, load, new_list, plain


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def served(index_dir: Path) -> ServedIndexes:
    found = ServedIndexes.open(index_dir)
    assert found is not None
    return found


def test_one_index_per_type_over_all_lists_with_shared_values_mapped_to_each_entry(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    shared, eokm_only, md5 = codes(1, 1), codes(3, 2), codes(2, 3, 16)
    eokm = new_list(sessions, "main", "EOKM", thresholds={"pdq": 31})
    iwf = new_list(sessions, "csam", "IWF", thresholds={"pdq": 52})
    load(sessions, eokm, plain("pdq", shared) + plain("pdq", eokm_only) + plain("md5", md5))
    load(sessions, iwf, plain("pdq", shared))
    result = publish(sessions, tmp_path)
    assert result.changed
    assert result.entries == {"md5": 2, "pdq": 5}
    assert result.search_thresholds == {"md5": 0, "pdq": 52}
    index = served(tmp_path)
    assert index.manifest["search_thresholds"] == {"md5": 0, "pdq": 52}
    assert index.manifest["lists"][str(eokm)]["thresholds"] == {"md5": 0, "pdq": 31}
    assert index.manifest["types"]["pdq"] == {"entries": 5, "unique": 4}
    assert "published_at" in index.manifest
    found = index.search("pdq", shared, 0)
    with sessions() as session:
        lists = {session.get(Entry, int(entry)).list_id for entry in found.entry}  # type: ignore[union-attr]
    assert lists == {eokm, iwf}
    assert len(index.search("md5", md5, 0)) == 2
    assert_consistent(sessions, tmp_path)


def test_retracted_entries_stop_matching_from_the_next_publish_and_the_hook_hears_of_them(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    values = codes(4, 4)
    load(sessions, list_id, plain("pdq", values))
    publish(sessions, tmp_path)
    with sessions() as session:
        by_value = {bytes(e.value): e.id for e in session.scalars(select(Entry))}
    with sessions.begin() as session:
        retract_entries(session, list_id, [by_value[bytes(values[0])]], "false positive")
    assert served(tmp_path).search("pdq", values[:1], 0).entry.tolist() == [by_value[bytes(values[0])]]
    load(sessions, list_id, plain("pdq", values[1:3]))  # full replace: values[3] replaced

    heard: list[list[int]] = []

    def hook(session: Session, entry_ids: Sequence[int]) -> None:
        heard.append(list(entry_ids))
        assert session.in_transaction()
        assert session.scalar(select(Publication).order_by(Publication.id.desc()).limit(1)) is not None

    result = publish(sessions, tmp_path, on_entries_removed=hook)
    assert heard == [sorted([by_value[bytes(values[0])], by_value[bytes(values[3])]])]
    assert result.removed == 2
    assert len(served(tmp_path).search("pdq", values[[0, 3]], 0)) == 0
    assert len(served(tmp_path).search("pdq", values[1:3], 0)) == 2
    assert publish(sessions, tmp_path, on_entries_removed=hook).changed is False
    assert len(heard) == 1
    assert_consistent(sessions, tmp_path)


def test_a_failing_hook_rolls_the_publication_back_and_keeps_the_old_version_served(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(3, 5)))
    first = publish(sessions, tmp_path).version
    load(sessions, list_id, plain("pdq", codes(2, 6)))

    def broken(session: Session, entry_ids: Sequence[int]) -> None:
        raise RuntimeError("notices unavailable")

    with pytest.raises(RuntimeError, match="notices unavailable"):
        publish(sessions, tmp_path, on_entries_removed=broken)
    assert serving.served_version(tmp_path) == first
    with sessions() as session:
        assert session.scalars(select(Publication)).all()[-1].version == first
        assert unserved_publication(session, tmp_path) is None
    assert publish(sessions, tmp_path).changed
    assert_consistent(sessions, tmp_path)


def test_publishing_some_lists_keeps_the_others_as_served(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    eokm, iwf = new_list(sessions, "main", "EOKM"), new_list(sessions, "csam", "IWF")
    load(sessions, eokm, plain("pdq", codes(2, 7)))
    load(sessions, iwf, plain("pdq", codes(2, 8)))
    publish(sessions, tmp_path, lists=[eokm])
    with sessions() as session:
        assert set(served_list_versions(session)) == {eokm}
    v2 = load(sessions, eokm, plain("pdq", codes(3, 9)))
    publish(sessions, tmp_path, lists=[iwf])
    with sessions() as session:
        mapping = served_list_versions(session)
        first_eokm = session.scalar(
            select(ListVersion.id).where(ListVersion.list_id == eokm, ListVersion.number == 1)
        )
        assert mapping == {eokm: first_eokm, iwf: mapping[iwf]}
        assert session.get(ListVersion, v2.id).published_at is None  # type: ignore[union-attr]
    publish(sessions, tmp_path)
    with sessions() as session:
        assert served_list_versions(session)[eokm] == v2.id
        assert session.get(ListVersion, v2.id).published_at is not None  # type: ignore[union-attr]
    assert_consistent(sessions, tmp_path)


def test_the_version_name_is_a_digest_of_the_content(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(2, 10)))
    first = publish(sessions, tmp_path / "a").version
    assert publish(sessions, tmp_path / "b").version == first  # same content, same name
    load(sessions, list_id, plain("pdq", codes(2, 10)) + plain("md5", codes(1, 11, 16)))
    load(sessions, list_id, plain("pdq", codes(2, 10)))  # the same entries again, as version 3
    assert publish(sessions, tmp_path / "a").version != first


def test_nothing_to_publish_before_any_import(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    new_list(sessions)
    result = publish(sessions, tmp_path)
    assert result.changed
    assert result.entries == {}
    assert served(tmp_path).indexes == {}


def test_a_publication_committed_but_not_served_is_finished_by_the_next_publish(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(2, 11)))
    first = publish(sessions, tmp_path).version
    load(sessions, list_id, plain("pdq", codes(2, 12)))
    second = publish(sessions, tmp_path).version
    assert first is not None
    assert second is not None
    # the state a crash between the commit and the pointer move leaves: the pointer still at the first
    serving.serve(tmp_path, first)
    with sessions() as session:
        assert unserved_publication(session, tmp_path).version == second  # type: ignore[union-attr]
    result = publish(sessions, tmp_path)
    assert (result.finished_interrupted, result.changed, result.version) == (True, False, second)
    assert_consistent(sessions, tmp_path)
    # and again with the version's files gone: they are built again from the recorded list versions
    serving.serve(tmp_path, first)
    shutil.rmtree(tmp_path / second)
    result = publish(sessions, tmp_path)
    assert (result.finished_interrupted, result.version) == (True, second)
    with sessions() as session:
        assert len(served(tmp_path).search("pdq", codes(2, 12), 0)) == len(active_ids(session, list_id))
    assert_consistent(sessions, tmp_path)
    # and with its files damaged: they fail verification and are built again
    serving.serve(tmp_path, first)
    os.truncate(tmp_path / second / "pdq" / "entry_ids.npy", 20)
    result = publish(sessions, tmp_path)
    assert (result.finished_interrupted, result.version) == (True, second)
    assert check_version(tmp_path, second) == []
    assert len(served(tmp_path).search("pdq", codes(2, 12), 0)) == 2


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _strip_checksums(directory: Path) -> None:
    manifest = json.loads((directory / MANIFEST).read_text())
    del manifest["files"]
    (directory / MANIFEST).write_text(json.dumps(manifest))


DAMAGE: dict[str, Callable[[Path], object]] = {
    "a flipped byte": lambda d: _flip_byte(d / "pdq" / "codes.faiss"),
    "a truncated file": lambda d: os.truncate(d / "pdq" / "entry_ids.npy", 20),
    "a deleted file": lambda d: (d / "md5" / "keys.npy").unlink(),
    "a deleted CURRENT": lambda d: (d.parent / serving.POINTER).unlink(),
    "a deleted version": shutil.rmtree,
    "a manifest without checksums": _strip_checksums,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_publish_rebuilds_a_damaged_served_version_under_its_name_and_every_hash_matches_again(
    sessions: sessionmaker[Session], tmp_path: Path, damage: str
) -> None:
    list_id = new_list(sessions)
    pdq, md5 = codes(300, 21), codes(60, 22, 16)
    load(sessions, list_id, plain("pdq", pdq) + plain("md5", md5))
    version = publish(sessions, tmp_path).version
    watcher = IndexWatcher(tmp_path)
    assert watcher.check()
    DAMAGE[damage](tmp_path / version)
    watcher.check()
    assert watcher.state.status != "ok"
    result = publish(sessions, tmp_path)
    assert result.version == version
    assert check_version(tmp_path, version) == []
    assert serving.served_version(tmp_path) == version
    watcher.check()  # a server picks up the rebuilt directory although its name did not change
    assert watcher.state.status == "ok"
    for index in (watcher.current, served(tmp_path)):
        assert index is not None
        assert len(index.search("pdq", pdq, 0)) == 300
        assert len(index.search("md5", md5, 0)) == 60
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [version]  # nothing broken left over
    assert_consistent(sessions, tmp_path)


def test_a_photodna_list_is_published_with_checksums_and_a_damaged_file_is_rebuilt(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """The PhotoDNA index's own files (its codes by column, its dimension order) are in the manifest:
    a flipped byte is refused before it is served, and publish builds the version again."""
    vectors = codes(400, 31, nbytes=144)
    list_id = new_list(sessions, thresholds={"photodna": 40})
    load(sessions, list_id, plain("photodna", vectors))
    version = publish(sessions, tmp_path).version
    manifest = json.loads((tmp_path / version / MANIFEST).read_text())
    assert {"photodna/columns.npy", "photodna/dims.npy", "photodna/entry_ids.npy"} <= set(manifest["files"])
    assert manifest["search_thresholds"] == {"photodna": 40}
    near = vectors[:5].copy()
    near[:, 0] = np.where(near[:, 0] < 128, near[:, 0] + 40, near[:, 0] - 40)  # exactly 40 away
    assert sorted(served(tmp_path).search("photodna", near, 40).query.tolist()) == [0, 1, 2, 3, 4]
    _flip_byte(tmp_path / version / "photodna" / "columns.npy")
    assert check_version(tmp_path, version) == [
        f"{version}/photodna/columns.npy: its SHA-256 differs from the manifest's"
    ]
    assert publish(sessions, tmp_path).version == version
    assert check_version(tmp_path, version) == []
    assert len(served(tmp_path).search("photodna", vectors, 0)) == 400
