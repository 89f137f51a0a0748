"""The ``entries`` table below :mod:`indexer.lists`: reading a list's entries, comparing them with an
import's rows, and writing new entries and removals.

Kept apart from the list operations because it is plumbing of another kind: plain DB-API cursors (a
server-side one on PostgreSQL) and statements that cut many rows out of one blob, with no ORM object
per row, and NumPy sorts that compare old and new rows by (code, meta) at once. A list's history is
never edited here: an entry is added in a version and may be marked removed in a later one.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.orm import Session

from db.models import VideoFrames
from indexer.bulk import gc_paused
from indexer.listfile import Meta, TypedHashes
from matcher import get_hash_type
from matcher.codes import Codes
from matcher.entries import deduplicate

BATCH = 20_000
GROUP_MIN = 32
"""Rows of a batch sharing their meta that are inserted with one statement (fewer: executemany)."""
Ids = npt.NDArray[np.int64]


def iter_active(
    connection: Connection,
    list_id: int,
    version_id: int | None,
    hash_type: str,
    *,
    with_meta: bool = True,
    chunk: int = 100_000,
) -> Iterator[tuple[Ids, bytes, list[tuple[Any, ...]]]]:
    """The list's entries of ``hash_type`` at ``version_id`` (None: the newest), a chunk at a time:
    (ids, concatenated values, and if ``with_meta`` each row's (item, category, quality, variant)).

    Read through the DB-API cursor (a server-side one on PostgreSQL): no ORM object per row."""
    condition = "removed_in IS NULL"
    params: tuple[object, ...] = (list_id, hash_type)
    if version_id is not None:
        condition = "added_in <= ? AND (removed_in IS NULL OR removed_in > ?)"
        params = (list_id, hash_type, version_id, version_id)
    columns = "id, value" + (", item, category, quality, variant" if with_meta else "")
    with _cursor(connection, streaming=True) as cursor, gc_paused():
        query = f"SELECT {columns} FROM entries WHERE list_id = ? AND hash_type = ? AND {condition}"
        cursor.execute(_sql(connection, query), params)
        while rows := cursor.fetchmany(chunk):
            ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
            others = [tuple(row[2:]) for row in rows] if with_meta else []
            yield ids, b"".join([row[1] for row in rows]), others


def iter_frames(
    connection: Connection, list_id: int, version_id: int, hash_type: str, *, chunk: int = 10_000
) -> Iterator[tuple[Ids, list[bytes]]]:
    """The list's video entries of ``hash_type`` at ``version_id``, a chunk at a time: ids and each
    one's frames (:func:`matcher.frames.encode_frames`)."""
    query = (
        "SELECT e.id, f.frames FROM entries e JOIN video_frames f ON f.digest = e.value "
        "WHERE e.list_id = ? AND e.hash_type = ? AND e.added_in <= ? "
        "AND (e.removed_in IS NULL OR e.removed_in > ?)"
    )
    with _cursor(connection, streaming=True) as cursor, gc_paused():
        cursor.execute(_sql(connection, query), (list_id, hash_type, version_id, version_id))
        while rows := cursor.fetchmany(chunk):
            yield np.array([row[0] for row in rows], np.int64), [bytes(row[1]) for row in rows]


def store_frames(session: Session, digests: Codes, frames: Mapping[bytes, bytes]) -> None:
    """Store the frames of the videos ``digests`` names that are not stored yet (a digest names
    one content: stored frames never change)."""
    wanted = sorted({bytes(row) for row in digests})
    for start in range(0, len(wanted), BATCH):
        part = wanted[start : start + BATCH]
        known = set(session.scalars(select(VideoFrames.digest).where(VideoFrames.digest.in_(part))))
        fresh = [{"digest": key, "frames": frames[key]} for key in part if key not in known]
        if fresh:
            session.execute(insert(VideoFrames), fresh)


@contextmanager
def _cursor(connection: Connection, *, streaming: bool = False) -> Iterator[Any]:
    """A DB-API cursor in the connection's transaction (server-side on PostgreSQL if ``streaming``)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    postgres = connection.dialect.name == "postgresql"
    cursor = driver.cursor(name=f"entries_{id(connection)}") if streaming and postgres else driver.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _sql(connection: Connection, statement: str) -> str:
    """``statement`` with its ``?`` placeholders in the driver's style."""
    return statement if connection.dialect.paramstyle == "qmark" else statement.replace("?", "%s")


@dataclass(frozen=True)
class Active:
    """A list's active entries of one type: ids, codes and meta (index into the import's metas)."""

    ids: Ids
    codes: Codes
    meta: npt.NDArray[np.int32]

    @classmethod
    def empty(cls, nbytes: int) -> "Active":
        return cls(np.empty(0, np.int64), np.empty((0, nbytes), np.uint8), np.empty(0, np.int32))

    def without(self, rows: npt.NDArray[np.bool_]) -> "Active":
        keep = ~rows
        return Active(self.ids[keep], self.codes[keep], self.meta[keep])


def active_entries(connection: Connection, list_id: int, hash_type: str, metas: list[Meta]) -> Active:
    """The newest version's entries of a type, their meta interned into ``metas`` (extended in place)."""
    known: dict[tuple[Any, ...], int] = {meta: index for index, meta in enumerate(metas)}
    nbytes = get_hash_type(hash_type).nbytes
    parts: list[tuple[Ids, Codes, npt.NDArray[np.int32]]] = []
    # the common case: every entry carries the same meta (none, or the list's category): read no meta
    with _cursor(connection) as cursor:
        cursor.execute(
            _sql(
                connection,
                "SELECT DISTINCT item, category, quality, variant FROM entries "
                "WHERE list_id = ? AND hash_type = ? AND removed_in IS NULL LIMIT 2",
            ),
            (list_id, hash_type),
        )
        distinct = [tuple(row) for row in cursor.fetchall()]
    uniform = known.setdefault(distinct[0], len(known)) if len(distinct) == 1 else None
    for ids, values, others in iter_active(connection, list_id, None, hash_type, with_meta=uniform is None):
        if uniform is not None:
            meta = np.full(ids.size, uniform, dtype=np.int32)
        else:  # a new (item, category, quality, variant) gets the next index: len(known) before it is added
            meta = np.fromiter((known.setdefault(other, len(known)) for other in others), np.int32, ids.size)
        parts.append((ids, np.frombuffer(values, dtype=np.uint8).reshape(ids.size, nbytes), meta))
    metas.extend(Meta(*key) for key in list(known)[len(metas) :])
    if not parts:
        return Active.empty(nbytes)
    return Active(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _keys(codes: Codes, meta: npt.NDArray[np.int32]) -> Codes:
    """One byte row per entry identity: the code followed by its meta index."""
    tail = meta.astype(">u4").view(np.uint8).reshape(meta.size, 4)
    return np.ascontiguousarray(np.hstack([codes, tail]))


def _groups(keys: Codes) -> tuple[Ids, npt.NDArray[np.int64]]:
    """Rows of ``keys`` grouped by identical value: (row numbers in group order, group start offsets)."""
    _, grouped = deduplicate(keys, np.arange(keys.shape[0], dtype=np.int64))
    return grouped.ids, grouped.offsets.astype(np.int64)


def diff(old: Active, codes: Codes, meta: npt.NDArray[np.int32]) -> tuple[Ids, npt.NDArray[np.bool_], int]:
    """Which new rows to add (row numbers, in file order: the first of identical rows), which old
    entries the new rows hold again, and how many new rows repeat another one."""
    n_old = old.ids.size
    kept = np.zeros(n_old, dtype=bool)
    if codes.shape[0] == 0:
        return np.empty(0, np.int64), kept, 0
    rows, offsets = _groups(np.concatenate([_keys(old.codes, old.meta), _keys(codes, meta)]))
    starts, sizes = offsets[:-1], np.diff(offsets)
    is_old = rows < n_old
    old_count = np.add.reduceat(is_old.astype(np.int64), starts)
    new_count = sizes - old_count
    # the old members of a group come first (the sort is stable and old rows precede new ones)
    has_both = np.repeat((old_count > 0) & (new_count > 0), sizes)
    kept[rows[is_old & has_both]] = True
    fresh = (old_count == 0) & (new_count > 0)
    added = np.sort(rows[starts[fresh]] - n_old)
    duplicates = int(new_count.sum() - np.count_nonzero(new_count))
    return added, kept, duplicates


def matching(old: Codes, wanted: Codes) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which old codes equal a wanted one, and which wanted codes equal an old one."""
    n_old = old.shape[0]
    hit_old = np.zeros(n_old, dtype=bool)
    hit_wanted = np.zeros(wanted.shape[0], dtype=bool)
    if not wanted.shape[0]:
        return hit_old, hit_wanted
    rows, offsets = _groups(np.concatenate([old, wanted]))
    sizes = np.diff(offsets)
    old_count = np.add.reduceat((rows < n_old).astype(np.int64), offsets[:-1])
    both = np.repeat((old_count > 0) & (sizes > old_count), sizes)
    hit_old[rows[both & (rows < n_old)]] = True
    hit_wanted[rows[both & (rows >= n_old)] - n_old] = True
    return hit_old, hit_wanted


def insert_entries(
    connection: Connection,
    list_id: int,
    version_id: int,
    rows: TypedHashes,
    picked: Ids,
    meta: npt.NDArray[np.int32],
    metas: list[Meta],
) -> None:
    """Insert the picked rows as entries, a batch at a time.

    Rows of a batch that share their meta go in with one statement that cuts their values out of one
    blob (a recursive CTE on SQLite, ``generate_series`` on PostgreSQL): no Python tuple and no bound
    parameter per row, 3x faster than executemany. The few rows whose meta is (nearly) their own, such
    as a per-row item, go through executemany. Integer columns and the registry's type name are
    written into the statements."""
    name, width = rows.hash_type.name, rows.hash_type.nbytes
    into = "INSERT INTO entries (list_id, hash_type, value, item, category, quality, variant, added_in) "
    one_by_one = _sql(
        connection, into + f"VALUES ({int(list_id)}, '{name}', ?, ?, ?, ?, ?, {int(version_id)})"
    )
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        in_bulk = into + (
            f"SELECT {int(list_id)}, '{name}', substring(%s::bytea from i * {width} + 1 for {width}), "
            f"%s::text, %s::text, %s::integer, %s::text, {int(version_id)} "
            "FROM generate_series(0, %s - 1) AS i"
        )
    else:
        numbers = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) "
        in_bulk = (
            numbers
            + into
            + (
                f"SELECT {int(list_id)}, '{name}', substr(?, i * {width} + 1, {width}), ?, ?, ?, ?, "
                f"{int(version_id)} FROM n"
            )
        )
    with _cursor(connection) as cursor, gc_paused():
        for start in range(0, picked.size, BATCH):
            part = picked[start : start + BATCH]
            kinds, inverse, counts = np.unique(meta[part], return_inverse=True, return_counts=True)
            grouped = part[np.argsort(inverse, kind="stable")]
            firsts = np.cumsum(counts) - counts
            single: list[Ids] = []
            for kind, first, count in zip(kinds.tolist(), firsts.tolist(), counts.tolist(), strict=True):
                group = grouped[first : first + count]
                if count < GROUP_MIN:
                    single.append(group)
                    continue
                blob = rows.codes[group].tobytes()
                cursor.execute(
                    in_bulk, (blob, *metas[kind], count) if postgres else (count, blob, *metas[kind])
                )
            if single:
                few = np.concatenate(single)
                values = rows.codes[few].tobytes()
                cursor.executemany(
                    one_by_one,
                    [
                        (values[offset : offset + width], *metas[index])
                        for offset, index in zip(
                            range(0, len(values), width), meta[few].tolist(), strict=True
                        )
                    ],
                )


def mark_removed(connection: Connection, ids: Ids, version_id: int, removal: str) -> None:
    """Set ``removed_in`` on ``ids``, one statement per run of consecutive ids."""
    if not ids.size:
        return
    ordered = np.sort(ids)
    breaks = np.flatnonzero(np.diff(ordered) != 1) + 1
    firsts, lasts = (
        ordered[np.concatenate([[0], breaks])],
        ordered[np.concatenate([breaks - 1, [ordered.size - 1]])],
    )
    connection.execute(
        text(
            "UPDATE entries SET removed_in = :version, removal = :removal "
            "WHERE id BETWEEN :first AND :last AND removed_in IS NULL"
        ),
        [
            {"version": version_id, "removal": removal, "first": int(first), "last": int(last)}
            for first, last in zip(firsts, lasts, strict=True)
        ],
    )
