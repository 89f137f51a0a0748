"""The hotline's and the operator's console pages through the real app: imports checked before they are
written, publish, retract, disputes decided with a retraction that stops matching at once; organisations
and keys."""

import hashlib
import re

from sqlalchemy import select

from api.deps import Services
from db import make_session_factory
from db.models import ApiKey, AuditRecord, HashList, ListVersion, Notice, Organisation
from tests.api.support import World, flip
from tests.console.support import csrf_of, open_notices, signed_in


def _eokm_list(world: World) -> int:
    with make_session_factory(world.engine)() as session:
        return session.scalars(select(HashList.id).where(HashList.name == "eokm-main")).one()


def _serve_newest(world: World) -> None:
    """What each server's index watcher does within HASHMATCH_INDEX_POLL_SECONDS (the test's doesn't poll)."""
    services: Services = world.client.app.state.services  # type: ignore[attr-defined]
    services.watcher.check()


def test_a_hotline_sees_only_its_own_lists(world: World) -> None:
    client, _ = signed_in(world, "hotline")
    page = client.get("/console/lists").text
    assert "eokm-main" in page
    assert "iwf-hashes" not in page
    other, _ = signed_in(world, "hotline2")
    assert other.get(f"/console/lists/{_eokm_list(world)}").status_code == 404
    hoster, _ = signed_in(world, "hoster")
    assert hoster.get("/console/lists").status_code == 403


def test_an_import_shows_its_bad_lines_and_changes_before_anything_is_written_then_confirms(
    world: World,
) -> None:
    list_id = _eokm_list(world)
    client, csrf = signed_in(world, "hotline")
    body = "type,hash,item\nmd5," + "ab" * 16 + ",new1\nmd5,zz,bad\n"
    files = {"file": ("more.csv", body.encode(), "text/csv")}
    shown = client.post(f"/console/lists/{list_id}/import", data={"csrf": csrf, "mode": "delta"}, files=files)
    assert shown.status_code == 200, shown.text
    assert 'id="bad-lines">1<' in shown.text
    assert '<td class="num">3</td>' in shown.text  # the bad line's number
    assert 'id="added">1<' in shown.text
    sessions = make_session_factory(world.engine)
    with sessions() as session:
        before = session.scalars(select(ListVersion.number).where(ListVersion.list_id == list_id)).all()
    assert before == [1]  # nothing written by the check
    confirm = {"csrf": csrf_of(shown), "mode": "delta", "format": "csv", "source": "more.csv", "text": body}
    refused = client.post(f"/console/lists/{list_id}/import/confirm", data=confirm)
    said = client.get(refused.headers["location"]).text
    assert "1 bad line(s), the first: line 3" in said
    assert "fix the file, or confirm leaving the bad lines out" in said
    written = client.post(
        f"/console/lists/{list_id}/import/confirm", data={**confirm, "skip_bad": "yes", "publish": "yes"}
    )
    page = client.get(written.headers["location"]).text
    assert "Version 2 written: 1 added, 0 removed." in page
    assert "Published: index version" in page
    _serve_newest(world)
    answer = world.match("hoster", [{"type": "md5", "hash": "ab" * 16, "ref": "https://cdn.example/new"}])
    assert answer.json()["counts"]["matched"] == 1
    image = {"file": ("x.csv", b"\x89PNG\r\n\x1a\n\x00\xff", "text/csv")}
    binary = client.post(
        f"/console/lists/{list_id}/import", data={"csrf": csrf, "mode": "delta"}, files=image
    )
    assert "not UTF-8 text" in client.get(binary.headers["location"]).text
    assert world.client.post("/v1/match", files=image, headers=world.auth("hoster")).status_code == 415


def test_withdrawing_a_dispute_with_retraction_stops_the_entry_matching_at_once(world: World) -> None:
    eokm, _, others = open_notices(world)
    hoster, hoster_csrf = signed_in(world, "hoster")
    hoster.post(f"/console/notices/{eokm}/dispute", data={"csrf": hoster_csrf, "reason": "our own logo"})
    client, csrf = signed_in(world, "hotline")
    queue = client.get("/console/disputes").text
    assert eokm in queue
    assert others not in queue
    decided = client.post(
        f"/console/notices/{eokm}/resolve",
        data={"csrf": csrf, "outcome": "withdrawn", "retract": "yes", "reason": "false positive"},
    )
    page = client.get(decided.headers["location"]).text
    assert "no longer served" in page
    assert 'id="status">withdrawn' in page
    with make_session_factory(world.engine)() as session:
        assert session.scalar(select(Notice.status).where(Notice.public_id == others)) == "withdrawn"
    _serve_newest(world)
    again = world.match(
        "hoster", [{"type": "md5", "hash": world.hashes["img1.md5"], "ref": "https://cdn.example/z"}]
    )
    assert again.json()["counts"]["matched"] == 0


def test_the_operator_creates_an_organisation_issues_a_key_once_and_revokes_it(world: World) -> None:
    client, csrf = signed_in(world, "admin")
    created = client.post("/console/organisations", data={"csrf": csrf, "name": "New Host", "role": "hoster"})
    assert "New Host (hoster) created" in client.get(created.headers["location"]).text
    dup = client.post("/console/organisations", data={"csrf": csrf, "name": "New Host", "role": "hoster"})
    assert "already exists" in client.get(dup.headers["location"]).text
    bad = client.post("/console/organisations", data={"csrf": csrf, "name": "X", "role": "king"})
    assert "unknown role &#39;king&#39;" in client.get(bad.headers["location"]).text
    with make_session_factory(world.engine)() as session:
        org_id = session.scalars(select(Organisation.id).where(Organisation.name == "New Host")).one()
    issued = client.post(f"/console/organisations/{org_id}/keys", data={"csrf": csrf, "name": "scanner"})
    assert issued.status_code == 201
    secret = issued.text.split('id="new-key">')[1].split("<")[0]
    assert secret.startswith("hm_")
    assert secret not in client.get("/console/organisations").text
    assert world.client.get("/v1/notices", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    prefix = secret.split("_")[1]
    client.post(f"/console/keys/{prefix}/revoke", data={"csrf": csrf})
    with make_session_factory(world.engine)() as session:
        assert session.scalar(select(ApiKey.revoked_at).where(ApiKey.prefix == prefix)) is not None
    assert world.client.get("/v1/notices", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    hotline, _ = signed_in(world, "hotline")
    assert hotline.get("/console/organisations").status_code == 403


def test_a_hotline_retracts_an_entry_and_publishes_and_a_wrong_id_changes_nothing(world: World) -> None:
    list_id = _eokm_list(world)
    client, csrf = signed_in(world, "hotline")
    entry = world.entries[world.hashes["img1.md5"]]
    iwf_entry = world.entries[world.hashes["iwf.sha1"]]
    for entries, said in (("", "expected entry ids"), ("12x", "expected entry ids"), (str(iwf_entry), "")):
        answer = client.post(
            f"/console/lists/{list_id}/retract", data={"csrf": csrf, "entries": entries, "reason": "wrong"}
        )
        page = client.get(answer.headers["location"]).text
        assert 'class="flash error"' in page
        assert said in page
    no_reason = client.post(f"/console/lists/{list_id}/retract", data={"csrf": csrf, "entries": str(entry)})
    assert "reason: required" in client.get(no_reason.headers["location"]).text
    done = client.post(
        f"/console/lists/{list_id}/retract",
        data={"csrf": csrf, "entries": f"{entry}", "reason": "false positive", "publish": "yes"},
    )
    page = client.get(done.headers["location"]).text
    assert "Version 2: 1 entries retracted." in page
    assert "Published: index version" in page
    _serve_newest(world)
    item = {"type": "md5", "hash": world.hashes["img1.md5"], "ref": "https://cdn.example/r"}
    assert world.match("hoster", [item]).json()["counts"]["matched"] == 0


def test_the_hotline_confirms_one_notice_held_for_review_and_dismisses_another(world: World) -> None:
    h = world.hashes
    stereo = [
        {"type": "pdq", "hash": flip(h["img1.pdq"], 100), "ref": ref}
        for ref in ("https://cdn.example/left", "https://cdn.example/right")
    ] + [
        {"type": "phash", "hash": flip(h["img1.phash"], 4), "ref": ref}
        for ref in ("https://cdn.example/left", "https://cdn.example/right")
    ]
    assert world.match("hoster", stereo).json()["counts"]["matched"] == 0
    with make_session_factory(world.engine)() as session:
        left, right = session.scalars(select(Notice.public_id).order_by(Notice.id)).all()
    hoster, _ = signed_in(world, "hoster")
    assert "To review" not in hoster.get("/console/notices?show=all").text
    assert left not in hoster.get("/console/notices?show=all").text
    assert hoster.get(f"/console/notices/{left}").status_code == 404
    client, csrf = signed_in(world, "hotline")
    queue = client.get("/console/review").text
    assert left in queue
    assert right in queue
    assert f'action="/console/notices/{left}/confirm"' in queue
    refused = client.post(f"/console/notices/{left}/confirm", data={"reason": "same child"})
    assert refused.status_code == 403  # no CSRF token: nothing done
    confirmed = client.post(f"/console/notices/{left}/confirm", data={"csrf": csrf, "reason": "same child"})
    assert 'id="status">open' in client.get(confirmed.headers["location"]).text
    dismissed = client.post(f"/console/notices/{right}/dismiss", data={"csrf": csrf, "reason": "other half"})
    assert 'id="status">dismissed' in client.get(dismissed.headers["location"]).text
    assert "No notices here." in client.get("/console/review").text
    inbox = hoster.get("/console/notices?show=all").text
    assert left in inbox
    assert right not in inbox


def test_a_console_publish_is_the_apis_publish_audited_alike_and_served_here_at_once(world: World) -> None:
    list_id = _eokm_list(world)
    client, csrf = signed_in(world, "hotline")
    added = "ab" * 16
    body = f"type,hash,item\nmd5,{added},new1\n"
    confirm = {"csrf": csrf, "mode": "delta", "format": "csv", "source": "more.csv", "text": body}
    client.post(f"/console/lists/{list_id}/import/confirm", data={**confirm, "publish": "yes"})
    item = {"type": "md5", "hash": added, "ref": "https://cdn.example/new"}
    assert world.match("hoster", [item]).json()["counts"]["matched"] == 1  # no wait for the watcher's poll
    upload = f"md5 {'cd' * 16}\n".encode()
    headers = {**world.auth("hotline"), "Content-Type": "text/plain"}
    imported = world.client.post("/v1/lists/eokm-main/imports?mode=delta", content=upload, headers=headers)
    assert imported.status_code == 200, imported.json()
    assert world.client.post("/v1/lists/publish", headers=world.auth("hotline")).status_code == 200
    with make_session_factory(world.engine)() as session:
        console, api = session.scalars(
            select(AuditRecord.detail).where(AuditRecord.action == "lists.published").order_by(AuditRecord.id)
        ).all()
    assert console.pop("via") == "console"
    assert set(console) == set(api) == {"index_version", "changed", "removed"}
    assert console["changed"] is True


def test_a_console_import_is_the_apis_import_audited_alike(world: World) -> None:
    list_id = _eokm_list(world)
    client, csrf = signed_in(world, "hotline")
    body = f"type,hash,item\nmd5,{'ab' * 16},new1\n"
    files = {"file": ("more.csv", body.encode(), "text/csv")}
    client.post(f"/console/lists/{list_id}/import", data={"csrf": csrf, "mode": "delta"}, files=files)
    confirm = {"csrf": csrf, "mode": "delta", "format": "csv", "source": "more.csv", "text": body}
    client.post(f"/console/lists/{list_id}/import/confirm", data=confirm)
    headers = {**world.auth("hotline"), "Content-Type": "text/plain"}
    for dry_run in ("true", "false"):
        url = f"/v1/lists/eokm-main/imports?mode=delta&dry_run={dry_run}"
        answer = world.client.post(url, content=f"md5 {'cd' * 16}\n".encode(), headers=headers)
        assert answer.status_code == 200, answer.json()
    with make_session_factory(world.engine)() as session:
        records = session.execute(
            select(AuditRecord.action, AuditRecord.detail)
            .where(AuditRecord.action.in_(["lists.import_checked", "lists.imported"]))
            .order_by(AuditRecord.id)
        ).all()
    assert [action for action, _ in records] == ["lists.import_checked", "lists.imported"] * 2
    console_checked, console_imported, api_checked, api_imported = (detail for _, detail in records)
    assert console_checked.pop("via") == console_imported.pop("via") == "console"
    assert (
        console_checked == api_checked == {"list": list_id, "mode": "delta", "dry_run": True, "version": None}
    )
    assert console_imported["version"] is not None
    assert api_imported["version"] == console_imported["version"] + 1
    assert console_imported | {"version": 0} == api_imported | {"version": 0}


def test_an_import_keeps_low_quality_pdq_rows_only_when_asked_as_the_api_does(world: World) -> None:
    list_id = _eokm_list(world)
    client, csrf = signed_in(world, "hotline")
    low = hashlib.sha256(b"a blurred picture").hexdigest()
    body = f"type,hash,item,quality\npdq,{low},blurred,20\n"
    files = {"file": ("low.csv", body.encode(), "text/csv")}
    form = {"csrf": csrf, "mode": "delta"}
    refused = client.post(f"/console/lists/{list_id}/import", data=form, files=files)
    assert 'id="bad-lines">1<' in refused.text
    shown = client.post(
        f"/console/lists/{list_id}/import", data={**form, "allow_low_quality": "yes"}, files=files
    )
    assert 'id="bad-lines">0<' in shown.text
    assert 'id="added">1<' in shown.text
    confirm = {"csrf": csrf_of(shown), "mode": "delta", "format": "csv", "source": "low.csv", "text": body}
    kept = dict(re.findall(r'<input type="hidden" name="(allow_low_quality)" value="([^"]*)"', shown.text))
    written = client.post(f"/console/lists/{list_id}/import/confirm", data={**confirm, **kept})
    assert "Version 2 written: 1 added, 0 removed." in client.get(written.headers["location"]).text
