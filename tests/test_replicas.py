"""The replica test: two ``hashmatch serve --workers 2`` on one PostgreSQL, one S3 index store (moto's
server) and one Redis, behind HAProxy, all real processes on loopback.

- one ``lists publish`` and both replicas serve the new version within the poll interval;
- the same ref matched through both replicas at once opens exactly one notice;
- one organisation's rate budget holds across the replicas (within 10 %);
- ``kill -9`` of one replica under load: every request answered 200 has its notice, HAProxy routes
  around the dead one, and no 5xx once its health check noticed.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from accounts import create_organisation, issue_key
from db import make_engine, make_session_factory, upgrade
from db.clock import SystemClock
from db.models import Notice
from indexer.publishing import publish
from indexer.store import IndexStore
from tests.listdata import codes, load, new_list, plain
from tests.postgres import PostgresServer, PostgresUnavailable
from tests.s3 import S3Server

RATE = 50
"""Hashes per second of every organisation in this cluster (small, to measure the shared budget)."""
POLL = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


HAPROXY = """global
  maxconn 512
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
frontend api
  bind 127.0.0.1:{front}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 200ms fall 2 rise 2
  server r1 127.0.0.1:{one} check
  server r2 127.0.0.1:{two} check
"""


@dataclass
class Cluster:
    engine: Engine
    store: IndexStore
    publisher: Path
    list_id: int
    listed: list[str]
    replicas: dict[str, str]
    front: str
    processes: dict[str, "subprocess.Popen[bytes]"] = field(default_factory=dict)
    hosters: Iterator[int] = field(default_factory=lambda: iter(range(1, 1000)))

    def key(self) -> str:
        """The key of a new hoster organisation (its own rate budget)."""
        now = SystemClock().now()
        with make_session_factory(self.engine).begin() as session:
            org = create_organisation(session, f"Hoster {next(self.hosters)}", "hoster", now)
            return issue_key(session, org, "replica test", now).secret

    def ready(self, url: str) -> dict[str, object]:
        answer = httpx.get(f"{url}/readyz", timeout=5)
        body: dict[str, object] = answer.json()
        return body if answer.status_code == 200 else {}


def match(url: str, key: str, ref: str, md5: str) -> httpx.Response:
    item = {"type": "md5", "hash": md5, "ref": ref}
    return httpx.post(
        f"{url}/v1/match", json={"items": [item]}, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def wait_until(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresServer | PostgresUnavailable,
    s3: S3Server,
    redis: object,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    if isinstance(postgres, PostgresUnavailable):
        pytest.skip(f"PostgreSQL run skipped: {postgres}")
    if not isinstance(redis, str):
        pytest.skip(f"Redis run skipped: {redis}")
    if shutil.which("haproxy") is None:
        pytest.skip("HAProxy is not installed (scripts/ensure-services installs it)")
    root = tmp_path_factory.mktemp("replicas")
    url = postgres.fresh_database()
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    store = IndexStore(s3.fresh_store(), s3.endpoint_url)
    listed = codes(400, 21, 16)
    list_id = new_list(sessions)
    load(sessions, list_id, plain("md5", listed))
    publish(sessions, root / "publisher" / "indexes", store=store)
    ports = {"r1": free_port(), "r2": free_port()}
    front = free_port()
    environment = {
        **os.environ,
        "HASHMATCH_DATABASE_URL": url,
        "HASHMATCH_INDEX_STORE": store.url,
        "HASHMATCH_S3_ENDPOINT_URL": s3.endpoint_url,
        "HASHMATCH_REDIS_URL": redis,
        "HASHMATCH_INDEX_POLL_SECONDS": str(POLL),
        "HASHMATCH_TICK_SECONDS": "0",
        "HASHMATCH_RATE_HASHES_PER_SECOND": str(RATE),
        "HASHMATCH_RATE_BURST_HASHES": str(RATE),
        "HASHMATCH_MAX_ITEMS": str(RATE),
    }
    found = Cluster(
        engine,
        store,
        root / "publisher" / "indexes",
        list_id,
        [bytes(row).hex() for row in listed],
        {name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
        f"http://127.0.0.1:{front}",
    )
    try:
        for name, port in ports.items():
            command = [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", "2"]
            env = {**environment, "HASHMATCH_DATA_DIR": str(root / name)}
            found.processes[name] = subprocess.Popen(command, env=env, start_new_session=True)
        config = root / "haproxy.cfg"
        config.write_text(HAPROXY.format(front=front, one=ports["r1"], two=ports["r2"]))
        found.processes["haproxy"] = subprocess.Popen(
            ["haproxy", "-f", str(config), "-db"], start_new_session=True
        )
        for name, replica in found.replicas.items():
            wait_until(lambda replica=replica: _answers(found, replica), 120, f"{name} never became ready")
        yield found
    finally:
        for process in found.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        engine.dispose()


def _answers(cluster: Cluster, url: str) -> bool:
    try:
        return bool(cluster.ready(url))
    except httpx.TransportError:
        return False


def test_one_publish_is_served_by_both_replicas_within_the_poll_interval(cluster: Cluster) -> None:
    sessions = make_session_factory(cluster.engine)
    load(sessions, cluster.list_id, plain("md5", codes(50, 22, 16)), mode="delta")
    version = publish(sessions, cluster.publisher, store=cluster.store).version
    published = time.monotonic()
    for url in cluster.replicas.values():
        wait_until(lambda url=url: cluster.ready(url).get("index_version") == version, 30, "not served")
    assert time.monotonic() - published < 30
    key = cluster.key()
    for url in cluster.replicas.values():  # the new entries match through both
        answer = match(url, key, f"new-{url}", bytes(codes(50, 22, 16)[0]).hex())
        assert answer.json()["results"][0]["matched"] is True


def test_the_same_ref_through_both_replicas_at_once_opens_one_notice(cluster: Cluster) -> None:
    key = cluster.key()
    urls = list(cluster.replicas.values()) * 5
    with ThreadPoolExecutor(len(urls)) as pool:
        answers = list(pool.map(lambda url: match(url, key, "s3://up/same.jpg", cluster.listed[0]), urls))
    assert {answer.status_code for answer in answers} == {200}
    ids = {answer.json()["results"][0]["notice_id"] for answer in answers}
    assert len(ids) == 1
    with make_session_factory(cluster.engine)() as session:
        assert (
            session.scalar(select(func.count()).select_from(Notice).where(Notice.ref == "s3://up/same.jpg"))
            == 1
        )


def test_one_organisation_s_budget_holds_across_the_replicas(cluster: Cluster) -> None:
    key = cluster.key()
    granted = 0
    lock = threading.Lock()
    started = time.monotonic()
    seconds = 3.0

    def send(url: str) -> None:
        nonlocal granted
        with httpx.Client(timeout=30) as client:
            while time.monotonic() - started < seconds:
                item = {"type": "md5", "hash": "ab" * 16, "ref": "r"}
                answer = client.post(
                    f"{url}/v1/match", json={"items": [item]}, headers={"Authorization": f"Bearer {key}"}
                )
                assert answer.status_code in (200, 429), answer.text
                if answer.status_code == 200:
                    with lock:
                        granted += 1

    threads = [
        threading.Thread(target=send, args=(url,)) for url in cluster.replicas.values() for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    allowed = RATE + RATE * elapsed  # the burst, then the rate: one budget, whichever replica answers
    assert granted <= allowed * 1.1
    assert granted >= RATE * (1 + seconds) * 0.9


def test_a_replica_killed_under_load_loses_no_notice_and_haproxy_routes_around_it(cluster: Cluster) -> None:
    key = cluster.key()
    answered: list[tuple[float, str, int, str | None]] = []
    lock = threading.Lock()
    stop = time.monotonic() + 6
    counter = iter(range(10**6))

    def send() -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop:
                n = next(counter)
                ref = f"s3://up/load/{n}.jpg"
                item = {"type": "md5", "hash": cluster.listed[n % len(cluster.listed)], "ref": ref}
                at = time.monotonic()
                body, auth = {"items": [item]}, {"Authorization": f"Bearer {key}"}
                try:
                    answer = client.post(f"{cluster.front}/v1/match", json=body, headers=auth)
                except httpx.TransportError:  # the connection of a request in flight at the kill
                    with lock:
                        answered.append((at, ref, 0, None))
                    continue
                notice = answer.json()["results"][0]["notice_id"] if answer.status_code == 200 else None
                with lock:
                    answered.append((at, ref, answer.status_code, notice))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    killed = time.monotonic()
    os.killpg(cluster.processes["r2"].pid, signal.SIGKILL)
    for thread in threads:
        thread.join()
    ok = [(ref, notice) for _, ref, status, notice in answered if status == 200]
    assert ok, "nothing was answered"
    with make_session_factory(cluster.engine)() as session:
        stored = dict(
            session.execute(
                select(Notice.ref, Notice.public_id).where(Notice.ref.like("s3://up/load/%"))
            ).all()
        )
    assert all(stored.get(ref) == notice for ref, notice in ok)  # every answered notice is durable
    late = [status for at, _, status, _ in answered if at > killed + 2]
    assert late, "no request after the health check noticed"
    assert set(late) <= {200, 429}, late  # no 5xx, no dropped connection once the check noticed
