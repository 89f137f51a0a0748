"""The match service below the API: confidence rules, and one notice per ref under concurrent calls."""

import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from db import make_session_factory
from db.clock import ManualClock
from db.models import Notice, Organisation
from indexer.serving import ServedIndexes
from matching import Hit, confidence, match, parse_items
from tests.api.support import START, issue_keys, publish_lists, sample_lists


def hit(hash_type: str, item: str | None = "i1", list_id: int = 1) -> Hit:
    return Hit(hash_type, 1, 0, list_id, "l", 1, item, None)


@pytest.mark.parametrize(
    ("hits", "expected"),
    [
        ([hit("md5", None)], "high"),
        ([hit("pdq"), hit("phash")], "high"),
        ([hit("pdq"), hit("phash", "i2")], "medium"),  # two signals, but on different items
        ([hit("pdq"), hit("phash", list_id=2)], "medium"),  # same item name on another list
        ([hit("dhash"), hit("whash")], "high"),
        ([hit("pdq", None), hit("phash", None)], "medium"),  # no item to agree on
        ([hit("pdq")], "medium"),
        ([hit("photodna")], "medium"),  # a PhotoDNA match is a signal like PDQ
        ([hit("photodna"), hit("pdq")], "high"),
        ([hit("photodna"), hit("md5", "i2")], "high"),
        ([hit("photodna"), hit("pdq", "i2")], "medium"),
        ([hit("ahash"), hit("whash")], None),  # weak signals never match alone
        ([], None),
    ],
)
def test_confidence_rules(hits: list[Hit], expected: str | None) -> None:
    assert confidence(hits) == expected


def test_concurrent_calls_for_one_ref_open_one_notice(engine: Engine, tmp_path: Path) -> None:
    specs, hashes = sample_lists(np.random.default_rng(7))
    publish_lists(engine, tmp_path, specs)
    issue_keys(engine, ManualClock(START))
    served = ServedIndexes.open(tmp_path)
    sessions = make_session_factory(engine)
    with sessions() as session:
        hoster = session.scalars(select(Organisation).where(Organisation.name == "Example Hosting")).one()
    items, _ = parse_items([{"type": "md5", "hash": hashes["img1.md5"], "ref": "same"}])
    barrier = threading.Barrier(4)
    found: list[str | None] = []

    def call() -> None:
        with sessions() as session:
            barrier.wait()
            outcome = match(session, served, hoster.id, "hoster", items, {}, START)
            session.commit()
            found.append(outcome.results[0].notice_id)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4
    assert len(set(found)) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notice)) == 1


@pytest.mark.parametrize(
    ("hits", "contradicted", "expected"),
    [
        ([hit("phash"), hit("dhash")], set(), "high"),  # no PDQ to say otherwise
        ([hit("phash"), hit("dhash")], {(1, "i1")}, "review"),  # the item's PDQ did not match
        ([hit("phash")], {(1, "i1")}, "review"),
        ([hit("phash"), hit("whash")], {(1, "i1")}, "review"),
        ([hit("phash"), hit("pdq")], {(1, "i1")}, "high"),  # PDQ agreeing is no contradiction
        ([hit("phash"), hit("pdq", "i2")], {(1, "i1")}, "medium"),  # i2 stands on PDQ alone
        ([hit("phash"), hit("phash", "i2")], {(1, "i1")}, "medium"),  # i2 is not contradicted
        ([hit("phash"), hit("md5", "i2")], {(1, "i1")}, "high"),
    ],
)
def test_a_narrow_match_that_pdq_contradicts_goes_to_review(
    hits: list[Hit], contradicted: set[tuple[int, str]], expected: str
) -> None:
    assert confidence(hits, contradicted) == expected
