"""Who may call what: keys (401), roles on every route (403), rate limits (429)."""

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from accounts import revoke_key
from api.app import create_app
from db import make_session_factory
from db.models import ROLES
from tests.api.support import World, make_settings

PUBLIC = "public"
ALL = frozenset(ROLES)
EXPECTED: dict[tuple[str, str], frozenset[str] | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): frozenset({"admin"}),
    ("GET", "/v1/me"): ALL,
    ("POST", "/v1/match"): frozenset({"hoster", "hotline", "admin"}),
    ("POST", "/v1/match/stream"): frozenset({"hoster", "hotline", "admin"}),
    ("GET", "/v1/audit/verify"): frozenset({"authority", "admin"}),
    ("GET", "/v1/audit"): frozenset({"authority", "admin"}),
    ("GET", "/v1/notices"): ALL,
    ("GET", "/v1/notices/{notice_id}"): ALL,
    ("POST", "/v1/notices/{notice_id}/removed"): frozenset({"hoster"}),
    ("POST", "/v1/notices/{notice_id}/dispute"): frozenset({"hoster"}),
    ("POST", "/v1/notices/{notice_id}/resolve"): frozenset({"hotline", "admin"}),
    ("POST", "/v1/notices/{notice_id}/escalate"): frozenset({"authority"}),
    ("POST", "/v1/notices/{notice_id}/confirm"): frozenset({"hotline", "admin"}),
    ("POST", "/v1/notices/{notice_id}/dismiss"): frozenset({"hotline", "admin"}),
    ("POST", "/v1/webhooks"): frozenset({"hoster", "hotline"}),
    ("GET", "/v1/webhooks"): frozenset({"hoster", "hotline"}),
    ("DELETE", "/v1/webhooks/{webhook_id}"): frozenset({"hoster", "hotline"}),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): frozenset({"hoster", "hotline"}),
    ("GET", "/v1/probing/escalations"): frozenset({"hotline", "admin"}),
    ("GET", "/v1/reports/compliance"): frozenset({"authority", "admin"}),
    ("GET", "/v1/reports/compliance.csv"): frozenset({"authority", "admin"}),
    ("GET", "/v1/lists"): frozenset({"hotline"}),
    ("GET", "/v1/lists/{name}/versions"): frozenset({"hotline"}),
    ("POST", "/v1/lists/{name}/imports"): frozenset({"hotline"}),
    ("POST", "/v1/lists/{name}/retractions"): frozenset({"hotline"}),
    ("POST", "/v1/lists/publish"): frozenset({"hotline", "admin"}),
}
BODIES: dict[str, dict[str, object]] = {
    "removed": {},
    "dispute": {"reason": "stock photo"},
    "resolve": {"outcome": "upheld", "reason": "confirmed"},
    "escalate": {"hours": 2, "reason": "order 1"},
    "retractions": {"entries": [999999], "reason": "false positive"},
    "publish": {},
    "confirm": {},
    "dismiss": {"reason": "another picture"},
}
KEY_OF_ROLE = {"hoster": "hoster", "hotline": "hotline", "authority": "authority", "admin": "admin"}


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    if path == "/v1/match":
        items = {"items": [{"type": "md5", "hash": "00" * 16, "ref": "r"}]}
        return int(client.request(method, path, json=items, headers=headers).status_code)
    if path == "/v1/match/stream":
        line = b'{"type": "md5", "hash": "' + b"00" * 16 + b'", "ref": "r"}\n'
        headers = {**headers, "Content-Type": "application/x-ndjson"}
        return int(client.request(method, path, content=line, headers=headers).status_code)
    path = path.replace("{notice_id}", "ntc_nosuchnotice").replace("{webhook_id}", "999999")
    path = path.replace("{name}", "eokm-main")
    if path.endswith("/imports"):
        headers = {**headers, "Content-Type": "text/csv"}
        return int(
            client.post(
                path + "?mode=delta&dry_run=true", content=b"type,hash\n", headers=headers
            ).status_code
        )
    if path.startswith("/v1/reports/"):
        path += "?from=2026-11-01&to=2026-12-01"
    if path == "/v1/webhooks" and method == "POST":
        return int(client.post(path, json={"url": "https://hooks.example/x"}, headers=headers).status_code)
    if method == "POST":
        body = BODIES[path.rsplit("/", 1)[1]]
        return int(client.request(method, path, json=body, headers=headers).status_code)
    return int(client.request(method, path, headers=headers).status_code)


def test_every_route_is_in_the_table_and_admits_exactly_its_roles(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    routes = {(method.upper(), path) for path, operations in paths.items() for method in operations}
    assert routes == set(EXPECTED)
    for (method, path), allowed in EXPECTED.items():
        if allowed == PUBLIC:
            assert _call(world.client, method, path, {}) in (200, 503), path
            continue
        assert _call(world.client, method, path, {}) == 401, path
        for role, who in KEY_OF_ROLE.items():
            status = _call(world.client, method, path, world.auth(who))
            if role in allowed:
                assert status not in (401, 403), (method, path, role, status)
            else:
                assert status == 403, (method, path, role, status)


def test_missing_malformed_unknown_and_revoked_keys_get_401(world: World) -> None:
    match = {"items": [{"type": "md5", "hash": "00" * 16, "ref": "r"}]}
    key = world.keys["hoster"]
    for headers in ({}, {"Authorization": key}, {"Authorization": "Bearer nonsense"},
                    {"Authorization": "Bearer " + key[:-4] + "aaaa"}):  # fmt: skip
        answer = world.client.post("/v1/match", json=match, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert set(answer.json()) == {"detail"}
    assert world.client.get("/v1/me", headers=world.auth("hoster")).json()["role"] == "hoster"
    with make_session_factory(world.engine).begin() as session:
        revoke_key(session, key.split("_")[1], world.clock.now())
    assert world.client.post("/v1/match", json=match, headers=world.auth("hoster")).status_code == 401


def test_an_organisation_over_its_rate_gets_429_with_retry_after_and_recovers_in_time(
    world: World, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path, rate_burst_hashes=3, rate_hashes_per_second=0.5, max_items=3
    )
    app = create_app(settings, clock=world.clock, watcher=world.client.app.state.services.watcher)  # type: ignore[attr-defined]
    with TestClient(app) as client:
        me = [client.get("/v1/me", headers=world.auth("hoster")).status_code for _ in range(4)]
        assert me == [200, 200, 200, 429]
        limited = client.get("/v1/me", headers=world.auth("hoster"))
        assert limited.headers["Retry-After"] == "2"
        assert "rate limit" in limited.json()["detail"]
        assert client.get("/v1/me", headers=world.auth("hoster2")).status_code == 200  # per organisation
        world.clock.advance(timedelta(seconds=2))
        assert client.get("/v1/me", headers=world.auth("hoster")).status_code == 200


@pytest.mark.parametrize("path", ["/v1/nothing-here", "/v1/match"])
def test_unknown_routes_and_methods_answer_in_the_error_shape(world: World, path: str) -> None:
    answer = world.client.get(path)
    assert answer.status_code in (404, 405)
    assert set(answer.json()) == {"detail"}
