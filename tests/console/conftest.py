"""The console tests' world: the API tests' sample lists, keys of every role and an app on a manual clock."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.api.support import World, open_world


@pytest.fixture
def world(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[World]:
    with open_world(engine, database_url, tmp_path) as opened:
        yield opened
