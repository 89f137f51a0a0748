"""Shared by the list tests: hotlines, list files, and the consistency every database state must have."""

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from db.models import Entry, HashList, ListVersion, Organisation, Publication
from indexer.formats import read_list
from indexer.listfile import ListFile
from indexer.lists import Mode, create_list, import_list
from indexer.serving import ServedIndexes, serve, write_version
from matcher import Index


def hotline(session: Session, name: str = "EOKM", role: str = "hotline") -> Organisation:
    organisation = Organisation(name=name, role=role)
    session.add(organisation)
    session.flush()
    return organisation


def new_list(
    sessions: sessionmaker[Session], name: str = "main", org: str = "EOKM", **options: object
) -> int:
    with sessions.begin() as session:
        if session.scalar(select(Organisation).where(Organisation.name == org)) is None:
            hotline(session, org)
        return create_list(session, org, name, **options).id  # type: ignore[arg-type]


def codes(n: int, seed: int, nbytes: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, nbytes), dtype=np.uint8)


def plain(hash_type: str, values: np.ndarray) -> str:
    return "".join(f"{hash_type} {bytes(row).hex()}\n" for row in values)


def csv_rows(*rows: str, header: str = "type,hash,item,category,quality,action") -> str:
    return header + "\n" + "".join(row + "\n" for row in rows)


def parse(content: str, file_format: str = "plain", *, allow_retract: bool = False) -> ListFile:
    return read_list(io.StringIO(content), file_format, allow_retract=allow_retract)


def load(
    sessions: sessionmaker[Session],
    list_id: int,
    content: str,
    mode: Mode = "full",
    file_format: str = "plain",
    *,
    skip_bad: bool = False,
) -> ListVersion:
    found = parse(content, file_format, allow_retract=mode != "full")
    with sessions.begin() as session:
        hash_list = session.get(HashList, list_id)
        assert hash_list is not None
        result = import_list(session, hash_list, found, mode=mode, source="test", skip_bad=skip_bad)
        assert result.version is not None
        return result.version


def active_ids(session: Session, list_id: int, version_id: int | None = None) -> set[int]:
    query = select(Entry.id).where(Entry.list_id == list_id)
    if version_id is None:
        query = query.where(Entry.removed_in.is_(None))
    else:
        query = query.where(
            Entry.added_in <= version_id, (Entry.removed_in.is_(None)) | (Entry.removed_in > version_id)
        )
    return set(session.scalars(query))


def assert_consistent(sessions: sessionmaker[Session], index_dir: Path) -> None:
    """Every version's counts agree with its entries; the served index holds exactly the entries of
    the list versions its publication names."""
    with sessions() as session:
        for hash_list in session.scalars(select(HashList)):
            numbers = [
                v.number
                for v in session.scalars(select(ListVersion).where(ListVersion.list_id == hash_list.id))
            ]
            assert sorted(numbers) == list(range(1, hash_list.latest_version + 1))
        for version in session.scalars(select(ListVersion)):
            added = session.scalar(select(func.count()).where(Entry.added_in == version.id))
            removed = session.scalar(select(func.count()).where(Entry.removed_in == version.id))
            active = len(active_ids(session, version.list_id, version.id))
            assert (added, removed, active) == (version.added, version.removed, version.entries), (
                version.number
            )
        orphans = session.scalar(
            text("SELECT COUNT(*) FROM entries WHERE added_in NOT IN (SELECT id FROM list_versions)")
        )
        assert orphans == 0
        served = ServedIndexes.open(index_dir)
        named = served and session.scalar(select(Publication).where(Publication.version == served.version))
        mapping = {int(key): int(value) for key, value in named.list_versions.items()} if named else {}
        if served is None:
            assert mapping == {}
            return
        expected: set[int] = set()
        for list_id, version_id in mapping.items():
            expected |= active_ids(session, list_id, version_id)
        indexed: set[int] = set()
        for index in served.indexes.values():
            indexed |= set(index.entries.ids.tolist())  # type: ignore[attr-defined]
        assert indexed == expected


def publish(index_dir: Path, version: str, built: Mapping[str, Index], meta: Mapping[str, Any]) -> None:
    """Write a version and serve it: what ``indexer.publishing.publish`` does after its bookkeeping."""
    write_version(index_dir, version, built, meta)
    serve(index_dir, version)
