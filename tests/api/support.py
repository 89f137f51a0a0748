"""One place that builds what the API tests serve: hotlines' lists imported and published by the
indexer; organisations of every role with keys; an app over them on a clock the tests move."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from accounts import create_organisation, issue_key
from api.app import create_app
from api.deps import Services
from config.settings import Settings
from db import make_session_factory
from db.clock import ManualClock
from db.models import Entry, Organisation
from indexer.formats import read_list
from indexer.lists import create_list, import_list
from indexer.publishing import publish
from indexer.serving import served_version
from indexer.watcher import IndexWatcher
from matcher import HASH_TYPES
from notices.outbound import system_resolver

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class ListedHash:
    hash_type: str
    value: str
    item: str | None
    category: str | None = None


@dataclass(frozen=True)
class ListSpec:
    hotline: str
    name: str
    hashes: Sequence[ListedHash]
    thresholds: Mapping[str, int] = field(default_factory=dict)
    deadline_hours: int = 24
    legal_basis: str = "Art. 240b Wetboek van Strafrecht"
    default_category: str | None = "A"
    video_percent: tuple[int, int] = (80, 80)


def publish_lists(engine: Engine, index_dir: Path, specs: Sequence[ListSpec]) -> dict[str, int]:
    """Create the hotlines and their lists, import each list's hashes as a CSV file through the
    indexer and publish; returns the entry id of each listed value."""
    sessions = make_session_factory(engine)
    ids: dict[str, int] = {}
    with sessions.begin() as session:
        for spec in specs:
            if session.query(Organisation).filter_by(name=spec.hotline).one_or_none() is None:
                create_organisation(session, spec.hotline, "hotline", START)
            hash_list = create_list(
                session,
                spec.hotline,
                spec.name,
                default_category=spec.default_category,
                legal_basis=spec.legal_basis,
                thresholds=spec.thresholds,
                notice_deadline_hours=spec.deadline_hours,
                video_percent=spec.video_percent,
            )
            rows = ["type,hash,item,category"] + [
                f'{h.hash_type},"{h.value}",{h.item or ""},{h.category or ""}' for h in spec.hashes
            ]
            import_list(session, hash_list, read_list(rows, "csv"), mode="full", source=f"{spec.name}.csv")
            for listed in spec.hashes:
                value = HASH_TYPES[listed.hash_type].parse(listed.value)
                ids[listed.value] = session.scalars(
                    select(Entry.id).where(Entry.list_id == hash_list.id, Entry.value == value)
                ).one()
    publish(sessions, index_dir)
    return ids


def random_hex(rng: np.random.Generator, hash_type: str) -> str:
    return bytes(rng.integers(0, 256, HASH_TYPES[hash_type].nbytes, dtype=np.uint8)).hex()


def flip(value: str, bits: int) -> str:
    """``value`` with its first ``bits`` bits inverted: a hash exactly ``bits`` away."""
    number = int(value, 16) ^ (((1 << bits) - 1) << (len(value) * 4 - bits))
    return f"{number:0{len(value)}x}"


@dataclass
class World:
    """The app, its clock, the published entries and one key per organisation."""

    client: TestClient
    clock: ManualClock
    engine: Engine
    index_dir: Path
    entries: dict[str, int]
    keys: dict[str, str]
    hashes: dict[str, str]

    @property
    def index_version(self) -> str | None:
        return served_version(self.index_dir)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def flush_audit(self) -> None:
        """Write the audit records queued by calls that changed no notice."""
        services: Services = self.client.app.state.services  # type: ignore[attr-defined]
        services.audit.flush()

    def match(self, who: str, items: list[Any], **extra: object) -> httpx.Response:
        answer: httpx.Response = self.client.post(
            "/v1/match", json={"items": items, **extra}, headers=self.auth(who)
        )
        return answer


def sample_lists(rng: np.random.Generator) -> tuple[list[ListSpec], dict[str, str]]:
    """Two hotlines' lists: items hashed several ways, one hash per kind of confidence rule."""
    h = {
        "img1.pdq": random_hex(rng, "pdq"),
        "img1.phash": random_hex(rng, "phash"),
        "img1.md5": random_hex(rng, "md5"),
        "img2.pdq": random_hex(rng, "pdq"),
        "img3.phash": random_hex(rng, "phash"),
        "img3.ahash": random_hex(rng, "ahash"),
        "img4.whash": random_hex(rng, "whash"),
        "iwf.sha1": random_hex(rng, "sha1"),
        "iwf.pdq": random_hex(rng, "pdq"),
    }
    eokm = ListSpec(
        "EOKM",
        "eokm-main",
        [
            ListedHash("pdq", h["img1.pdq"], "img1"),
            ListedHash("phash", h["img1.phash"], "img1"),
            ListedHash("md5", h["img1.md5"], "img1", "B"),
            ListedHash("pdq", h["img2.pdq"], "img2"),
            ListedHash("phash", h["img3.phash"], "img3"),
            ListedHash("ahash", h["img3.ahash"], "img3"),
            ListedHash("whash", h["img4.whash"], "img4"),
        ],
        thresholds={"pdq": 31},
    )
    iwf = ListSpec(
        "IWF",
        "iwf-hashes",
        [ListedHash("sha1", h["iwf.sha1"], "x1"), ListedHash("pdq", h["iwf.pdq"], "x2")],
        deadline_hours=12,
        legal_basis="Protection of Children Act 1978",
        default_category="C",
    )
    return [eokm, iwf], h


def example_names(host: str, port: int) -> list[str]:
    """DNS as the API tests see it: names under .example and example-hosting.net are public (the tests
    never deliver to them); anything else resolves as usual (numbers, localhost)."""
    if host.endswith((".example", ".example-hosting.net")):
        return ["93.184.215.14"]
    return system_resolver(host, port)


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "rate_burst_hashes": 10**9,
        "tick_seconds": 0,  # tests tick by hand, on their clock
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def issue_keys(engine: Engine, clock: ManualClock) -> dict[str, str]:
    """A key for each of: hoster, hoster2, hotline (EOKM), hotline2 (IWF), authority, admin."""
    sessions = make_session_factory(engine)
    keys = {}
    with sessions.begin() as session:
        named = {"hoster": ("Example Hosting", "hoster"), "hoster2": ("Other Hosting", "hoster"),
                 "authority": ("ATKM", "authority"), "admin": ("Operator", "admin")}  # fmt: skip
        for who, (name, role) in named.items():
            keys[who] = issue_key(
                session, create_organisation(session, name, role, clock.now()), who, clock.now()
            ).secret
        for who, name in (("hotline", "EOKM"), ("hotline2", "IWF")):
            org = session.query(Organisation).filter_by(name=name).one()
            keys[who] = issue_key(session, org, who, clock.now()).secret
    return keys


@contextmanager
def open_world(
    engine: Engine,
    database_url: str,
    data_dir: Path,
    extra: Sequence[ListSpec] = (),
    **settings: object,
) -> Iterator[World]:
    """The sample lists (and ``extra`` ones) published under ``data_dir``, a key of every role, and a
    client of an app over them (its settings overridden by ``settings``) on a manual clock at
    :data:`START`."""
    clock = ManualClock(START)
    specs, hashes = sample_lists(np.random.default_rng(7))
    index_dir = data_dir / "indexes"
    entries = publish_lists(engine, index_dir, [*specs, *extra])
    keys = issue_keys(engine, clock)
    watcher = IndexWatcher(index_dir)
    watcher.check()
    app = create_app(
        make_settings(database_url, data_dir, **settings), clock=clock, watcher=watcher, resolve=example_names
    )
    with TestClient(app) as client:
        yield World(client, clock, engine, index_dir, entries, keys, hashes)
