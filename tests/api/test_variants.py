"""Items marked ``variant`` (the scanner's flipped and rotated copies) are searched at the server's
variant threshold where it is lower than the lists': never above a list's own, never chosen by a hoster."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from api.app import create_app
from config import InvalidSettings
from tests.api.support import World, flip, make_settings, open_world


@pytest.fixture
def cheap(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[World]:
    """The sample lists (EOKM: pdq 31, IWF: the default 48) served with variants at pdq 32."""
    with open_world(engine, database_url, tmp_path, variant_thresholds={"pdq": 32}) as opened:
        yield opened


def matched(world: World, who: str, item: dict[str, object], **extra: object) -> bool:
    answer = world.match(who, [{"ref": "f", **item}], **extra)
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["results"][0]["matched"])


def test_the_variant_field_must_be_a_boolean(world: World) -> None:
    h = world.hashes
    for bad in ("yes", 1, None):
        answer = world.match("hoster", [{"type": "pdq", "hash": h["iwf.pdq"], "ref": "f", "variant": bad}])
        assert answer.status_code == 422, answer.text
        assert [(e["index"], e["field"]) for e in answer.json()["errors"]] == [(0, "variant")]
    assert matched(world, "hoster", {"type": "pdq", "hash": h["iwf.pdq"], "variant": True})
    assert matched(world, "hoster", {"type": "pdq", "hash": h["iwf.pdq"], "variant": False})


def test_without_a_variant_threshold_variants_match_at_the_lists_thresholds(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with open_world(engine, database_url, tmp_path, variant_thresholds={}) as world:
        far = flip(world.hashes["iwf.pdq"], 45)  # IWF's list: 48
        assert matched(world, "hoster", {"type": "pdq", "hash": far, "variant": True})


def test_pdq_variants_are_searched_at_32_by_default(world: World) -> None:
    """The scanner's turns are the turned images' own hashes (tests/test_hashing.py): they sit as close to
    a listed original as a re-encode (at most 28 bits on the project's smallest, most compressed copies,
    README: scan workload), searched at a fifth of the cost of 48, on an edge the probing guard watches."""
    h = world.hashes
    assert matched(world, "hoster", {"type": "pdq", "hash": flip(h["iwf.pdq"], 32), "variant": True})
    assert not matched(world, "hoster", {"type": "pdq", "hash": flip(h["iwf.pdq"], 33), "variant": True})
    assert matched(world, "hoster", {"type": "pdq", "hash": flip(h["iwf.pdq"], 45)})


def test_a_variant_that_matches_only_at_the_list_threshold_is_not_matched(cheap: World) -> None:
    h = cheap.hashes
    far, near = flip(h["iwf.pdq"], 45), flip(h["iwf.pdq"], 32)
    assert matched(cheap, "hoster", {"type": "pdq", "hash": far})  # the file's own hash: 48
    assert not matched(cheap, "hoster", {"type": "pdq", "hash": far, "variant": True})
    assert matched(cheap, "hoster", {"type": "pdq", "hash": near, "variant": True})


def test_the_variant_radius_is_never_above_a_lists_threshold(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with open_world(engine, database_url, tmp_path, variant_thresholds={"pdq": 40}) as world:
        img2 = world.hashes["img2.pdq"]  # EOKM's list: 31
        assert not matched(world, "hoster", {"type": "pdq", "hash": flip(img2, 32), "variant": True})
        assert matched(world, "hoster", {"type": "pdq", "hash": flip(img2, 31), "variant": True})


def test_a_hotlines_lowered_thresholds_lower_its_variants_too(cheap: World) -> None:
    h = cheap.hashes
    item = {"type": "pdq", "hash": flip(h["img2.pdq"], 25), "variant": True}
    assert matched(cheap, "hotline", item)
    assert not matched(cheap, "hotline", item, thresholds={"pdq": 20})


def test_a_variant_is_the_same_signal_of_the_same_ref(cheap: World) -> None:
    h = cheap.hashes
    items = [
        {"type": "pdq", "hash": flip(h["iwf.pdq"], 100), "ref": "f"},  # the file as stored: far
        {"type": "pdq", "hash": flip(h["iwf.pdq"], 20), "ref": "f", "variant": True},  # its mirror: close
        {"type": "pdq", "hash": flip(h["iwf.pdq"], 10), "ref": "f", "variant": True},
    ]
    answer = cheap.match("hoster", items).json()
    (result,) = answer["results"]
    assert (result["matched"], result["confidence"], result["signals"]) == (True, "medium", ["pdq"])
    assert result["notice_id"].startswith("ntc_")
    assert answer["counts"] == {"items": 3, "refs": 1, "matched": 1}


def test_variant_thresholds_of_unknown_types_or_out_of_range_are_refused_at_start(
    database_url: str, tmp_path: Path
) -> None:
    for bad in ({"nope": 3}, {"pdq": 99}):
        with pytest.raises(InvalidSettings, match="HASHMATCH_VARIANT_THRESHOLDS"):
            create_app(make_settings(database_url, tmp_path, variant_thresholds=bad))
