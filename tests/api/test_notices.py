"""Notices over HTTP: role-filtered views, the lifecycle routes, paging and filters, all audited."""

import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update

import audit
from api.app import create_app
from api.deps import Services
from db import make_session_factory
from db.models import AuditRecord
from tests.api.support import World, flip, make_settings


def _open_notices(world: World) -> tuple[str, str]:
    h = world.hashes
    results = world.match(
        "hoster",
        [
            {"type": "md5", "hash": h["img1.md5"], "ref": "a.jpg"},
            {"type": "pdq", "hash": flip(h["iwf.pdq"], 4), "ref": "b.jpg"},
        ],
    ).json()["results"]
    return results[0]["notice_id"], results[1]["notice_id"]


def test_each_role_sees_the_notices_it_may_and_hosters_never_see_matches(world: World) -> None:
    eokm, iwf = _open_notices(world)
    get = world.client.get
    mine = get("/v1/notices", headers=world.auth("hoster")).json()
    assert [n["id"] for n in mine["items"]] == [iwf, eokm]  # newest first
    assert all("matches" not in n for n in mine["items"])
    assert get("/v1/notices", headers=world.auth("hoster2")).json()["items"] == []
    assert get(f"/v1/notices/{eokm}", headers=world.auth("hoster2")).status_code == 404
    hotline = get("/v1/notices", headers=world.auth("hotline")).json()["items"]
    assert [n["id"] for n in hotline] == [eokm]
    assert hotline[0]["matches"][0]["distance"] == 0
    authority = get(f"/v1/notices/{iwf}", headers=world.auth("authority")).json()
    assert authority["matches"][0]["distance"] == 4
    assert authority["lists"] == ["iwf-hashes"]
    assert authority["history"][0]["action"] == "created"
    one = get(f"/v1/notices/{eokm}", headers=world.auth("hoster")).json()
    assert (one["ref"], one["status"], one["legal_basis"]) == (
        "a.jpg",
        "open",
        "Art. 240b Wetboek van Strafrecht",
    )
    first = get("/v1/notices?limit=1", headers=world.auth("authority")).json()
    second = get(f"/v1/notices?limit=1&cursor={first['next_cursor']}", headers=world.auth("authority")).json()
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [iwf, eokm]
    assert second["next_cursor"] is None
    bad = get("/v1/notices?status=lost", headers=world.auth("authority"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "status"


def test_dispute_resolve_remove_and_escalate_through_the_api(world: World) -> None:
    eokm, iwf = _open_notices(world)
    post, auth = world.client.post, world.auth
    disputed = post(f"/v1/notices/{eokm}/dispute", json={"reason": "a stock photo"}, headers=auth("hoster"))
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["status"] == "disputed"
    assert post(f"/v1/notices/{eokm}/removed", json={}, headers=auth("hoster2")).status_code == 404
    not_theirs = post(
        f"/v1/notices/{eokm}/resolve", json={"outcome": "upheld", "reason": "x"}, headers=auth("hotline2")
    )
    assert not_theirs.status_code in (403, 404)
    upheld = post(
        f"/v1/notices/{eokm}/resolve", json={"outcome": "upheld", "reason": "listed"}, headers=auth("hotline")
    )
    assert upheld.json()["status"] == "open"
    world.clock.advance(timedelta(hours=2))
    removed = post(f"/v1/notices/{eokm}/removed", json={}, headers=auth("hoster")).json()
    assert removed["status"] == "removed"
    assert [(e["action"], e["actor"]) for e in removed["history"]] == [
        ("created", "Example Hosting"),  # by its match call
        ("disputed", "Example Hosting"),
        ("upheld", "EOKM"),
        ("removed", "Example Hosting"),
    ]
    again = post(f"/v1/notices/{eokm}/removed", json={}, headers=auth("hoster"))
    assert again.status_code == 409
    too_long = post(
        f"/v1/notices/{iwf}/escalate", json={"hours": 13, "reason": "order"}, headers=auth("authority")
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "hours"
    order = post(
        f"/v1/notices/{iwf}/escalate", json={"hours": 1, "reason": "ATKM 7"}, headers=auth("authority")
    ).json()
    assert order["binding_order"] is True
    assert order["deadline"] == (world.clock.now() + timedelta(hours=1)).isoformat()
    world.clock.advance(timedelta(hours=2))
    late = world.client.get("/v1/notices?overdue=true", headers=auth("authority")).json()["items"]
    assert [n["id"] for n in late] == [iwf]
    world.flush_audit()
    with make_session_factory(world.engine)() as session:
        actions = session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()
        assert audit.verify(session).ok
    assert {"notice.disputed", "notice.upheld", "notice.removed", "notice.escalated", "notices.list"} <= set(
        actions
    )


def test_the_authority_reads_and_verifies_the_audit_chain_over_http(world: World) -> None:
    _open_notices(world)
    auth = world.auth("authority")
    first = world.client.get("/v1/audit?limit=1", headers=auth).json()
    assert first["records"][0]["action"] == "match"
    assert first["records"][0]["prev_digest"] == "0" * 64
    world.flush_audit()
    rest = world.client.get(f"/v1/audit?after={first['next_after']}", headers=auth).json()
    assert rest["records"][0]["prev_digest"] == first["records"][0]["digest"]
    assert world.client.get("/v1/audit/verify", headers=auth).json()["ok"] is True
    with make_session_factory(world.engine).begin() as session:
        session.execute(
            update(AuditRecord).where(AuditRecord.id == first["records"][0]["id"]).values(key_id=None)
        )
    broken = world.client.get("/v1/audit/verify", headers=auth).json()
    assert (broken["ok"], broken["broken_id"]) == (False, first["records"][0]["id"])


def test_webhooks_are_registered_listed_and_disabled_by_their_owner_only(world: World) -> None:
    post, get, auth = world.client.post, world.client.get, world.auth
    created = post(
        "/v1/webhooks", json={"url": "https://hooks.example-hosting.net/h"}, headers=auth("hoster")
    )
    assert created.status_code == 201
    hook = created.json()
    assert hook["secret"].startswith("whsec_")
    listed = get("/v1/webhooks", headers=auth("hoster")).json()
    assert listed == [{k: v for k, v in hook.items() if k != "secret"}]
    assert get("/v1/webhooks", headers=auth("hoster2")).json() == []
    assert world.client.delete(f"/v1/webhooks/{hook['id']}", headers=auth("hoster2")).status_code == 404
    assert get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth("hoster")).json() == []
    disabled = world.client.delete(f"/v1/webhooks/{hook['id']}", headers=auth("hoster")).json()
    assert disabled["disabled_at"] == world.clock.now().isoformat()
    bad = post("/v1/webhooks", json={"url": "ftp://x"}, headers=auth("hotline"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "url"


def test_webhooks_reaching_inside_are_refused_naming_why_never_the_address(world: World) -> None:
    for url, why in (
        ("https://169.254.169.254/latest/meta-data/", "resolves to a link-local address"),
        ("https://2130706433/", "resolves to a loopback address"),
        ("https://localhost/", "resolves to a loopback address"),
        ("http://hooks.example-hosting.net/h", "plain http is not allowed: expected an https URL"),
    ):
        refused = world.client.post("/v1/webhooks", json={"url": url}, headers=world.auth("hoster"))
        assert refused.status_code == 422, url
        assert refused.json()["errors"] == [{"index": None, "field": "url", "reason": why}]
        assert "127.0.0.1" not in refused.text
    assert world.client.get("/v1/webhooks", headers=world.auth("hoster")).json() == []


def test_the_authority_reads_compliance_as_json_and_csv(world: World) -> None:
    eokm, _ = _open_notices(world)
    world.clock.advance(timedelta(hours=3))
    world.client.post(f"/v1/notices/{eokm}/removed", json={}, headers=world.auth("hoster"))
    period = "start=2026-11-01T00:00:00Z&end=2026-12-01T00:00:00Z"
    report = world.client.get(f"/v1/reports/compliance?{period}", headers=world.auth("authority")).json()
    (row,) = report["rows"]
    assert (row["group"], row["notices"], row["removed"], row["open"]) == ("Example Hosting", 2, 1, 1)
    assert row["removed_within_deadline_share"] == 1.0
    assert row["median_hours_to_removal"] == 3.0
    by_list = world.client.get(f"/v1/reports/compliance?{period}&group_by=list", headers=world.auth("admin"))
    assert [r["group"] for r in by_list.json()["rows"]] == ["EOKM/eokm-main", "IWF/iwf-hashes"]
    csv = world.client.get(f"/v1/reports/compliance.csv?{period}", headers=world.auth("authority"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("group,notices,open")
    assert csv.text.splitlines()[1].startswith("Example Hosting,2,1,")
    backwards = world.client.get(
        "/v1/reports/compliance?start=2026-12-01T00:00:00Z&end=2026-11-01T00:00:00Z",
        headers=world.auth("authority"),
    )
    assert backwards.status_code == 422


def test_the_report_period_takes_dates_as_the_cli_does_and_the_old_names_still_work(world: World) -> None:
    _open_notices(world)
    auth = world.auth("authority")
    by_dates = world.client.get("/v1/reports/compliance?from=2026-11-23&to=2026-11-24", headers=auth)
    assert by_dates.status_code == 200, by_dates.text
    assert (by_dates.json()["start"], by_dates.json()["end"]) == (
        "2026-11-23T00:00:00+00:00",
        "2026-11-24T00:00:00+00:00",
    )
    assert by_dates.json()["rows"][0]["notices"] == 2
    in_zones = world.client.get(
        "/v1/reports/compliance",
        params={"from": "2026-11-23T01:00:00+01:00", "to": "2026-11-24"},
        headers=auth,
    )
    assert in_zones.json() == by_dates.json()
    deprecated = world.client.get("/v1/reports/compliance?start=2026-11-23&end=2026-11-24", headers=auth)
    assert deprecated.json() == by_dates.json()
    csv = world.client.get("/v1/reports/compliance.csv?from=2026-11-23&to=2026-11-24", headers=auth)
    assert (
        csv.headers["content-disposition"]
        == 'attachment; filename="compliance-hoster-2026-11-23-2026-11-24.csv"'
    )
    for query, field, reason in (
        ("from=2026-11-23T09:00:00&to=2026-11-24", "from", "has no time zone: add a UTC offset"),
        ("start=2026-11-23&to=2026-11-24T00:00", "to", "has no time zone"),
        ("to=2026-11-24", "from", "required: the period's first day"),
        ("from=2026-11-23&start=2026-11-23&to=2026-11-24", "from", "give from or its deprecated alias start"),
        ("from=2026-11-23T09:00:00 01:00&to=2026-11-24", "from", "in a URL, write + as %2B"),
    ):
        refused = world.client.get(f"/v1/reports/compliance?{query}", headers=auth)
        assert refused.status_code == 422, query
        (error,) = refused.json()["errors"]
        assert error["field"] == field, query
        assert reason in error["reason"], query
    parameters = world.client.get("/openapi.json").json()["paths"]["/v1/reports/compliance"]["get"][
        "parameters"
    ]
    named = {p["name"]: p for p in parameters}
    assert {"from", "to", "start", "end"} <= set(named)
    assert [bool(named[name].get("deprecated")) for name in ("from", "to", "start", "end")] == [
        False,
        False,
        True,
        True,
    ]


def test_the_server_marks_notices_overdue_by_itself(world: World, database_url: str, tmp_path: Path) -> None:
    eokm, _ = _open_notices(world)
    world.clock.advance(timedelta(hours=25))
    services: Services = world.client.app.state.services  # type: ignore[attr-defined]
    app = create_app(
        make_settings(database_url, tmp_path, tick_seconds=0.05), clock=world.clock, watcher=services.watcher
    )
    with TestClient(app) as client:
        waited = 0.0
        while waited < 20:
            notice = client.get(f"/v1/notices/{eokm}", headers=world.auth("hoster")).json()
            if notice["status"] == "overdue":
                break
            time.sleep(0.05)
            waited += 0.05
    assert notice["status"] == "overdue"
    assert notice["history"][-1]["action"] == "overdue"
