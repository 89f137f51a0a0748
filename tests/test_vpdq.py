"""vPDQ in the matcher: Meta's text form (checked on the sample hashes of Meta's ``vpdq`` source
distribution), the frames matching uses, and the video index property-tested against a brute force
written apart from the matcher."""

import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcher
from matcher import load_index
from matcher.frames import FRAME, Frames, decode_frames, encode_frames, format_frames, parse_frames, usable
from matcher.video import VideoIndex

SAMPLES = Path(__file__).parent / "fixtures" / "vpdq"
VPDQ = matcher.VPDQ()
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def video(codes: npt.NDArray[np.uint8], quality: list[int] | None = None) -> Frames:
    frames = np.zeros(codes.shape[0], FRAME)
    frames["frame"] = np.arange(codes.shape[0])
    frames["quality"] = quality if quality is not None else 100
    frames["pdq"] = codes
    frames["millis"] = np.arange(codes.shape[0]) * 1000
    return frames


def brute_video_scores(
    query: list[tuple[bytes, int]], listed: list[tuple[bytes, int]], threshold: int
) -> tuple[int, int, int, int]:
    """(query frames matched, query frames, listed frames matched, listed frames) by Meta's rule, in
    plain Python: distinct hashes (first occurrence), quality 50 or more, distance at most the threshold."""

    def kept(frames: list[tuple[bytes, int]]) -> list[int]:
        seen: dict[bytes, int] = {}
        for code, quality in frames:
            seen.setdefault(code, quality)
        return [int.from_bytes(code) for code, quality in seen.items() if quality >= 50]

    mine, theirs = kept(query), kept(listed)
    close = [[(a ^ b).bit_count() <= threshold for b in theirs] for a in mine]
    query_matched = sum(any(row) for row in close)
    listed_matched = sum(any(close[i][j] for i in range(len(mine))) for j in range(len(theirs)))
    return query_matched, len(mine), listed_matched, len(theirs)


def test_meta_sample_files_parse_and_round_trip() -> None:
    for path in sorted(SAMPLES.glob("*.txt")):
        text = path.read_text()
        frames = parse_frames(text)
        assert frames.size == len(text.splitlines())
        assert format_frames(frames, "\n") == text.strip()
        assert np.array_equal(decode_frames(encode_frames(frames)), frames)


def test_transformed_copies_of_one_sample_video_match_and_another_does_not() -> None:
    chair = parse_frames((SAMPLES / "chair-orig-22-sd-bar.txt").read_text())
    logo = parse_frames((SAMPLES / "chair-22-with-small-logo-bar.txt").read_text())
    pattern = parse_frames((SAMPLES / "pattern-hd-no-bar.txt").read_text())
    index = VideoIndex.build("vpdq", 63, [chair, pattern], [7, 8], 31)
    scores = index.score(index.pairs(logo, 31), 31)
    assert scores.entry.tolist() == [7]
    assert 100 * scores.query_matched[0] >= 80 * usable(logo).shape[0]
    assert 100 * scores.listed_matched[0] >= 80 * scores.listed_frames[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "no frame"),
        ("0,100,abc,0.0", "frame line 1"),
        ("0,100," + "ab" * 32 + ",0.0;1,101," + "ab" * 32 + ",1.0", "frame line 2 .*quality"),
        ("x,100," + "ab" * 32 + ",0.0", "frame number"),
        ("0,100," + "zz" * 32 + ",0.0", "64 hexadecimal digits"),
        ("0,100," + "ab" * 32 + ",nan", "timestamp"),
        ("0,100," + "ab" * 32, "4 fields"),
        (42, "as text or a list"),
    ],
)
def test_bad_values_name_the_frame_and_field(value: object, expected: str) -> None:
    _, errors = VPDQ.parse_batch([value])
    assert len(errors) == 1
    assert errors[0][0] == 0
    assert re.search(expected, errors[0][1]), errors[0][1]


def test_identical_frames_count_once_and_low_quality_frames_not_at_all() -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (4, 32), dtype=np.uint8)
    frames = video(codes[[0, 0, 1, 2, 3, 1]], [100, 100, 90, 49, 50, 10])
    assert usable(frames).tolist() == codes[[0, 1, 3]].tolist()
    assert VPDQ.trivial_video(video(codes, [10, 20, 30, 49])) is not None
    assert VPDQ.trivial_video(frames) is None


def test_the_digest_identifies_the_frames() -> None:
    text = "0,100," + "ab" * 32 + ",0.000;1,100," + "cd" * 32 + ",1.000"
    same = text.replace(";", "\n") + "\n"
    other = text.replace("1.000", "1.001")
    codes, errors = VPDQ.parse_batch([text, same, other, text.split(";")])
    assert not errors
    assert bytes(codes[0]) == bytes(codes[1]) == bytes(codes[3]) != bytes(codes[2])


@st.composite
def videos(draw: st.DrawFn) -> tuple[list[Frames], Frames, int]:
    """Listed videos and a query made of a few base frames flipped by 0-40 bits (so distances
    straddle every threshold), with repeats and low-quality frames."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bases = rng.integers(0, 256, (draw(st.integers(1, 6)), 32), dtype=np.uint8)

    def make(count: int) -> Frames:
        codes = bases[rng.integers(0, len(bases), count)].copy()
        for row in range(count):
            bits = rng.choice(256, int(rng.integers(0, 41)), replace=False)
            codes[row, bits // 8] ^= (1 << (bits % 8)).astype(np.uint8)
        if count > 1:
            codes[-1] = codes[0]  # a repeated frame
        return video(codes, rng.choice([100, 100, 100, 60, 30], count).tolist())

    listed = [make(int(rng.integers(1, 12))) for _ in range(draw(st.integers(1, 12)))]
    return listed, make(int(rng.integers(1, 12))), draw(st.integers(0, 63))


def as_pairs(frames: Frames) -> list[tuple[bytes, int]]:
    return [(bytes(frame["pdq"]), int(frame["quality"])) for frame in frames]


@SETTINGS
@given(videos())
def test_video_scores_equal_brute_force(case: tuple[list[Frames], Frames, int]) -> None:
    listed, query, threshold = case
    ids = np.arange(100, 100 + len(listed))
    index = VideoIndex.build("vpdq", 63, listed, ids, 31)
    radius = min(63, threshold + 5)
    found = index.score(index.pairs(query, radius), threshold)
    got = {
        int(entry): (int(q), int(lm), int(lf))
        for entry, q, lm, lf in zip(
            found.entry, found.query_matched, found.listed_matched, found.listed_frames, strict=True
        )
    }
    expected = {}
    for entry, frames in zip(ids.tolist(), listed, strict=True):
        query_matched, _, listed_matched, listed_frames = brute_video_scores(
            as_pairs(query), as_pairs(frames), threshold
        )
        if query_matched:
            expected[entry] = (query_matched, listed_matched, listed_frames)
    assert got == expected


def test_a_saved_video_index_answers_the_same(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    listed = [video(rng.integers(0, 256, (5, 32), dtype=np.uint8)) for _ in range(20)]
    index = VideoIndex.build("vpdq", 63, listed, np.arange(20) * 3, 31)
    index.save(tmp_path / "vpdq")
    loaded = load_index(tmp_path / "vpdq")
    assert isinstance(loaded, VideoIndex)
    assert (loaded.entry_count, loaded.unique_count) == (20, 100)
    found = loaded.score(loaded.pairs(listed[4][:3], 0), 0)
    assert found.entry.tolist() == [12]
    assert (found.query_matched.tolist(), found.listed_matched.tolist()) == ([3], [3])


def test_a_one_video_list_matches_and_an_empty_one_answers_nothing() -> None:
    rng = np.random.default_rng(5)
    one = video(rng.integers(0, 256, (1, 32), dtype=np.uint8))
    index = VideoIndex.build("vpdq", 63, [one], [42], 31)
    assert index.score(index.pairs(one, 31), 31).entry.tolist() == [42]
    empty = VideoIndex.build("vpdq", 63, [], [], 31)
    assert empty.score(empty.pairs(one, 31), 31).entry.tolist() == []
    dark = VideoIndex.build(
        "vpdq", 63, [video(rng.integers(0, 256, (3, 32), dtype=np.uint8), [0, 0, 0])], [7], 31
    )
    assert dark.entry_count == 0  # no usable frame: nothing to match
