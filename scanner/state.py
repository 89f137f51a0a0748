"""The scan's state file: which files the server has answered for, so that a re-run skips them.

A SQLite database. Table ``settings`` holds the scan's settings (root, server, ref prefix, hash types,
variants) as one JSON value: a state file answers only for a scan with the same settings. Table
``files`` holds one row per file the server answered for: path relative to the root, size and
modification time in nanoseconds (a file with another size or time is new), whether it matched, and
when it was sent. Rows are written in one transaction per answered batch, after the answer: a scan
stopped at any point (interrupted, the server gone) has lost nothing, and re-sends at most the batch
it was waiting for, which the server answers without duplicating notices.
"""

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from scanner.errors import StateFileError
from scanner.walking import FileEntry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    sent_at TEXT NOT NULL
);
"""


class ScanState:
    """An open state file; ``close`` it after use (``contextlib.closing``)."""

    def __init__(self, path: Path, settings: Mapping[str, object]) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise StateFileError(f"cannot open the state file {path}: {error}") from None
        try:
            self._db.executescript(_SCHEMA)
            self._check(dict(settings))
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise StateFileError(f"{path} is not a scan state file: {error}") from None
        except StateFileError:
            self._db.close()
            raise

    def _check(self, settings: dict[str, object]) -> None:
        value = json.dumps(settings, sort_keys=True)
        row = self._db.execute("SELECT value FROM settings").fetchone()
        if row is None:
            self._db.execute("INSERT INTO settings (id, value) VALUES (1, ?)", (value,))
            return
        stored = json.loads(row[0])
        changed = sorted(
            key for key in settings.keys() | stored.keys() if settings.get(key) != stored.get(key)
        )
        if changed:
            raise StateFileError(
                f"state file {self.path} belongs to a scan with another {', '.join(changed)} "
                f"({', '.join(f'{key}={stored.get(key)!r}' for key in changed)}): "
                "use --state with a new file for this scan"
            )

    def is_unchanged(self, entry: FileEntry) -> bool:
        """Whether the server answered for this file as it is now (same path, size and time)."""
        row = self._db.execute(
            "SELECT size, mtime_ns FROM files WHERE path = ?", (entry.relative,)
        ).fetchone()
        return row is not None and (row[0], row[1]) == (entry.size, entry.mtime_ns)

    def record(self, answered: Iterable[tuple[FileEntry, bool]]) -> None:
        """Record files the server answered for (and whether each matched), all or none."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [
            (entry.relative, entry.size, entry.mtime_ns, int(matched), now) for entry, matched in answered
        ]
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
