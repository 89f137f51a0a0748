"""vPDQ items through POST /v1/match, on SQLite and PostgreSQL: a video matches a listed one when most
frames match both ways (the list's percentages), the hoster learns match / no match and confidence
only, and a matched video opens one notice."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select

from db import make_session_factory
from db.models import Notice, NoticeMatch
from matching import parse_items, perceptual_queries
from scanner.client import items_cost
from tests.api.support import ListedHash, ListSpec, World, open_world

FRAMES = 30


def frame_lines(codes: np.ndarray, quality: int = 100) -> list[str]:
    return [f"{i},{quality},{bytes(code).hex()},{i:.3f}" for i, code in enumerate(codes)]


def flipped(codes: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Each frame with ``bits`` random bits inverted (a re-encode moves PDQ by a few to ~20 bits)."""
    moved = codes.copy()
    for row in moved:
        for bit in rng.choice(256, bits, replace=False):
            row[bit // 8] ^= np.uint8(1 << (bit % 8))
    return moved


@pytest.fixture
def videos() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    listed = rng.integers(0, 256, (FRAMES, 32), dtype=np.uint8)
    return {
        "listed": listed,
        "copy": flipped(listed, 12, rng),
        "clip": listed[:20],  # two thirds of the listed video
        "other": rng.integers(0, 256, (FRAMES, 32), dtype=np.uint8),
    }


@pytest.fixture
def video_world(
    engine: Engine, database_url: str, tmp_path: Path, videos: dict[str, np.ndarray]
) -> Iterator[World]:
    listed = ";".join(frame_lines(videos["listed"]))
    clips = ListSpec("IWF", "iwf-clips", [ListedHash("vpdq", listed, "clip-list")], video_percent=(100, 50))
    eokm = ListSpec("EOKM", "eokm-video", [ListedHash("vpdq", listed, "v1", "A")])
    with open_world(engine, database_url, tmp_path, [eokm, clips]) as world:
        yield world


def test_a_copy_matches_high_and_opens_one_notice_without_frame_detail(
    video_world: World, videos: dict[str, np.ndarray]
) -> None:
    item = {"type": "vpdq", "hash": frame_lines(videos["copy"]), "ref": "s3://videos/copy.mp4"}
    answer = video_world.match("hoster", [item])
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    assert (result["matched"], result["confidence"], result["signals"]) == (True, "high", ["vpdq"])
    assert set(result) == {"ref", "matched", "confidence", "signals", "notice_id", "reupload_of"}
    again = video_world.match("hoster", [item]).json()["results"][0]
    assert again["notice_id"] == result["notice_id"]
    with make_session_factory(video_world.engine)() as session:
        notice = session.scalars(select(Notice)).one()
        matches = session.scalars(select(NoticeMatch).where(NoticeMatch.notice_id == notice.id)).all()
    assert notice.public_id == result["notice_id"]
    # both lists hold the video: 100 % of the copy's frames and of the listed ones matched
    assert sorted((m.hash_type, m.distance) for m in matches) == [("vpdq", 0), ("vpdq", 0)]


def test_the_lists_percentages_decide_a_clip_and_an_unrelated_video_never_matches(
    video_world: World, videos: dict[str, np.ndarray]
) -> None:
    clip = {"type": "vpdq", "hash": ";".join(frame_lines(videos["clip"])), "ref": "clip.mp4"}
    other = {"type": "vpdq", "hash": "\n".join(frame_lines(videos["other"])), "ref": "other.mp4"}
    answer = video_world.match("hotline2", [clip, other])  # IWF: its own list only, 100/50
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["results"]
    assert first["matched"]
    assert [hit["list"] for hit in first["matches"]] == ["iwf-clips"]
    assert not second["matched"]
    eokm = video_world.match("hotline", [clip]).json()["results"][0]  # EOKM's 80/80: 20 of 30 is short
    assert not eokm["matched"]


def test_a_video_without_a_usable_frame_is_unmatchable_and_bad_frames_are_named(
    video_world: World, videos: dict[str, np.ndarray]
) -> None:
    dark = {"type": "vpdq", "hash": frame_lines(videos["listed"], quality=10), "ref": "dark.mp4"}
    answer = video_world.match("hoster", [dark])
    assert answer.status_code == 200, answer.text
    assert "quality 50" in answer.json()["results"][0]["unmatchable"]
    lines = frame_lines(videos["listed"])
    lines[1] = "1,100,zz,1.000"
    bad = video_world.match("hoster", [{"type": "vpdq", "hash": lines, "ref": "bad.mp4"}])
    assert bad.status_code == 422
    (error,) = bad.json()["errors"]
    assert (error["index"], error["field"]) == (0, "hash")
    assert "frame line 2" in error["reason"]
    assert "64 hexadecimal digits" in error["reason"]


def test_the_probing_guard_sees_a_videos_frames_as_pdq_hashes(videos: dict[str, np.ndarray]) -> None:
    """As PDQ queries (near listed PDQ entries) and as vPDQ ones (near listed videos' frames)."""
    lines = frame_lines(videos["listed"][:3])
    items, errors = parse_items([{"type": "vpdq", "hash": lines, "ref": "v.mp4"}])
    assert not errors
    queries = perceptual_queries(items)
    assert sorted(queries) == ["pdq", "vpdq"]
    assert queries["pdq"].tolist() == queries["vpdq"].tolist() == videos["listed"][:3].tolist()


def test_a_video_costs_its_frames_of_the_rate_budget(
    engine: Engine, database_url: str, tmp_path: Path, videos: dict[str, np.ndarray]
) -> None:
    settings: dict[str, object] = {"rate_burst_hashes": 40, "rate_hashes_per_second": 0.01, "max_items": 10}
    with open_world(engine, database_url, tmp_path, (), **settings) as world:
        item = {"type": "vpdq", "hash": frame_lines(videos["listed"]), "ref": "v.mp4"}  # 30 frames
        assert world.match("hoster", [item]).status_code == 200
        assert world.match("hoster", [item]).status_code == 429  # 10 of 40 left: it costs 30
        longer = {"type": "vpdq", "hash": frame_lines(np.concatenate([videos["listed"]] * 2)), "ref": "w"}
        refused = world.match("hoster2", [longer])
        assert refused.status_code == 422
        assert "60 hashes (a vpdq item counts its frames)" in refused.json()["errors"][0]["reason"]


def test_the_scanner_cuts_batches_by_what_they_cost() -> None:
    items = [{"type": "vpdq", "hash": "a;b;c", "ref": "v"}, {"type": "pdq", "hash": "x", "ref": "i"}]
    assert items_cost(items) == 4
