"""``kill -9`` during an import or a publish, on SQLite and PostgreSQL: the previous version goes on
being served, the database stays consistent, and the next run completes the work."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from db import make_engine, make_session_factory, upgrade
from db.models import HashList, Publication
from indexer import serving
from indexer.publishing import publish, unserved_publication
from indexer.serving import ServedIndexes
from tests.listdata import assert_consistent, codes, load, new_list, plain

ROOT = Path(__file__).parent.parent


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def hashmatch(
    database_url: str, data_dir: Path, *args: str, kill_at: tuple[str, str] | None = None
) -> subprocess.Popen[str]:
    env = {**os.environ, "HASHMATCH_DATABASE_URL": database_url, "HASHMATCH_DATA_DIR": str(data_dir)}
    command = (
        [sys.executable, "-m", "tests.crashing", *kill_at] if kill_at else [sys.executable, "-m", "cli.main"]
    )
    return subprocess.Popen(
        [*command, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> int:
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err, err
    return process.returncode


# (where, before or after it, the import has committed, a publication has committed, the new one is served)
POINTS = [
    ("indexer.lists.insert_entries", "after", False, False, False),
    ("indexer.lists.mark_removed", "before", False, False, False),
    ("indexer.publishing.build_indexes", "after", True, False, False),
    ("indexer.serving.write_version", "after", True, False, False),
    ("indexer.serving.serve", "before", True, True, False),
    ("indexer.serving.prune", "before", True, True, True),
]


@pytest.mark.parametrize(("where", "when", "imported", "committed", "switched"), POINTS)
def test_kill_at_each_step_of_import_and_publish(
    sessions: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    where: str,
    when: str,
    imported: bool,
    committed: bool,
    switched: bool,
) -> None:
    index_dir = tmp_path / "indexes"
    list_id = new_list(sessions)
    old, new = codes(40, 1), codes(30, 2)
    load(sessions, list_id, plain("pdq", old))
    first = publish(sessions, index_dir).version
    source = tmp_path / "next.txt"
    source.write_text(plain("pdq", new[:20]) + plain("md5", codes(5, 3, 16)) + plain("pdq", old[:10]))

    killed = hashmatch(
        database_url,
        tmp_path,
        "lists",
        "import",
        "EOKM/main",
        str(source),
        "--full",
        "--publish",
        kill_at=(where, when),
    )
    assert finish(killed) == -signal.SIGKILL

    assert_consistent(sessions, index_dir)
    with sessions() as session:
        assert session.get(HashList, list_id).latest_version == (2 if imported else 1)  # type: ignore[union-attr]
        publications = session.scalars(select(Publication)).all()
        assert len(publications) == (2 if committed else 1)
        assert (unserved_publication(session, index_dir) is not None) == (committed and not switched)
    served = ServedIndexes.open(index_dir)
    assert served is not None
    assert (served.version != first) == switched
    assert len(served.search("pdq", old[10:11], 0)) == (0 if switched else 1)

    rerun = (
        ["lists", "publish"]
        if imported
        else ["lists", "import", "EOKM/main", str(source), "--full", "--publish"]
    )
    assert finish(hashmatch(database_url, tmp_path, *rerun)) == 0
    assert_consistent(sessions, index_dir)
    served = ServedIndexes.open(index_dir)
    assert served is not None
    assert len(served.search("pdq", new[:20], 0)) == 20
    assert len(served.search("pdq", old[10:], 0)) == 0
    assert len(served.search("md5", codes(5, 3, 16), 0)) == 5


def test_kill_from_outside_while_a_large_import_writes(tmp_path: Path) -> None:
    """A real external ``kill -9`` in the middle of inserting 300,000 entries into SQLite."""
    database_url = f"sqlite:///{tmp_path / 'hashmatch.db'}"
    index_dir = tmp_path / "indexes"
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(10, 4)))
    first = publish(sessions, index_dir).version
    source = tmp_path / "big.txt"
    source.write_text(plain("pdq", codes(300_000, 5)))
    wal = tmp_path / "hashmatch.db-wal"
    start_size = wal.stat().st_size if wal.exists() else 0

    process = hashmatch(
        database_url, tmp_path, "lists", "import", "EOKM/main", str(source), "--full", "--publish"
    )
    deadline = time.monotonic() + 120
    while (not wal.exists() or wal.stat().st_size < start_size + 2_000_000) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert finish(process) == -signal.SIGKILL

    assert serving.served_version(index_dir) == first
    with sessions() as session:
        assert session.get(HashList, list_id).latest_version == 1  # type: ignore[union-attr]
    assert_consistent(sessions, index_dir)
    load(sessions, list_id, plain("pdq", codes(10, 6)))
    assert publish(sessions, index_dir).changed
    assert_consistent(sessions, index_dir)
    engine.dispose()
