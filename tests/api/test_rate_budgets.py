"""Rate budgets through the real app: counted in hashes, one per organisation, shared by app instances,
kept across restarts; a stream is paced, not broken, and has an item limit."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from accounts import issue_key
from api.app import create_app
from db import make_session_factory
from db.clock import Clock, SystemClock
from db.models import Organisation, RateBudget
from tests.api.support import World, make_settings

NDJSON = {"Content-Type": "application/x-ndjson"}


@contextmanager
def app_of(
    world: World, database_url: str, data_dir: Path, limits: dict[str, object], clock: Clock | None = None
) -> Iterator[TestClient]:
    """Another app instance (a worker, a replica, a restart) on the world's database and index."""
    watcher = world.client.app.state.services.watcher  # type: ignore[attr-defined]
    app = create_app(
        make_settings(database_url, data_dir, **limits), clock=clock or world.clock, watcher=watcher
    )
    with TestClient(app) as client:
        yield client


def _items(count: int, ref: str = "f") -> list[dict[str, str]]:
    return [{"type": "md5", "hash": f"{n:032x}", "ref": f"{ref}{n}"} for n in range(count)]


def _match(client: TestClient, world: World, who: str, count: int) -> tuple[int, dict[str, str], object]:
    answer = client.post("/v1/match", json={"items": _items(count)}, headers=world.auth(who))
    return answer.status_code, dict(answer.headers), answer.json()


def test_a_batch_costs_its_items_and_over_budget_gets_429_with_retry_after(
    world: World, database_url: str, tmp_path: Path
) -> None:
    limits: dict[str, object] = {"rate_hashes_per_second": 1, "rate_burst_hashes": 15, "max_items": 10}
    with app_of(world, database_url, tmp_path, limits) as client:
        assert _match(client, world, "hoster", 10)[0] == 200
        status, headers, body = _match(client, world, "hoster", 10)
        assert status == 429
        assert headers["retry-after"] == "5"  # 11 of 15 spent, 20 needed, 1 a second
        assert body == {"detail": "rate limit exceeded for this organisation (counted in hashes, over all "
                                  "its keys): retry in 5 s"}  # fmt: skip
        assert _match(client, world, "hoster", 1)[0] == 200  # one hash still fits


def test_the_keys_of_one_organisation_share_its_budget(
    world: World, database_url: str, tmp_path: Path
) -> None:
    with make_session_factory(world.engine).begin() as session:
        hosting = session.query(Organisation).filter_by(name="Example Hosting").one()
        world.keys["hoster-second-key"] = issue_key(session, hosting, "second", world.clock.now()).secret
    limits: dict[str, object] = {"rate_hashes_per_second": 1, "rate_burst_hashes": 10, "max_items": 10}
    with app_of(world, database_url, tmp_path, limits) as client:
        assert _match(client, world, "hoster", 10)[0] == 200
        assert _match(client, world, "hoster-second-key", 1)[0] == 429
        assert _match(client, world, "hoster2", 10)[0] == 200  # another organisation


def test_app_instances_and_a_restart_share_one_budget(
    world: World, database_url: str, tmp_path: Path
) -> None:
    limits: dict[str, object] = {"rate_hashes_per_second": 1, "rate_burst_hashes": 10, "max_items": 10}
    with (
        app_of(world, database_url, tmp_path, limits) as one,
        app_of(world, database_url, tmp_path, limits) as two,
    ):
        assert _match(one, world, "hoster", 6)[0] == 200
        assert _match(two, world, "hoster", 6)[0] == 429  # 6 + 6 > 10
        assert _match(two, world, "hoster", 3)[0] == 200  # the refused call cost its one
    with app_of(world, database_url, tmp_path, limits) as restarted:
        assert _match(restarted, world, "hoster", 1)[0] == 429


def test_a_stream_over_budget_is_paced_not_broken(world: World, database_url: str, tmp_path: Path) -> None:
    """2,500 items with a burst of 1,000 at 2,000 a second: the last 1,500 wait 0.75 s in all."""
    limits: dict[str, object] = {"rate_hashes_per_second": 2000, "rate_burst_hashes": 1000, "max_items": 1000,
              "stream_chunk_items": 400}  # fmt: skip
    body = b"".join(json.dumps(item).encode() + b"\n" for item in _items(2500))
    with app_of(world, database_url, tmp_path, limits, SystemClock()) as client:
        started, started_ns = time.monotonic(), time.time_ns()
        answer = client.post("/v1/match/stream", content=body, headers={**world.auth("hoster"), **NDJSON})
        elapsed = time.monotonic() - started
    with make_session_factory(world.engine)() as session:
        hosting = session.query(Organisation).filter_by(name="Example Hosting").one()
        spent_until = session.get_one(RateBudget, f"org:{hosting.id}").tat_ns
    assert spent_until >= started_ns + 2500 * 500_000  # every item paid for, at 0.5 ms each
    assert answer.status_code == 200
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert lines[-1]["counts"] == {"items": 2500, "refs": 2500, "matched": 0, "refused": 0}
    assert len(lines) == 2501
    assert elapsed >= 0.7  # paced by the budget (a lower bound: it cannot go faster)


def test_a_stream_over_its_item_limit_says_so_inline_at_the_end(
    world: World, database_url: str, tmp_path: Path
) -> None:
    body = b"".join(json.dumps(item).encode() + b"\n" for item in _items(8))
    with app_of(world, database_url, tmp_path, {"max_stream_items": 5}) as client:
        answer = client.post("/v1/match/stream", content=body, headers={**world.auth("hoster"), **NDJSON})
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert [line["ref"] for line in lines[:5]] == ["f0", "f1", "f2", "f3", "f4"]
    assert lines[5]["line"] == 6
    assert "more than 5 items in one stream: this line and the rest were not matched" in lines[5]["reason"]
    assert lines[6]["counts"] == {"items": 5, "refs": 5, "matched": 0, "refused": 1}
