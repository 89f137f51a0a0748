"""A throwaway PostgreSQL server for the test suite: initdb in a temporary directory, a Unix socket,
no TCP port, stopped at the end of the session. Installed by ``scripts/ensure-services``."""

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import psycopg
import pytest

USER = "hashmatch"


class PostgresUnavailable(RuntimeError):
    """Why the PostgreSQL run cannot happen on this machine."""


def server_binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresUnavailable("PostgreSQL is not installed (scripts/ensure-services installs it)")
    return Path(found[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the 'postgres' account the package creates."""
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root without runuser: cannot start PostgreSQL")
    return ["runuser", "-u", "postgres", "--", *command]


class PostgresServer:
    def __init__(self, socket_dir: Path) -> None:
        self.socket_dir = socket_dir
        self._names = count(1)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@/{database}?host={self.socket_dir}"

    def fresh_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(
            host=str(self.socket_dir), user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    binaries = server_binaries()
    root = Path(tempfile.mkdtemp(prefix="hashmatch-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    try:
        _run(
            _as_server_user(
                [str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8"]
            )
        )
        options = f"-k {sockets} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        _run(
            _as_server_user(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(root / "log"),
                    "-w",
                    "start",
                ]
            )
        )
        try:
            yield PostgresServer(sockets)
        finally:
            _run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{' '.join(command[:4])}... failed: {done.stderr.strip()[-300:]}")


def new_database(kind: str, directory: Path, postgres: PostgresServer | PostgresUnavailable) -> str:
    """The URL of a new, empty ``kind`` database (a SQLite file in ``directory``, or on ``postgres``);
    skips the test when PostgreSQL is unavailable."""
    if kind == "sqlite":
        return f"sqlite:///{directory / 'hashmatch.db'}"
    if isinstance(postgres, PostgresUnavailable):
        pytest.skip(f"PostgreSQL run skipped: {postgres}")
    return postgres.fresh_database()
