"""Many processes on one database: migrations run once (the others wait), publishers take turns."""

import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, inspect

from db import make_engine
from db.locks import PUBLISH, database_lock

ROOT = Path(__file__).parent.parent
MIGRATE = (
    "import sys; from db import make_engine, upgrade; upgrade(make_engine(sys.argv[1])); print('migrated')"
)


def test_processes_starting_together_on_a_new_database_all_migrate_it(database_url: str) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, database_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        assert out.strip() == "migrated"
    engine = make_engine(database_url)
    assert "publications" in inspect(engine).get_table_names()
    engine.dispose()


def test_a_database_lock_is_held_by_one_holder_at_a_time(engine: Engine, tmp_path: Path) -> None:
    inside: list[str] = []
    overlaps: list[str] = []

    def hold(name: str) -> None:
        with database_lock(engine, PUBLISH, "publish", tmp_path):
            if inside:
                overlaps.append(name)
            inside.append(name)
            time.sleep(0.3)
            inside.remove(name)

    threads = [threading.Thread(target=hold, args=(f"t{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
