"""Confidence through the API: the scanner's mirrored pHash corroborates its mirrored PDQ as an
upright pair does, and a pHash/dHash match that the ref's own PDQ contradicts goes to the hotline's
review instead of opening a notice."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from db import make_session_factory
from db.models import Notice
from tests.api.support import World, flip


def results(world: World, who: str, items: Sequence[Mapping[str, object]]) -> dict[str, dict[str, Any]]:
    answer = world.match(who, list(items))
    assert answer.status_code == 200, answer.text
    return {result["ref"]: result for result in answer.json()["results"]}


def notices(world: World) -> int:
    with make_session_factory(world.engine)() as session:
        return int(session.scalar(select(func.count()).select_from(Notice)) or 0)


def test_a_mirrored_pair_corroborates_like_an_upright_pair(world: World) -> None:
    h = world.hashes
    far = flip(h["img1.pdq"], 100)  # the file as stored: another picture
    upright: list[dict[str, object]] = [
        {"type": "pdq", "hash": h["img1.pdq"]},
        {"type": "phash", "hash": h["img1.phash"]},
    ]
    mirrored: list[dict[str, object]] = [
        {"type": "pdq", "hash": far},
        {"type": "phash", "hash": flip(h["img1.phash"], 30)},
        {"type": "pdq", "hash": flip(h["img1.pdq"], 3), "variant": True},
        {"type": "phash", "hash": flip(h["img1.phash"], 2), "variant": True},
    ]
    found = results(
        world,
        "hoster",
        [{**item, "ref": "upright"} for item in upright] + [{**item, "ref": "mirrored"} for item in mirrored],
    )
    for ref in ("upright", "mirrored"):
        assert (found[ref]["matched"], found[ref]["confidence"], found[ref]["signals"]) == (
            True,
            "high",
            ["pdq", "phash"],
        )


def test_a_phash_match_its_own_pdq_contradicts_goes_to_review(world: World) -> None:
    h = world.hashes
    contradicted = [
        {"type": "pdq", "hash": flip(h["img1.pdq"], 100), "ref": "stereo"},  # PDQ: another picture
        {"type": "phash", "hash": flip(h["img1.phash"], 4), "ref": "stereo"},
    ]
    alone = [{"type": "phash", "hash": flip(h["img1.phash"], 4), "ref": "phash-only"}]  # no PDQ sent
    unlisted = [  # img3 has no PDQ entry: nothing to contradict
        {"type": "pdq", "hash": flip(h["img1.pdq"], 100), "ref": "no-pdq-listed"},
        {"type": "phash", "hash": h["img3.phash"], "ref": "no-pdq-listed"},
    ]
    before = notices(world)
    found = results(world, "hoster", contradicted + alone + unlisted)
    assert found["stereo"] | {"notice_id": None} == {
        "ref": "stereo",
        "matched": False,
        "confidence": None,  # a hoster learns nothing of a review
        "signals": [],
        "notice_id": None,
        "reupload_of": None,
    }
    assert (found["phash-only"]["matched"], found["phash-only"]["confidence"]) == (True, "medium")
    assert (found["no-pdq-listed"]["matched"], found["no-pdq-listed"]["confidence"]) == (True, "medium")
    assert notices(world) == before + 3  # and one held for the hotline's review, unseen by the hoster

    seen = results(world, "hotline", contradicted)["stereo"]
    assert (seen["matched"], seen["confidence"], seen["signals"]) == (False, "review", ["phash"])
    assert [(match["item"], match["type"]) for match in seen["matches"]] == [("img1", "phash")]
