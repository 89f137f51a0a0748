"""vPDQ in lists, on SQLite and PostgreSQL: Meta's per-video files and embedded frame lines imported, a
video's frames stored once whichever lists hold it, re-imports unchanged, retraction by the same lines,
per-list percentages checked, and the published index answering for the listed videos."""

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from db import make_session_factory
from db.models import Entry, HashList, VideoFrames
from guard.shares import at_share_edge
from indexer.errors import FileFormatError, InvalidList
from indexer.formats import FIELD_LIMIT, read_list
from indexer.lists import create_list, import_list, video_percentages
from indexer.publishing import publish
from indexer.serving import ServedIndexes
from matcher.frames import parse_frames
from matcher.video import VideoIndex
from matching import parse_items, search
from tests.listdata import hotline, load, new_list

SAMPLES = Path(__file__).parent / "fixtures" / "vpdq"


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def video(seed: int, frames: int = 5) -> str:
    codes = np.random.default_rng(seed).integers(0, 256, (frames, 32), dtype=np.uint8)
    return ";".join(f"{i},100,{bytes(code).hex()},{i}.000" for i, code in enumerate(codes))


def test_videos_are_listed_stored_once_retracted_by_their_lines_and_published(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first, second = new_list(sessions, "a"), new_list(sessions, "b")
    text = f"vpdq {video(1)}\nvpdq {video(2)}\n"
    assert load(sessions, first, text).added == 2
    assert load(sessions, second, f"vpdq {video(1)}\n").added == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(VideoFrames)) == 2
        assert session.scalar(select(func.count()).select_from(Entry)) == 3
    with sessions.begin() as session:  # the same file again: nothing new
        result = import_list(
            session,
            session.get_one(HashList, first),
            read_list(text.splitlines(keepends=True), "plain"),
            mode="full",
            source="again",
        )
        assert not result.changed
    csv = f'type,hash,action\nvpdq,"{video(2)}",retract\n'
    assert load(sessions, first, csv, "delta", "csv").removed == 1
    publish(sessions, tmp_path / "indexes")
    served = ServedIndexes.open(tmp_path / "indexes")
    assert served is not None
    index = served.indexes["vpdq"]
    assert isinstance(index, VideoIndex)
    assert index.entry_count == 2  # video 1 in both lists; video 2 retracted
    scores = index.score(index.pairs(parse_frames(video(1)), 31), 31)
    assert scores.query_matched.tolist() == [5, 5]


def test_metas_sample_file_is_one_entry_named_by_the_file(sessions: sessionmaker[Session]) -> None:
    path = SAMPLES / "chair-orig-22-sd-bar.txt"
    found = read_list(path.open("rb"), "vpdq", item=path.stem)
    assert (found.valid_rows, found.bad_lines) == (1, 0)
    assert found.metas[int(found.by_type["vpdq"].meta[0])].item == "chair-orig-22-sd-bar"
    (frames,) = found.frames.values()
    assert len(frames) == 673 * 45


def test_video_percentages_are_whole_percentages(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        hotline(session)
        ok = create_list(session, "EOKM", "ok", video_percent=(100, 50)).id
        usual = create_list(session, "EOKM", "usual").id
        assert video_percentages(session, [ok, usual]) == {ok: (100, 50), usual: (80, 80)}
        for wrong in ((0, 80), (80, 101)):
            with pytest.raises(InvalidList, match="video percentages"):
                create_list(session, "EOKM", f"bad{wrong}", video_percent=wrong)


def test_a_long_video_in_a_quoted_csv_field_is_read_whole() -> None:
    """An hour at one frame a second is about 300 KB in one CSV field, past the csv module's default
    field limit (128 KB): it was a raw csv.Error (a 500, a traceback) instead of a listed video."""
    long = video(7, frames=3600)
    assert len(long) > 131_072
    found = read_list([b"type,hash,item\n", f'vpdq,"{long}",film\n'.encode()], "csv")
    assert found.bad_lines == 0
    assert len(found.by_type["vpdq"].codes) == 1


def test_a_field_past_the_csv_limit_is_a_clear_error_naming_its_line() -> None:
    huge = "0" * (FIELD_LIMIT + 1)
    with pytest.raises(FileFormatError, match=r"^lines 2-2: not readable as CSV \(field larger than"):
        read_list([b"type,hash,item\n", f'vpdq,"{huge}",film\n'.encode()], "csv")


def test_a_searchs_video_margins_are_for_the_guard_and_hold_frames_at_the_share_edge_only(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Margins only when the caller's search asks for them (a hoster's, for the probing guard), and the
    matched frames only of those at a share edge: 24 of 30 frames (at the boundary) and the whole video."""
    listed = new_list(sessions, "a")
    assert load(sessions, listed, f"vpdq {video(1, 30)}\n").added == 1
    publish(sessions, tmp_path / "indexes")
    served = ServedIndexes.open(tmp_path / "indexes")
    lines = video(1, 30).split(";")
    raw = [
        {"type": "vpdq", "hash": lines, "ref": "whole"},
        {"type": "vpdq", "hash": lines[3:27], "ref": "edge"},
    ]
    items, errors = parse_items(raw)
    assert not errors
    with sessions() as session:
        assert search(session, served, items, {}).margins == []
        margins = dict(search(session, served, items, {}, share_edge=at_share_edge).margins)
    assert [margins["whole"].margin, margins["edge"].margin] == [6, 0]
    assert margins["whole"].frames.shape == (0, 32)
    codes = np.random.default_rng(1).integers(0, 256, (30, 32), dtype=np.uint8)
    assert np.array_equal(margins["edge"].frames, codes[3:27])
