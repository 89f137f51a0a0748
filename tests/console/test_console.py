"""The console's routes through the real app: sign-in and sessions, CSRF, what each role sees and may do
(the API's rules), and the actions' results."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from accounts import revoke_key
from db import make_session_factory
from db.models import AuditRecord, ConsoleSession, Notice, Organisation, Standing
from notices.compliance import compliance_report, to_csv
from tests.api.support import World
from tests.console.support import browser, csrf_of, open_notices, signed_in

NOTICES, WEBHOOKS, COMPLIANCE, CSV = (
    "/console/notices",
    "/console/webhooks",
    "/console/compliance",
    "/console/compliance.csv",
)
LISTS, DISPUTES, ORGANISATIONS = "/console/lists", "/console/disputes", "/console/organisations"
PAGES = (NOTICES, WEBHOOKS, COMPLIANCE, CSV, LISTS, DISPUTES, ORGANISATIONS)
ALLOWED = {
    "hoster": {NOTICES, WEBHOOKS},
    "hotline": {NOTICES, WEBHOOKS, LISTS, DISPUTES},
    "authority": {NOTICES, COMPLIANCE, CSV},
    "admin": {NOTICES, COMPLIANCE, CSV, DISPUTES, ORGANISATIONS},
}
"""Who opens which page: the API's rules (webhook receivers, compliance readers, the lifecycle's deciders of
disputes, list owners, the operator)."""


def test_a_key_opens_a_session_whose_cookie_is_strict_and_whose_token_is_stored_only_as_a_hash(
    world: World,
) -> None:
    client, csrf = signed_in(world, "hoster")
    cookie = next(c for c in client.cookies.jar if c.name == "hashmatch_console")
    assert cookie.secure
    assert cookie.path == "/console"
    sessions = make_session_factory(world.engine)
    with sessions() as session:
        stored = session.scalars(select(ConsoleSession.digest)).all()
    assert len(stored) == 1
    assert cookie.value not in stored[0]
    assert len(stored[0]) == 64
    header = client.post("/console/sign-in", data={"key": world.keys["hoster"], "csrf": "x"}).headers
    assert "set-cookie" not in header or "hashmatch_console=" not in header["set-cookie"]
    answer = browser(world)
    form = answer.get("/console/sign-in")
    signed = answer.post("/console/sign-in", data={"key": world.keys["hoster"], "csrf": csrf_of(form)})
    flags = signed.headers["set-cookie"].lower()
    assert form.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in form.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    assert "http" not in form.text  # every asset from this server
    assert client.get("/console/static/console.css").status_code == 200
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "secure" in flags
    out = client.post("/console/sign-out", data={"csrf": csrf})
    assert out.status_code == 303
    assert out.headers["location"].endswith("why=signed-out")
    assert client.get("/console/notices").headers["location"].startswith("/console/sign-in?why=sign-in")
    with sessions() as session:
        assert len(session.scalars(select(ConsoleSession)).all()) == 1  # the other browser's


def test_on_localhost_the_cookie_is_not_secure_so_plain_http_works(world: World) -> None:
    client = TestClient(world.client.app, base_url="http://localhost:8000", follow_redirects=False)
    form = client.get("/console/sign-in")
    signed = client.post("/console/sign-in", data={"key": world.keys["hoster"], "csrf": csrf_of(form)})
    assert "secure" not in signed.headers["set-cookie"].lower()
    assert "plain HTTP" not in form.text
    remote = TestClient(world.client.app, base_url="http://console.example")
    assert "browsers keep the console" in remote.get("/console/sign-in").text
    assert client.get("/console/notices").status_code == 200


def test_a_wrong_key_or_a_stale_sign_in_form_is_refused_with_a_readable_page(world: World) -> None:
    client = browser(world)
    form = client.get("/console/sign-in")
    wrong = client.post("/console/sign-in", data={"key": "hm_nope", "csrf": csrf_of(form)})
    assert wrong.status_code == 401
    assert "malformed API key" in wrong.text
    revoked = world.keys["hoster2"]
    with make_session_factory(world.engine).begin() as session:
        revoke_key(session, revoked.split("_")[1], world.clock.now())
    form = client.get("/console/sign-in")
    refused = client.post("/console/sign-in", data={"key": revoked, "csrf": csrf_of(form)})
    assert refused.status_code == 401
    assert "unknown or revoked" in refused.text
    stale = client.post("/console/sign-in", data={"key": world.keys["hoster"], "csrf": "forged"})
    assert stale.status_code == 403
    assert "stale" in stale.text
    assert "hashmatch_console=" not in stale.headers.get("set-cookie", "")


def test_each_role_opens_only_its_pages(world: World) -> None:
    for who, allowed in ALLOWED.items():
        client, _ = signed_in(world, who)
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == (200 if path in allowed else 403), (who, path, answer.text[:300])
            if path not in allowed:
                assert f"not for a {who}" in answer.text
        nav = client.get("/console/notices").text
        assert ('href="/console/compliance"' in nav) == ("/console/compliance" in allowed)


def test_a_hoster_sees_its_own_notices_without_list_data_and_never_another_hosters(world: World) -> None:
    eokm, iwf, others = open_notices(world)
    client, _ = signed_in(world, "hoster")
    inbox = client.get("/console/notices").text
    assert eokm in inbox
    assert iwf in inbox
    assert others not in inbox
    assert client.get(f"/console/notices/{others}").status_code == 404
    detail = client.get(f"/console/notices/{iwf}")
    assert detail.status_code == 200
    assert "https://cdn.example/b.jpg" in detail.text
    for secret in (world.hashes["iwf.pdq"], world.hashes["img1.md5"], "Distance", "x2"):
        assert secret not in detail.text
        assert secret not in inbox
    hotline, _ = signed_in(world, "hotline")
    seen = hotline.get(f"/console/notices/{eokm}").text
    assert world.hashes["img1.md5"] in seen
    assert "Distance" in seen
    assert hotline.get(f"/console/notices/{iwf}").status_code == 404  # rests on IWF's list only


def test_the_hoster_confirms_a_removal_and_disputes_through_the_lifecycle_and_both_are_audited(
    world: World,
) -> None:
    eokm, iwf, others = open_notices(world)
    client, csrf = signed_in(world, "hoster")
    done = client.post(f"/console/notices/{eokm}/removed", data={"csrf": csrf, "note": "gone"})
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert "removal confirmed (now removed)" in page
    assert 'id="status">removed' in page
    empty = client.post(f"/console/notices/{iwf}/dispute", data={"csrf": csrf, "reason": "  "})
    page = client.get(empty.headers["location"]).text
    assert "reason: required" in page
    assert 'id="status">open' in page
    client.post(f"/console/notices/{iwf}/dispute", data={"csrf": csrf, "reason": "a holiday photo"})
    assert "(now disputed)" in client.get(f"/console/notices/{iwf}").text
    assert client.post(f"/console/notices/{others}/removed", data={"csrf": csrf}).status_code == 303
    assert "no notice" in client.get("/console/notices").text  # another hoster's: not found, nothing done
    with make_session_factory(world.engine)() as session:
        statuses = dict(session.execute(select(Notice.public_id, Notice.status)).all())
        actions = session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("notice.%"))).all()
    assert statuses == {eokm: "removed", iwf: "disputed", others: "open"}
    assert sorted(actions) == ["notice.disputed", "notice.removed"]


def test_a_form_without_the_sessions_csrf_token_changes_nothing(world: World) -> None:
    eokm, _, _ = open_notices(world)
    client, csrf = signed_in(world, "hoster")
    other, other_csrf = signed_in(world, "hoster")
    for data in ({}, {"csrf": ""}, {"csrf": other_csrf}, {"csrf": csrf[:-1]}):
        refused = client.post(f"/console/notices/{eokm}/removed", data=data)
        assert refused.status_code == 403
        assert "did not come from this console" in refused.text
    with make_session_factory(world.engine)() as session:
        assert session.scalar(select(Notice.status).where(Notice.public_id == eokm)) == "open"
    assert other.post("/console/sign-out", data={"csrf": csrf}).status_code == 403


def test_a_session_unused_for_the_idle_time_is_signed_out(world: World) -> None:
    client, _ = signed_in(world, "hoster")
    world.clock.advance(timedelta(minutes=29))
    assert client.get("/console/notices").status_code == 200  # used: the idle time starts again
    world.clock.advance(timedelta(minutes=30))
    assert client.get("/console/notices").status_code == 200
    world.clock.advance(timedelta(minutes=31))
    answer = client.get("/console/notices")
    assert answer.status_code == 303
    assert "why=expired" in answer.headers["location"]
    assert "expired" in client.get(answer.headers["location"]).text
    with make_session_factory(world.engine)() as session:
        assert session.scalars(select(ConsoleSession)).all() == []


def test_a_revoked_key_or_a_suspended_organisation_is_signed_out_at_the_next_request(world: World) -> None:
    hoster, _ = signed_in(world, "hoster")
    hoster2, _ = signed_in(world, "hoster2")
    sessions = make_session_factory(world.engine)
    with sessions.begin() as session:
        revoke_key(session, world.keys["hoster"].split("_")[1], world.clock.now())
        org = session.scalars(select(Organisation).where(Organisation.name == "Other Hosting")).one()
        session.add(
            Standing(
                organisation_id=org.id, level="suspended", reason="probing", changed_at=world.clock.now()
            )
        )
    assert "why=revoked" in hoster.get("/console/notices").headers["location"]
    assert "why=suspended" in hoster2.get("/console/notices").headers["location"]
    fresh = browser(world)
    form = fresh.get("/console/sign-in")
    refused = fresh.post("/console/sign-in", data={"key": world.keys["hoster2"], "csrf": csrf_of(form)})
    assert refused.status_code == 401
    assert "suspended" in refused.text


def test_the_authority_sees_compliance_downloads_what_is_shown_and_escalates_an_overdue_notice(
    world: World,
) -> None:
    eokm, iwf, _others = open_notices(world)
    world.clock.advance(timedelta(hours=13))  # IWF's list gives 12 hours
    client, csrf = signed_in(world, "authority")
    page = client.get("/console/compliance?from=2026-11-01&to=2026-11-30")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "Example Hosting" in page.text
    assert iwf in page.text
    assert eokm not in page.text.split('id="overdue"')[1]  # 24 hours: not yet overdue
    csv = client.get("/console/compliance.csv?from=2026-11-01&to=2026-11-30")
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    with make_session_factory(world.engine)() as session:
        rows = [
            *compliance_report(session, start, end, "hoster", world.clock.now()),
            *compliance_report(session, start, end, "total", world.clock.now()),
        ]
    assert csv.text == to_csv(rows)
    assert "compliance-hoster-2026-11-01-2026-11-30.csv" in csv.headers["content-disposition"]
    bad = client.get("/console/compliance?from=2026-11-31")
    assert bad.status_code == 400
    assert "expected a date as YYYY-MM-DD" in bad.text
    backwards = client.get("/console/compliance?from=2026-11-20&to=2026-11-10")
    assert backwards.status_code == 400
    assert "before from" in backwards.text
    done = client.post(
        f"/console/notices/{iwf}/escalate", data={"csrf": csrf, "hours": "6", "reason": "BO-1"}
    )
    assert "escalated to a binding order" in client.get(done.headers["location"]).text
    refused = client.post(
        f"/console/notices/{iwf}/escalate", data={"csrf": csrf, "hours": "40", "reason": "x"}
    )
    assert "deadline is 1 to 12 hours, got 40" in client.get(refused.headers["location"]).text
    typo = client.post(f"/console/notices/{iwf}/escalate", data={"csrf": csrf, "hours": "six", "reason": "x"})
    assert typo.status_code == 400
    assert "hours: expected a whole number" in typo.text
    hoster, hoster_csrf = signed_in(world, "hoster")
    assert (
        hoster.post(
            f"/console/notices/{iwf}/escalate", data={"csrf": hoster_csrf, "hours": "6", "reason": "x"}
        ).status_code
        == 403
    )
    with make_session_factory(world.engine)() as session:
        notice = session.scalars(select(Notice).where(Notice.public_id == iwf)).one()
        assert notice.binding_order
        assert notice.deadline == world.clock.now() + timedelta(hours=6)


def test_a_hoster_adds_tests_and_disables_a_webhook_and_sees_its_secret_once(world: World) -> None:
    client, csrf = signed_in(world, "hoster")
    added = client.post(
        "/console/webhooks", data={"csrf": csrf, "url": "https://hooks.example-hosting.net/in"}
    )
    assert added.status_code == 201
    assert "whsec_" in added.text
    listed = client.get("/console/webhooks").text
    assert "hooks.example-hosting.net/in" in listed
    assert "whsec_" not in listed
    bad = client.post("/console/webhooks", data={"csrf": csrf, "url": "http://127.0.0.1/x"})
    assert bad.status_code == 422
    assert "url:" in bad.text
    hook_id = listed.split("/console/webhooks/")[1].split('"')[0].split("/")[0]
    tested = client.post(f"/console/webhooks/{hook_id}/test", data={"csrf": csrf})
    assert "test event is queued" in client.get(tested.headers["location"]).text
    assert "test: pending" in client.get("/console/webhooks").text
    other, other_csrf = signed_in(world, "hotline")
    theirs = other.post(f"/console/webhooks/{hook_id}/disable", data={"csrf": other_csrf})
    assert "no webhook" in other.get(theirs.headers["location"]).text
    assert other.get(f"/console/webhooks/{hook_id}").status_code == 404
    client.post(f"/console/webhooks/{hook_id}/disable", data={"csrf": csrf})
    assert "disabled 2026" in client.get("/console/webhooks").text
    assert client.get("/console/webhooks/abc").status_code == 400


def test_the_inbox_pages_sorts_and_filters_and_refuses_a_bad_address_with_a_page(world: World) -> None:
    items = [
        {"type": "md5", "hash": world.hashes["img1.md5"], "ref": f"https://cdn.example/{n}"}
        for n in range(30)
    ]
    ids = [result["notice_id"] for result in world.match("hoster", items).json()["results"]]
    client, csrf = signed_in(world, "hoster")
    first = client.get("/console/notices?show=all&sort=oldest").text
    assert "30 notices" in first
    assert "Page 1 of 2" in first
    assert ids[0] in first
    assert ids[29] not in first
    second = client.get("/console/notices?show=all&sort=oldest&page=2").text
    assert ids[29] in second
    assert ids[0] not in second
    assert ids[29] in client.get("/console/notices?show=all&sort=newest").text
    client.post(f"/console/notices/{ids[0]}/removed", data={"csrf": csrf})
    assert "29 notices" in client.get("/console/notices").text  # needing action
    closed = client.get("/console/notices?show=closed").text
    assert "1 notice<" in closed
    assert ids[0] in closed
    missing = client.get("/console/nowhere")
    assert missing.status_code == 404
    assert "no such page" in missing.text
    for bad in ("?sort=size", "?show=lost", "?page=0", "?page=two"):
        answer = client.get(f"/console/notices{bad}")
        assert answer.status_code == 400, bad
        assert "expected" in answer.text or "one of" in answer.text
