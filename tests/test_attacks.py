"""The attack suite: hoster keys trying to rebuild listed hashes from a real ``hashmatch serve``.

Every attack of REFERENCE's "Oracles" is played over HTTP against a server on SQLite: descending
thresholds, the bit walk at the list's own threshold (reading bits from inside and from outside the
edge), the walk hidden among random fillers, in one batch, spread over several keys of one
organisation and over many small calls, and across a restart of the server. A second server searches
items marked ``variant`` at lower radii (HASHMATCH_VARIANT_THRESHOLDS): there every walk is played with
variant items, along that second edge, and a walk that reads part of an entry at one edge and goes on
at the other. Each must be stopped before it learns more than 32 of the 256 bits of a listed PDQ hash,
or 8 of the 64 of a pHash/dHash.
"""

import itertools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from accounts import create_organisation, issue_key
from db import make_engine, make_session_factory, upgrade
from db.clock import SystemClock
from db.models import AuditRecord, Notice, Standing
from tests.api.support import ListedHash, ListSpec, publish_lists, random_hex
from tests.attacks import Ask, Attack, Stopped, flip_bit
from tests.test_scan_http import Server

ALLOWED = {"pdq": 32, "phash": 8, "dhash": 8}
BITS = {"pdq": 256, "phash": 64, "dhash": 64}


@dataclass
class Target:
    server: Server
    engine: Engine
    listed: dict[str, bytes]
    hosters: Iterator[int]
    last_hoster: int = 0

    def keys(self, count: int = 1) -> list[str]:
        """``count`` keys of a new hoster organisation (every attack starts with a clean standing)."""
        now = SystemClock().now()
        with make_session_factory(self.engine).begin() as session:
            org = create_organisation(session, f"Attacker {next(self.hosters)}", "hoster", now)
            session.flush()
            self.last_hoster = org.id
            return [issue_key(session, org, f"key {n}", now).secret for n in range(count)]

    def ask(
        self,
        hash_type: str,
        keys: Sequence[str],
        every: Callable[[int], None] | None = None,
        variant: bool = False,
    ) -> Ask:
        """Match answers over HTTP, the calls going round ``keys``; ``every`` is told each call's number;
        ``variant``: every item is marked a variant (searched at the server's variant radius)."""
        rotation = itertools.cycle(keys)
        calls = itertools.count()

        def ask(codes: Sequence[bytes]) -> list[bool]:
            number = next(calls)
            if every is not None:
                every(number)
            items = [
                {
                    "type": hash_type,
                    "hash": code.hex(),
                    "ref": f"f{number}-{i}",
                    **({"variant": True} if variant else {}),
                }
                for i, code in enumerate(codes)
            ]
            return _answers(self.server.url, next(rotation), items)

        return ask


def _answers(url: str, key: str, items: list[dict[str, object]]) -> list[bool]:
    while True:
        answer = httpx.post(
            f"{url}/v1/match", json={"items": items}, headers={"Authorization": f"Bearer {key}"}
        )
        if answer.status_code == 429:
            time.sleep(float(answer.headers["Retry-After"]))
            continue
        if answer.status_code == 403:
            assert "suspended" in answer.json()["detail"], answer.text
            raise Stopped
        assert answer.status_code == 200, answer.text
        return [result["matched"] for result in answer.json()["results"]]


VARIANT_THRESHOLDS = {"pdq": 32, "phash": 6, "dhash": 6}
"""Lower radii for variant items, as an operator might set them (the lists' own are 48 and 8)."""


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    yield from _target(tmp_path_factory.mktemp("attacked"), {})


@pytest.fixture(scope="module")
def variant_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    environment = {"HASHMATCH_VARIANT_THRESHOLDS": json.dumps(VARIANT_THRESHOLDS)}
    yield from _target(tmp_path_factory.mktemp("attacked-variants"), environment)


def _target(data: Path, environment: dict[str, str]) -> Iterator[Target]:
    """A served list holding one random hash of each type, under ``environment``."""
    engine = make_engine(f"sqlite:///{data / 'hashmatch.db'}")
    upgrade(engine)
    rng = np.random.default_rng(17)
    listed = {name: random_hex(rng, name) for name in BITS}
    spec = ListSpec(
        "EOKM", "eokm-main", [ListedHash(name, value, f"img-{name}") for name, value in listed.items()]
    )
    publish_lists(engine, data / "indexes", [spec])
    server = Server(data, environment)
    server.start()
    try:
        yield Target(
            server, engine, {name: bytes.fromhex(value) for name, value in listed.items()}, itertools.count(1)
        )
    finally:
        server.stop()
        engine.dispose()


def copy_of(listed: bytes, bits: int, seed: int) -> bytes:
    """What an attacker starts from: a copy of a listed picture, a few bits off the entry."""
    rng = np.random.default_rng(seed)
    copy = listed
    for bit in rng.choice(bits, 2, replace=False):
        copy = flip_bit(copy, int(bit))
    return copy


SHAPES = {
    "walk": {},
    "outside-edge": {"outside": True},
    "fillers": {"fillers": 127},
    "one-batch": {"batch": 256},
    "batches-fillers-outside": {"batch": 16, "fillers": 31, "outside": True},
}


@pytest.mark.parametrize("hash_type", sorted(BITS))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_walk_is_stopped_before_it_learns_its_share(target: Target, hash_type: str, shape: str) -> None:
    bits = BITS[hash_type]
    ask = target.ask(hash_type, target.keys())
    attack = Attack(ask, bits, **SHAPES[shape])  # type: ignore[arg-type]
    learned = attack.run(copy_of(target.listed[hash_type], bits, seed=len(shape)))
    print(f"{hash_type} {shape}: {learned} bits in {attack.calls} calls")
    assert learned <= ALLOWED[hash_type], f"{learned} bits of {bits} learned in {attack.calls} calls"
    assert learned < bits  # it was stopped, not finished


def test_a_walk_spread_over_keys_and_calls_is_stopped_as_one(target: Target) -> None:
    keys = target.keys(4)
    attack = Attack(target.ask("pdq", keys), 256)
    assert attack.run(copy_of(target.listed["pdq"], 256, seed=40)) <= ALLOWED["pdq"]
    for key in keys:  # every key of the organisation is refused from then on
        with pytest.raises(Stopped):
            _answers(target.server.url, key, [{"type": "md5", "hash": "11" * 16, "ref": "x"}])


def test_a_restart_forgets_nothing(target: Target) -> None:
    """The walk's state is in the database: a server restarted half-way stops it all the same."""

    def restart_once(number: int) -> None:
        if number == 30:
            target.server.stop()
            target.server.start()

    attack = Attack(target.ask("pdq", target.keys(), every=restart_once), 256)
    assert attack.run(copy_of(target.listed["pdq"], 256, seed=41)) <= ALLOWED["pdq"]
    assert attack.calls > 30


def test_descending_thresholds_teach_nothing(target: Target) -> None:
    key = target.keys()[0]
    near = copy_of(target.listed["pdq"], 256, seed=42).hex()
    for threshold in (47, 40, 20, 10, 5, 2, 1):
        answer = httpx.post(
            f"{target.server.url}/v1/match",
            json={"items": [{"type": "pdq", "hash": near, "ref": "x"}], "thresholds": {"pdq": threshold}},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 403
        assert "matched" not in answer.text


def test_a_suspension_is_audited_and_leaves_no_notice_of_the_refused_call(target: Target) -> None:
    keys = target.keys()
    attack = Attack(target.ask("phash", keys), 64, batch=64)
    attack.run(copy_of(target.listed["phash"], 64, seed=43))
    with make_session_factory(target.engine)() as session:
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.action.like("probing.%")).order_by(AuditRecord.id)
        ).all()
        assert "probing.suspended" in actions
        assert session.scalar(select(func.count()).select_from(Standing).where(Standing.level == "suspended"))
        mine = select(func.count()).select_from(Notice).where(Notice.hoster_id == target.last_hoster)
        refused_call = session.scalar(mine.where(Notice.ref.like(f"f{attack.calls}-%")))
        assert session.scalar(mine)  # the calls answered before opened their notices
    assert refused_call == 0  # the call that reached the suspension was refused whole


@pytest.mark.parametrize("hash_type", sorted(BITS))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_walk_through_variant_items_is_stopped_before_it_learns_its_share(
    variant_target: Target, hash_type: str, shape: str
) -> None:
    """Variant items are answered at the lower variant radius: a second edge to walk along."""
    bits = BITS[hash_type]
    ask = variant_target.ask(hash_type, variant_target.keys(), variant=True)
    attack = Attack(ask, bits, **SHAPES[shape])  # type: ignore[arg-type]
    learned = attack.run(copy_of(variant_target.listed[hash_type], bits, seed=len(shape)))
    print(f"{hash_type} {shape} (variant items): {learned} bits in {attack.calls} calls")
    assert learned <= ALLOWED[hash_type], f"{learned} bits of {bits} learned in {attack.calls} calls"
    assert learned < bits


@pytest.mark.parametrize("hash_type", sorted(BITS))
@pytest.mark.parametrize("first", ["own", "variant"])
def test_two_edges_of_one_entry_share_one_budget(variant_target: Target, hash_type: str, first: str) -> None:
    """Half the allowed bits read at one edge (the list's threshold or the variant radius), then the
    walk goes on at the other edge: what both teach together stays within the entry's share."""
    bits = BITS[hash_type]
    keys = variant_target.keys()
    start = copy_of(variant_target.listed[hash_type], bits, seed=50)
    learned = 0
    for variant in (first == "variant", first != "variant"):
        ask = variant_target.ask(hash_type, keys, variant=variant)
        reads = ALLOWED[hash_type] // 2 if learned == 0 else None
        learned += Attack(ask, bits, reads=reads).run(start)
    assert learned <= ALLOWED[hash_type], f"{learned} bits of {bits} learned"
