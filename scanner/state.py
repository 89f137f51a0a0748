"""The scan's state file: which files the server has answered for, so that a re-run skips them, and
their hashes, so that a re-run matches them again when the server's lists changed.

A SQLite database (``PRAGMA user_version`` is its schema version). Table ``settings`` holds the scan's
settings (root, server, ref prefix, hash types, variants) as one JSON value: a state file answers only
for a scan with the same settings. Table ``files`` holds one row per file the server answered for: path
relative to the root, size and modification time in nanoseconds (a file with another size or time is
new), whether it matched, its notice, when it was sent, the hashes sent for it (hashes only: never the
file's content) and the index version that answered (a file not matched by an older version is matched
again, from its stored hashes, once another version is served). Rows are written in one transaction per
answered batch, after the answer: a scan stopped at any point (interrupted, the server gone) has lost
nothing, and re-sends at most the batch it was waiting for, which the server answers without
duplicating notices. An object of an object store is compared by its size and version (ETag; column
``version``, its time 0) instead.

Versions 1 (no hashes, version or notice) and 2 (no object version) are upgraded in place; version 1's
files have no stored hashes, so the next scan hashes them once more.
"""

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner.client import MatchResult
from scanner.errors import StateFileError
from scanner.hashing import Hash
from scanner.walking import FileEntry

SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    sent_at TEXT NOT NULL,
    hashes TEXT,
    index_version TEXT,
    notice_id TEXT,
    version TEXT
);
"""
_ADDED = (("hashes", "TEXT"), ("index_version", "TEXT"), ("notice_id", "TEXT"), ("version", "TEXT"))
"""Columns versions 2 and 3 added to version 1's ``files``."""


@dataclass(frozen=True)
class Answered:
    """A file the server answered for: the hashes sent, the answer, and the index version that gave it."""

    entry: FileEntry
    hashes: tuple[Hash, ...]
    result: MatchResult
    index_version: str | None


@dataclass(frozen=True)
class Stored:
    """A file of the state with its stored hashes."""

    path: str
    hashes: tuple[Hash, ...]


class ScanState:
    """An open state file; ``close`` it after use (``contextlib.closing``). ``settings=None`` opens an
    existing state file as it is (to read it)."""

    def __init__(self, path: Path, settings: Mapping[str, object] | None) -> None:
        self.path = path
        if settings is None and not path.is_file():
            raise StateFileError(f"no state file {path}")
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise StateFileError(f"cannot open the state file {path}: {error}") from None
        try:
            self._upgrade()
            self.settings = self._check(None if settings is None else dict(settings))
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise StateFileError(f"{path} is not a scan state file: {error}") from None
        except StateFileError:
            self._db.close()
            raise

    def _upgrade(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateFileError(
                f"state file {self.path} was written by a newer hashmatch (schema {version}): upgrade"
            )
        if version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                self._db.execute(statement)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(files)")}
            for name, kind in _ADDED:
                if name not in columns:
                    self._db.execute(f"ALTER TABLE files ADD COLUMN {name} {kind}")
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _check(self, settings: dict[str, object] | None) -> dict[str, Any]:
        row = self._db.execute("SELECT value FROM settings").fetchone()
        if row is None:
            if settings is None:
                raise StateFileError(f"state file {self.path} has never been used by a scan")
            self._db.execute(
                "INSERT INTO settings (id, value) VALUES (1, ?)", (json.dumps(settings, sort_keys=True),)
            )
            return settings
        stored: dict[str, Any] = json.loads(row[0])
        if settings is None:
            return stored
        if _gains_videos(stored, settings):
            self._take_over_for_videos(settings)
            return settings
        changed = sorted(
            key for key in settings.keys() | stored.keys() if settings.get(key) != stored.get(key)
        )
        if changed:
            raise StateFileError(
                f"state file {self.path} belongs to a scan with another {', '.join(changed)} "
                f"({', '.join(f'{key}={stored.get(key)!r}' for key in changed)}): "
                "use --state with a new file for this scan"
            )
        return settings

    def _take_over_for_videos(self, settings: dict[str, object]) -> None:
        """The scan now hashes videos (vPDQ): keep the state, and forget the files it holds without a
        perceptual hash (videos were among them, sent by their digests only), to hash them once more."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("UPDATE settings SET value = ?", (json.dumps(settings, sort_keys=True),))
            self._db.execute(
                "DELETE FROM files WHERE hashes IS NOT NULL AND hashes NOT LIKE '%\"pdq\"%' "
                "AND hashes NOT LIKE '%\"phash\"%' AND hashes NOT LIKE '%\"dhash\"%'"
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def is_unchanged(self, entry: FileEntry) -> bool:
        """Whether the server answered for this file as it is now (same path, size, time and version)
        and its hashes are stored."""
        row = self._db.execute(
            "SELECT size, mtime_ns, version FROM files WHERE path = ? AND hashes IS NOT NULL",
            (entry.relative,),
        ).fetchone()
        return row is not None and tuple(row) == (entry.size, entry.mtime_ns, entry.version)

    def record(self, answered: Iterable[Answered]) -> None:
        """Record files the server answered for (their hashes and answers), all or none."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [
            (
                done.entry.relative,
                done.entry.size,
                done.entry.mtime_ns,
                int(done.result.matched),
                now,
                _encode(done.hashes),
                done.index_version,
                done.result.notice_id,
                done.entry.version,
            )
            for done in answered
        ]
        columns = "path, size, mtime_ns, matched, sent_at, hashes, index_version, notice_id, version"
        self._write(f"INSERT OR REPLACE INTO files ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def stale_count(self, version: str) -> int:
        """How many stored files did not match and were last matched by another version than ``version``."""
        return int(self._db.execute(_STALE.format("count(*)"), (version,)).fetchone()[0])

    def stale(self, version: str, page: int = 1_000) -> Iterator[Stored]:
        """The files :meth:`stale_count` counts, by path, read ``page`` at a time."""
        after = ""
        while True:
            rows = self._db.execute(
                _STALE.format("path, hashes") + " AND path > ? ORDER BY path LIMIT ?", (version, after, page)
            ).fetchall()
            for path, hashes in rows:
                yield Stored(path, _decode(hashes))
            if len(rows) < page:
                return
            after = rows[-1][0]

    def rematched(self, answers: Iterable[tuple[str, MatchResult]], index_version: str | None) -> None:
        """Record the answers to stored files matched again, all or none."""
        rows = [(int(result.matched), result.notice_id, index_version, path) for path, result in answers]
        self._write("UPDATE files SET matched = ?, notice_id = ?, index_version = ? WHERE path = ?", rows)

    def noticed(self) -> list[tuple[str, str]]:
        """Every file with a notice, and the notice's id, by path."""
        query = "SELECT path, notice_id FROM files WHERE notice_id IS NOT NULL ORDER BY path"
        return [(str(path), str(notice)) for path, notice in self._db.execute(query)]

    def _write(self, statement: str, rows: Sequence[tuple[object, ...]]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(statement, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


_STALE = (
    "SELECT {} FROM files WHERE hashes IS NOT NULL AND matched = 0 "
    "AND (index_version IS NULL OR index_version != ?)"
)


def _gains_videos(stored: Mapping[str, Any], settings: Mapping[str, object]) -> bool:
    """Whether ``settings`` are ``stored``'s with vpdq added to the types (and its frame interval): the
    same scan, by a hashmatch that hashes videos too."""
    types = settings.get("types")
    if not isinstance(types, list) or "vpdq" not in types or "vpdq" in stored.get("types", []):
        return False
    rest = {key: value for key, value in settings.items() if key not in ("types", "video_interval")}
    return stored == {**rest, "types": [name for name in types if name != "vpdq"]}


def _encode(hashes: Iterable[Hash]) -> str:
    """[type, hash] per hash, [type, hash, 1] for a variant."""
    return json.dumps(
        [[item.type, item.hash, *([1] if item.variant else [])] for item in hashes], separators=(",", ":")
    )


def _decode(text: str) -> tuple[Hash, ...]:
    return tuple(Hash(row[0], row[1], variant=len(row) > 2) for row in json.loads(text))
