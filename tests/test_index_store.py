"""Many machines on one database and one index store (moto's real S3 API server): a replica with an
empty data directory serves what another machine published, refuses a damaged download, and a
publisher killed during its upload leaves the previous version served."""

import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from db import make_session_factory
from db.clock import ManualClock
from db.models import Publication
from indexer.checksums import MANIFEST
from indexer.publishing import PublishResult, publish
from indexer.replica import PublishedVersion
from indexer.serving import ServedIndexes, fingerprint
from indexer.store import IndexStore
from indexer.watcher import IndexWatcher
from tests.api.support import START, make_settings
from tests.listdata import codes, load, new_list, plain
from tests.s3 import S3Server
from tests.test_crash import finish, hashmatch


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def store(s3: S3Server) -> IndexStore:
    return IndexStore(s3.fresh_store(), s3.endpoint_url)


def wait_for(watcher: IndexWatcher, version: str, seconds: float = 30) -> ServedIndexes:
    deadline = time.monotonic() + seconds
    while (current := watcher.current) is None or current.version != version:
        assert time.monotonic() < deadline, watcher.state.describe()
        time.sleep(0.02)
    return current


def replica(sessions: sessionmaker[Session], store: IndexStore, data_dir: Path) -> IndexWatcher:
    cache = data_dir / "indexes"
    source = PublishedVersion(sessions, store, cache, keep=2)
    return IndexWatcher(cache, interval=0.05, source=source, verified=source.verified)


def test_a_replica_with_an_empty_data_directory_serves_what_another_machine_published(
    sessions: sessionmaker[Session], store: IndexStore, tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    first_codes, second_codes = codes(300, 1), codes(200, 2)
    load(sessions, list_id, plain("pdq", first_codes) + plain("md5", codes(40, 3, 16)))
    first = publish(sessions, tmp_path / "publisher" / "indexes", store=store).version
    assert store.has(first)
    watcher = replica(sessions, store, tmp_path / "replica")
    watcher.start()
    try:
        served = wait_for(watcher, first)
        assert len(served.search("pdq", first_codes, 0)) == 300
        assert len(served.search("md5", codes(40, 3, 16), 0)) == 40
        load(sessions, list_id, plain("pdq", second_codes))
        second = publish(sessions, tmp_path / "publisher" / "indexes", store=store).version
        served = wait_for(watcher, second)
        assert len(served.search("pdq", second_codes, 0)) == 200
        assert len(served.search("pdq", first_codes, 0)) == 0
        assert watcher.state.status == "ok"
    finally:
        watcher.stop()
    cached = sorted(p.name for p in (tmp_path / "replica" / "indexes").iterdir())
    assert cached == sorted([first, second])  # downloads only: no staging left, no CURRENT written


def test_a_damaged_object_in_the_store_is_refused_and_the_previous_version_stays_served(
    engine: Engine, database_url: str, store: IndexStore, s3: S3Server, tmp_path: Path
) -> None:
    sessions = make_session_factory(engine)
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(100, 4)))
    publisher = tmp_path / "publisher" / "indexes"
    first = publish(sessions, publisher, store=store).version
    settings = make_settings(
        database_url,
        tmp_path / "replica",
        index_store=store.url,
        s3_endpoint_url=s3.endpoint_url,
        index_poll_seconds=3600,
    )
    app = create_app(settings, clock=ManualClock(START))
    with TestClient(app) as client:
        assert client.get("/readyz").json()["index_version"] == first
        load(sessions, list_id, plain("pdq", codes(100, 5)))
        second = publish(sessions, publisher, store=store).version
        damaged = f"{store.url}/{second}/pdq/entry_ids.npy"
        good = store._fs.cat_file(damaged)
        store._fs.pipe_file(damaged, good[:-1] + bytes([good[-1] ^ 0xFF]))
        watcher = app.state.services.watcher
        watcher.check()
        ready = client.get("/readyz")
        body = ready.json()
        assert body["status"] == "degraded"
        assert body["index_version"] == first
        assert f"the published version {second} was refused" in body["detail"]
        assert "pdq/entry_ids.npy: its SHA-256 differs from the manifest's" in body["detail"]
        assert "s3://" not in body["detail"]  # no store address on a public route
        assert not (tmp_path / "replica" / "indexes" / second).exists()
        watcher.check()  # not downloaded again while the store's objects are unchanged
        assert watcher.state.status == "degraded"
        store._fs.pipe_file(damaged, good)  # the operator puts the object back
        watcher.check()
        body = client.get("/readyz").json()
        assert (body["status"], body["index_version"]) == ("ok", second)


def test_publishers_on_two_machines_at_once_take_turns(
    sessions: sessionmaker[Session], store: IndexStore, tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(20_000, 6)))
    results: list[PublishResult] = []
    errors: list[BaseException] = []

    def run(machine: str) -> None:
        try:
            results.append(publish(sessions, tmp_path / machine / "indexes", store=store))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(machine,)) for machine in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(result.changed for result in results) == [False, True]
    assert len({result.version for result in results}) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Publication)) == 1


def test_a_publisher_killed_during_its_upload_leaves_the_previous_version_served(
    sessions: sessionmaker[Session],
    database_url: str,
    store: IndexStore,
    s3: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    list_id = new_list(sessions)
    old, new = codes(50, 7), codes(60, 8)
    load(sessions, list_id, plain("pdq", old))
    publisher = tmp_path / "publisher"
    first = publish(sessions, publisher / "indexes", store=store).version
    watcher = replica(sessions, store, tmp_path / "replica")
    watcher.check()
    source = tmp_path / "next.txt"
    source.write_text(plain("pdq", new))
    monkeypatch.setenv("HASHMATCH_INDEX_STORE", store.url)
    monkeypatch.setenv("HASHMATCH_S3_ENDPOINT_URL", s3.endpoint_url)
    command = ["lists", "import", "EOKM/main", str(source), "--full", "--publish"]
    killed = hashmatch(database_url, publisher, *command, kill_at=("indexer.store._put", "after"))
    assert finish(killed) == -signal.SIGKILL  # the files are up, the manifest is not

    with sessions() as session:
        assert session.scalars(select(Publication.version)).all() == [first]
    uploaded = [path for path in store._fs.find(store.url) if first not in path]
    assert uploaded
    assert not any(path.endswith(MANIFEST) for path in uploaded)
    watcher.check()
    assert watcher.current is not None
    assert watcher.current.version == first
    assert len(watcher.current.search("pdq", old, 0)) == 50

    assert finish(hashmatch(database_url, publisher, "lists", "publish")) == 0
    watcher.check()
    assert watcher.current is not None
    assert watcher.current.version != first
    assert len(watcher.current.search("pdq", new, 0)) == 60
    assert len(watcher.current.search("pdq", old, 0)) == 0
    assert store.has(watcher.current.version)


def test_a_version_the_replica_just_downloaded_and_verified_is_not_hashed_again_to_load_it(
    sessions: sessionmaker[Session], store: IndexStore, tmp_path: Path
) -> None:
    """The download checked every file against the manifest; hashing them again before mapping them
    doubled a replica's catch-up (README: replica catch-up). Another worker of the machine, which
    finds the version in the cache without having fetched it, still hashes it."""
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(300, 6)))
    version = publish(sessions, tmp_path / "publisher" / "indexes", store=store).version
    fetcher = replica(sessions, store, tmp_path / "replica")
    fetcher.check()
    assert fetcher.current is not None
    assert fetcher.current.version == version
    assert fetcher.hashed == 0
    neighbour = replica(sessions, store, tmp_path / "replica")
    neighbour.check()
    assert neighbour.current is not None
    assert neighbour.current.version == version
    assert neighbour.hashed == 1


def test_a_downloaded_version_damaged_before_it_is_loaded_is_hashed_and_refused(
    sessions: sessionmaker[Session], store: IndexStore, tmp_path: Path
) -> None:
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(300, 7)))
    version = publish(sessions, tmp_path / "publisher" / "indexes", store=store).version
    cache = tmp_path / "replica" / "indexes"
    source = PublishedVersion(sessions, store, cache, keep=2)
    assert source() == version  # downloaded and verified
    damaged = cache / version / "pdq" / "entry_ids.npy"
    good = damaged.read_bytes()
    damaged.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))  # same size, later mtime
    watcher = IndexWatcher(cache, interval=0.05, source=source, verified=source.verified)
    watcher.check()
    assert watcher.current is None
    assert watcher.hashed == 1
    assert "its SHA-256 differs from the manifest's" in watcher.state.describe()


def test_a_copy_another_process_put_in_the_cache_during_a_download_is_not_taken_as_verified(
    sessions: sessionmaker[Session], store: IndexStore, tmp_path: Path
) -> None:
    """The download keeps a copy another worker renamed into place while it downloaded: what it
    verified was its own staging copy, so the fingerprint it vouches for is that copy's, and the kept
    one (here damaged after it was placed) is hashed before it is served."""
    list_id = new_list(sessions)
    load(sessions, list_id, plain("pdq", codes(300, 8)))
    version = publish(sessions, tmp_path / "publisher" / "indexes", store=store).version
    cache = tmp_path / "replica" / "indexes"
    kept = store.download(version, cache).path  # the neighbour's copy, in place
    damaged = kept / "pdq" / "entry_ids.npy"
    good = damaged.read_bytes()
    damaged.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))
    downloaded = store.download(version, cache)  # this worker's download, racing it
    assert downloaded.path == kept
    assert downloaded.fingerprint != fingerprint(kept)
    watcher = IndexWatcher(cache, source=lambda: version, verified={version: downloaded.fingerprint})
    watcher.check()
    assert watcher.current is None
    assert watcher.hashed == 1


def test_files_a_new_version_shares_with_a_cached_one_are_not_downloaded_again(
    sessions: sessionmaker[Session], store: IndexStore, tmp_path: Path
) -> None:
    """A publish that changes one type (an MD5 list's daily delta) builds the other types' files byte
    for byte as before: a replica links those from the version it holds instead of fetching them
    (a 10M PDQ index is about 1 GB), and a cached file that no longer matches is fetched afresh."""
    pdq_list, md5_list = new_list(sessions, "pdq-list"), new_list(sessions, "md5-list")
    pdq_codes = codes(300, 9)
    load(sessions, pdq_list, plain("pdq", pdq_codes))
    load(sessions, md5_list, plain("md5", codes(40, 10, 16)))
    publisher = tmp_path / "publisher" / "indexes"
    first = publish(sessions, publisher, store=store).version
    cache = tmp_path / "replica" / "indexes"
    old = store.download(first, cache).path
    load(sessions, md5_list, plain("md5", codes(50, 11, 16)))
    second = publish(sessions, publisher, store=store).version
    new = store.download(second, cache).path
    assert (new / "pdq" / "codes.faiss").stat().st_ino == (old / "pdq" / "codes.faiss").stat().st_ino
    assert (new / "md5" / "codes.npy").stat().st_ino != (old / "md5" / "codes.npy").stat().st_ino
    served = ServedIndexes.open(cache, second, verify=True)
    assert served is not None
    assert len(served.search("pdq", pdq_codes, 0)) == 300
    assert len(served.search("md5", codes(50, 11, 16), 0)) == 50
    damaged = old / "pdq" / "entry_ids.npy"  # a cached file damaged on this machine
    shutil.rmtree(new)
    good = damaged.read_bytes()
    damaged.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))
    again = store.download(second, cache).path
    assert (again / "pdq" / "entry_ids.npy").stat().st_ino != damaged.stat().st_ino
    assert ServedIndexes.open(cache, second, verify=True) is not None
