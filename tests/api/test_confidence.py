"""Confidence through the API: the scanner's mirrored pHash corroborates its mirrored PDQ as an
upright pair does, and a pHash/dHash match that the ref's own PDQ contradicts goes to the hotline's
review instead of opening a notice."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from db import make_session_factory
from db.models import Entry, Notice, NoticeMatch
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


def test_a_contradicted_phash_beside_a_standing_match_is_not_part_of_the_notice(world: World) -> None:
    # a screenshot's picture matches img2 on PDQ; one of its other pHash items comes near img1, whose PDQ
    # entry none of the ref's PDQ hashes matched: the notice names img2 alone, not a second picture
    h = world.hashes
    items = [
        {"type": "pdq", "hash": flip(h["img2.pdq"], 3), "ref": "screen"},
        {"type": "phash", "hash": flip(h["img1.phash"], 8), "ref": "screen"},
    ]
    found = results(world, "hoster", items)["screen"]
    assert (found["matched"], found["confidence"], found["signals"]) == (True, "medium", ["pdq"])
    seen = results(world, "hotline", items)["screen"]
    assert [(match["item"], match["type"]) for match in seen["matches"]] == [("img2", "pdq")]
    with make_session_factory(world.engine)() as session:
        rested = session.scalars(
            select(Entry.item)
            .join(NoticeMatch, NoticeMatch.entry_id == Entry.id)
            .join(Notice)
            .where(Notice.ref == "screen")
        ).all()
        assert rested == ["img2"]


def test_a_contradicted_item_that_also_matched_its_file_bytes_stays_in_the_notice(world: World) -> None:
    # img1 matched on its MD5 and on pHash while the ref's PDQ says another picture: the bytes are the
    # listed file's, the notice rests on img1 (was: a notice resting on nothing, a 500)
    h = world.hashes
    items = [
        {"type": "md5", "hash": h["img1.md5"], "ref": "bytes"},
        {"type": "pdq", "hash": flip(h["img1.pdq"], 100), "ref": "bytes"},
        {"type": "phash", "hash": flip(h["img1.phash"], 2), "ref": "bytes"},
    ]
    found = results(world, "hoster", items)["bytes"]
    assert (found["matched"], found["confidence"], found["signals"]) == (True, "high", ["md5", "phash"])
    seen = results(world, "hotline", items)["bytes"]
    assert sorted((match["item"], match["type"]) for match in seen["matches"]) == [
        ("img1", "md5"),
        ("img1", "phash"),
    ]
