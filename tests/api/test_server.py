"""The API through a real uvicorn process on 127.0.0.1: ``hashmatch serve`` end to end."""

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, select

import audit
from accounts import create_organisation, issue_key
from db import make_engine, make_session_factory, upgrade
from db.clock import ManualClock
from db.models import Notice
from indexer.publishing import publish
from indexer.serving import served_version
from tests.api.support import START, flip, issue_keys, publish_lists, sample_lists
from tests.listdata import codes, load, new_list, plain
from tests.notices.conftest import half_written


def serve(port: int, env: dict[str, str]) -> "subprocess.Popen[bytes]":
    """``hashmatch serve`` in one process on ``port`` (its output piped, for failures to show)."""
    command = [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--workers", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_matches_over_http_and_streams(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hashmatch.db'}"
    engine = make_engine(url)
    upgrade(engine)
    specs, hashes = sample_lists(np.random.default_rng(7))
    publish_lists(engine, tmp_path / "indexes", specs)
    keys = issue_keys(engine, ManualClock(START))
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "HASHMATCH_DATA_DIR": str(tmp_path), "HASHMATCH_DATABASE_URL": ""}
    server = serve(port, env)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {keys['hoster']}"}
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            _wait_ready(client, server)
            items = [
                {"type": "pdq", "hash": flip(hashes["img1.pdq"], 9), "ref": "https://cdn.example/a.jpg"},
                {"type": "md5", "hash": hashes["img1.md5"], "ref": "https://cdn.example/a.jpg"},
                {"type": "md5", "hash": "11" * 16, "ref": "https://cdn.example/b.jpg"},
            ]
            answer = client.post("/v1/match", json={"items": items}, headers=auth)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["counts"] == {"items": 3, "refs": 2, "matched": 1}
            assert body["results"][0]["confidence"] == "high"

            def lines() -> Iterator[bytes]:
                for item in items:
                    yield json.dumps(item).encode() + b"\n"

            headers = {**auth, "Content-Type": "application/x-ndjson"}
            with client.stream("POST", "/v1/match/stream", content=lines(), headers=headers) as streamed:
                got = [json.loads(line) for line in streamed.iter_lines() if line]
            assert got[0]["notice_id"] == body["results"][0]["notice_id"]  # the same open notice
            assert got[-1]["counts"] == {"items": 3, "refs": 2, "matched": 1, "refused": 0}
            assert client.post("/v1/match", content=b"\xff\xd8\xff\xe0", headers=auth).status_code == 415
            assert client.get("/v1/me").status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode in (0, -signal.SIGTERM), output  # uvicorn re-raises the signal once shut down
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


def _wait_ready(client: httpx.Client, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[0].decode()
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not become ready within {seconds:.0f} s")


def test_a_served_file_truncated_under_a_running_server_is_swapped_away_without_a_crash(
    tmp_path: Path,
) -> None:
    """Reading cut pages of a memory-mapped file is SIGBUS: the server's next poll notices the size
    change and serves the newest good kept version before any request touches the cut file."""
    url = f"sqlite:///{tmp_path / 'hashmatch.db'}"
    engine = make_engine(url)
    upgrade(engine)
    specs, hashes = sample_lists(np.random.default_rng(7))
    index_dir = tmp_path / "indexes"
    publish_lists(engine, index_dir, specs)
    keys = issue_keys(engine, ManualClock(START))
    engine.dispose()
    version = served_version(index_dir)
    assert version is not None
    shutil.copytree(index_dir / version, index_dir / "older")
    manifest = json.loads((index_dir / "older" / "manifest.json").read_text())
    manifest["published_at"] = "2026-11-01T09:00:00+00:00"
    (index_dir / "older" / "manifest.json").write_text(json.dumps(manifest))
    port = _free_port()
    env = {
        **os.environ,
        "HASHMATCH_DATA_DIR": str(tmp_path),
        "HASHMATCH_DATABASE_URL": "",
        "HASHMATCH_INDEX_POLL_SECONDS": "0.1",
    }
    server = serve(port, env)
    auth = {"Authorization": f"Bearer {keys['hoster']}"}
    item = {"type": "pdq", "hash": hashes["img1.pdq"], "ref": "https://cdn.example/a.jpg"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            _wait_ready(client, server)
            assert client.get("/readyz").json()["index_version"] == version
            os.truncate(index_dir / version / "pdq" / "codes.faiss", 100)
            deadline = time.monotonic() + 30
            while client.get("/readyz").json()["index_version"] != "older":
                assert server.poll() is None, server.communicate()[0].decode()
                assert time.monotonic() < deadline, client.get("/readyz").text
                time.sleep(0.05)
            ready = client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"
            assert f"{version}/pdq/codes.faiss: 100 bytes" in ready.json()["detail"]
            answer = client.post("/v1/match", json={"items": [item]}, headers=auth)
            assert answer.status_code == 200, answer.text
            assert answer.json()["counts"]["matched"] == 1
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output


CLIENTS = 3
BATCH = 1500


def test_kill_9_in_the_middle_of_batches_leaves_only_whole_notices(database_url: str, tmp_path: Path) -> None:
    """A real ``kill -9`` of ``hashmatch serve`` while several hosters' batches each open 1,500
    notices: every notice left in the database has its matches, its ``created`` event and its call's
    audit record; the batches in flight left nothing."""
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    listed = codes(BATCH, 11, 16)
    load(sessions, new_list(sessions), plain("md5", listed))
    publish(sessions, tmp_path / "indexes")
    with sessions.begin() as session:
        hosters = [create_organisation(session, f"hoster {n}", "hoster", START) for n in range(CLIENTS)]
        keys = [issue_key(session, hoster, "batches", START).secret for hoster in hosters]
    port = _free_port()
    env = {
        **os.environ,
        "HASHMATCH_DATA_DIR": str(tmp_path),
        "HASHMATCH_DATABASE_URL": database_url,
        "HASHMATCH_RATE_HASHES_PER_SECOND": "1000000",  # the budget is not what this test is about
        "HASHMATCH_RATE_BURST_HASHES": "1000000",
    }
    server = serve(port, env)
    in_flight = [False] * CLIENTS
    refused: list[str] = []

    def send_batches(client: int) -> None:
        auth = {"Authorization": f"Bearer {keys[client]}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            for batch in itertools.count():
                items = [
                    {"type": "md5", "hash": bytes(code).hex(), "ref": f"https://cdn.example/{batch}/{n}.jpg"}
                    for n, code in enumerate(listed)
                ]
                in_flight[client] = True
                try:
                    answer = http.post("/v1/match", json={"items": items}, headers=auth)
                except httpx.TransportError:
                    return  # the server is gone
                in_flight[client] = False
                if answer.status_code != 200:
                    refused.append(answer.text)

    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as probe:
            _wait_ready(probe, server)
        clients = [threading.Thread(target=send_batches, args=(n,)) for n in range(CLIENTS)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 120
        with sessions() as session:
            while not session.scalar(select(func.count()).select_from(Notice)):
                assert time.monotonic() < deadline
                assert server.poll() is None
                session.rollback()
                time.sleep(0.02)
        caught = list(in_flight)
        server.send_signal(signal.SIGKILL)
        for thread in clients:
            thread.join()
    finally:
        server.kill()
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode == -signal.SIGKILL, output
    assert "Traceback" not in output

    assert refused == []
    assert any(caught)  # the kill came in the middle of a batch
    with sessions() as session:
        notices = session.scalar(select(func.count()).select_from(Notice))
        assert half_written(session) == []
        calls = audit.records(session, limit=1_000_000, action="match")
        assert sum(record.detail["notices_created"] for record in calls) == notices
        assert notices == BATCH * len(calls)
        assert audit.verify(session).ok
    engine.dispose()
