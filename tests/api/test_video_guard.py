"""The probing guard around listed videos, through the app on SQLite and PostgreSQL: a hoster whose video
matched a listed one can hold its video at the list's share boundary and walk one frame across the
per-frame PDQ threshold (each answer then reads one bit of a listed frame), or flip the answer by
adding and removing matching frames; both are suspended before they learn their share. Honest copies
of a listed video (re-encodes, resizes, trims, a longer video holding it) sent many times are not."""

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import Engine, func, select

from db import make_session_factory
from db.models import AuditRecord, Entry, Organisation, ProbeWatch, Standing
from guard.videos import FRAMES_ADDED
from tests.api.support import ListedHash, ListSpec, World, open_world
from tests.attacks import Attack, Stopped

FRAMES = 30
NEEDED = 24
"""Listed frames a query must match at the default 80 %: the share boundary."""
Frames = npt.NDArray[np.uint8]


def frame_lines(codes: Frames) -> list[str]:
    return [f"{i},100,{bytes(code).hex()},{i:.3f}" for i, code in enumerate(codes)]


def moved(codes: Frames, bits: Sequence[int] | npt.NDArray[np.int64], rng: np.random.Generator) -> Frames:
    """Each frame with its own number of random bits inverted (``bits[i]`` for frame ``i``)."""
    copy = codes.copy()
    for row, count in zip(copy, bits, strict=True):
        for bit in rng.choice(256, int(count), replace=False):
            row[bit // 8] ^= np.uint8(0x80 >> (bit % 8))
    return copy


@pytest.fixture
def listed() -> Frames:
    return np.random.default_rng(23).integers(0, 256, (FRAMES, 32), dtype=np.uint8)


@pytest.fixture
def video_world(engine: Engine, database_url: str, tmp_path: Path, listed: Frames) -> Iterator[World]:
    spec = ListSpec("EOKM", "eokm-video", [ListedHash("vpdq", ";".join(frame_lines(listed)), "v1")])
    with open_world(engine, database_url, tmp_path, [spec]) as world:
        yield world


class Caller:
    """A hoster sending videos, one item each, until refused."""

    def __init__(self, world: World, who: str = "hoster") -> None:
        self.world, self.who, self.calls = world, who, 0

    def ask(self, videos: Sequence[Frames]) -> list[bool]:
        self.calls += 1
        items = [
            {"type": "vpdq", "hash": frame_lines(video), "ref": f"v{self.calls}-{i}.mp4"}
            for i, video in enumerate(videos)
        ]
        answer = self.world.match(self.who, items)
        if answer.status_code == 403:
            assert "suspended" in answer.json()["detail"]
            raise Stopped
        assert answer.status_code == 200, answer.text
        for result in answer.json()["results"]:  # never a frame, an entry or a distance
            assert set(result) == {"ref", "matched", "confidence", "signals", "notice_id", "reupload_of"}
        return [result["matched"] for result in answer.json()["results"]]


def level_of(world: World, name: str) -> str | None:
    with make_session_factory(world.engine)() as session:
        return session.scalar(
            select(Standing.level)
            .join(Organisation, Organisation.id == Standing.organisation_id)
            .where(Organisation.name == name)
        )


def probing_actions(world: World) -> list[str]:
    with make_session_factory(world.engine)() as session:
        found = (
            select(AuditRecord.action).where(AuditRecord.action.like("probing.%")).order_by(AuditRecord.id)
        )
        return list(session.scalars(found))


@pytest.mark.parametrize("shape", [{}, {"outside": True}, {"batch": 16}])
def test_a_frame_walked_at_the_share_boundary_is_suspended(
    video_world: World, listed: Frames, shape: dict[str, object]
) -> None:
    """The hoster's copy matches; then it keeps 23 of its frames (one short of the boundary) and walks
    a 24th frame, a copy of listed frame 23, bit by bit: each answer says whether that frame is within
    the list's frame threshold of the listed one, the oracle of a PDQ walk."""
    rng = np.random.default_rng(5)
    copy = moved(listed, [3] * FRAMES, rng)
    caller = Caller(video_world)
    assert caller.ask([copy]) == [True]
    kept = copy[: NEEDED - 1]

    def ask(codes: Sequence[bytes]) -> list[bool]:
        walked = [np.frombuffer(code, np.uint8)[None, :] for code in codes]
        return caller.ask([np.concatenate([kept, frame]) for frame in walked])

    attack = Attack(ask, 256, **shape)  # type: ignore[arg-type]
    learned = attack.run(bytes(copy[NEEDED - 1]))
    print(f"frame walk {shape}: {learned} bits in {attack.calls} calls")
    assert learned <= 32, f"{learned} bits of listed frame {NEEDED - 1} learned in {attack.calls} calls"
    assert level_of(video_world, "Example Hosting") == "suspended"
    other = {"type": "md5", "hash": video_world.hashes["img1.md5"], "ref": "x"}
    assert video_world.match("hoster", [other]).status_code == 403
    assert probing_actions(video_world)[-1] == "probing.suspended"
    with make_session_factory(video_world.engine)() as session:
        watches = session.scalars(select(ProbeWatch).where(ProbeWatch.hash_type == "vpdq")).all()
        assert len(watches) <= FRAMES + 1  # bounded by the listed video's frames


def test_adding_and_removing_matching_frames_at_the_share_boundary_is_suspended(
    video_world: World, listed: Frames
) -> None:
    """The share-boundary walk: the same frames with one matching frame fewer, or another one instead,
    flip the answer (which of its frames the listed video needs, which of its frames it holds)."""
    caller = Caller(video_world)
    copy = moved(listed, [3] * FRAMES, np.random.default_rng(6))
    full = copy[:NEEDED]
    rounds = 0
    try:
        for i in range(NEEDED):
            assert caller.ask([full]) == [True]
            fewer = np.delete(full, i, axis=0)
            assert caller.ask([fewer]) == [False]
            assert caller.ask([np.concatenate([fewer, copy[NEEDED + i % (FRAMES - NEEDED)][None]])]) == [True]
            rounds += 1
    except Stopped:
        pass
    print(f"share walk: stopped after {rounds} rounds of 3 answers")
    assert rounds < NEEDED // 2 + 2, f"{rounds} rounds of 3 answers"
    assert level_of(video_world, "Example Hosting") == "suspended"


def test_honest_copies_of_a_listed_video_sent_many_times_are_not_flagged(
    video_world: World, listed: Frames
) -> None:
    """Re-encodes (each frame a few to 35 bits off: some frames at or past the frame threshold), resizes,
    trims of every length and the video inside a longer one, hundreds of files, each sent twice."""
    rng = np.random.default_rng(8)
    files: list[Frames] = []
    for _ in range(40):
        copy = moved(listed, rng.integers(0, 36, FRAMES), rng)  # one re-encode or resize
        files.append(copy)
        start = int(rng.integers(0, 6))
        for length in (8, 15, 20, 27, FRAMES - start):
            files.append(copy[start : start + length])
        intro = rng.integers(0, 256, (int(rng.integers(1, 6)), 32), dtype=np.uint8)
        files.append(np.concatenate([intro, copy]))
    caller = Caller(video_world)
    answers = [
        answer
        for _ in range(2)
        for first in range(0, len(files), 20)
        for answer in caller.ask(files[first : first + 20])
    ]
    assert any(answers)
    assert not all(answers)
    assert level_of(video_world, "Example Hosting") == "watched"
    assert probing_actions(video_world) == []


def test_one_call_starts_watching_a_bounded_number_of_listed_frames(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """A long listed video matched whole: the first call watches FRAMES_ADDED of its frames, the next
    the rest; the hoster's answer is the same either way."""
    long = np.random.default_rng(31).integers(0, 256, (FRAMES_ADDED + 100, 32), dtype=np.uint8)
    spec = ListSpec("EOKM", "eokm-long", [ListedHash("vpdq", ";".join(frame_lines(long)), "long")])
    with open_world(engine, database_url, tmp_path, [spec]) as world:
        caller = Caller(world)
        copy = moved(long, [2] * long.shape[0], np.random.default_rng(32))
        counts = []
        for _ in range(2):
            assert caller.ask([copy]) == [True]
            with make_session_factory(world.engine)() as session:
                frames = select(func.count()).select_from(ProbeWatch).where(ProbeWatch.hash_type == "vpdq")
                counts.append(session.scalar(frames))
        assert counts == [FRAMES_ADDED, long.shape[0]]


def test_a_frame_walk_in_shuffled_order_after_long_videos_pushed_its_watches_out_is_suspended(
    engine: Engine, database_url: str, tmp_path: Path, listed: Frames
) -> None:
    """Matching three long listed videos adds thousands of newer frame watches, more than a call is
    compared with (the newest :data:`guard.watching.WATCHES_LOADED`); then the frame walk of the first
    test, each video's frames in a new order (matching ignores frame order): the watches of the videos
    the call came near are compared all the same, and the share watch tells the walk's videos apart by
    their frames, not by their order."""
    longs = [np.random.default_rng(31 + k).integers(0, 256, (1450, 32), dtype=np.uint8) for k in range(3)]
    spec = ListSpec(
        "EOKM",
        "eokm-video",
        [ListedHash("vpdq", ";".join(frame_lines(listed)), "v1")]
        + [ListedHash("vpdq", ";".join(frame_lines(long)), f"long{k}") for k, long in enumerate(longs)],
    )
    with open_world(engine, database_url, tmp_path, [spec]) as world:
        copy = moved(listed, [3] * FRAMES, np.random.default_rng(5))
        caller = Caller(world)
        assert caller.ask([copy]) == [True]
        for long in longs:
            long_copy = moved(long, [2] * long.shape[0], np.random.default_rng(32))
            for _ in range(6):
                assert caller.ask([long_copy]) == [True]
        kept, order = copy[: NEEDED - 1], np.random.default_rng(9)

        def ask(codes: Sequence[bytes]) -> list[bool]:
            videos = [np.concatenate([kept, np.frombuffer(code, np.uint8)[None, :]]) for code in codes]
            return caller.ask([video[order.permutation(video.shape[0])] for video in videos])

        attack = Attack(ask, 256)
        learned = attack.run(bytes(copy[NEEDED - 1]))
        assert learned <= 32, f"{learned} bits of listed frame {NEEDED - 1} learned in {attack.calls} calls"
        assert level_of(world, "Example Hosting") == "suspended"
        with make_session_factory(world.engine)() as session:
            walked = select(ProbeWatch.probes).join(Entry, Entry.id == ProbeWatch.entry_id)
            walked = walked.where(Entry.item == "v1", ProbeWatch.frame == NEEDED - 1)
            assert session.scalar(walked)  # the walked frame's own watch saw the walk
