"""The API tests' world: a published index of two hotlines' lists, keys of every role, an app."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from db.clock import ManualClock
from indexer.serving import IndexWatcher
from tests.api.support import START, World, issue_keys, make_settings, publish_lists, sample_lists


@pytest.fixture
def world(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[World]:
    clock = ManualClock(START)
    specs, hashes = sample_lists(np.random.default_rng(7))
    index_dir = tmp_path / "indexes"
    entries = publish_lists(engine, index_dir, specs)
    keys = issue_keys(engine, clock)
    watcher = IndexWatcher(index_dir)
    watcher.check()
    app = create_app(make_settings(database_url, tmp_path), clock=clock, watcher=watcher)
    with TestClient(app) as client:
        yield World(client, clock, engine, index_dir, entries, keys, hashes)
