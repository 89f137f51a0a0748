"""Keys (issued once, digests only, revocable) and the hash-chained audit log, on SQLite and PostgreSQL."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

import audit
from accounts import (
    DuplicateName,
    InvalidKey,
    InvalidRole,
    authenticate,
    create_organisation,
    issue_key,
    list_keys,
    revoke_key,
)
from db import make_session_factory
from db.models import ApiKey, AuditRecord

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def test_a_key_is_shown_once_stored_as_a_digest_and_refused_once_revoked(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        org = create_organisation(session, "Example Hosting", "hoster", NOW)
        issued = issue_key(session, org, "scanner", NOW)
    secret = issued.secret
    assert secret.startswith(f"hm_{issued.key.prefix}_")
    with sessions.begin() as session:
        stored = session.scalars(select(ApiKey)).one()
        assert secret not in (stored.digest, stored.prefix, stored.name)
        assert len(stored.digest) == 64
        caller = authenticate(session, secret, NOW)
        assert (caller.organisation, caller.role, caller.prefix) == (
            "Example Hosting",
            "hoster",
            stored.prefix,
        )
    with sessions() as session:
        assert session.scalars(select(ApiKey)).one().last_used_at == NOW
    wrong_secret = secret[:-1] + ("a" if secret[-1] != "a" else "b")
    for presented in (None, "", "hm_short", wrong_secret, "Bearer " + secret):
        with sessions() as session, pytest.raises(InvalidKey):
            authenticate(session, presented, NOW)
    with sessions.begin() as session:
        revoke_key(session, issued.key.prefix, NOW + timedelta(hours=1))
        assert [key.revoked_at for key, _ in list_keys(session)] == [NOW + timedelta(hours=1)]
    with sessions() as session, pytest.raises(InvalidKey, match="revoked"):
        authenticate(session, secret, NOW + timedelta(hours=2))


def test_organisations_need_a_known_role_and_a_unique_name(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        create_organisation(session, "EOKM", "hotline", NOW)
        with pytest.raises(DuplicateName):
            create_organisation(session, " EOKM ", "hotline", NOW)
        with pytest.raises(InvalidRole, match="expected one of hotline, hoster, authority, admin"):
            create_organisation(session, "X", "superuser", NOW)


def _append_some(engine: Engine, count: int) -> None:
    sessions = make_session_factory(engine)
    for number in range(count):
        with sessions.begin() as session:
            audit.append(session, "test", {"n": number, "text": "é ✓"}, NOW + timedelta(seconds=number))


def test_the_chain_verifies_and_names_the_first_changed_or_removed_record(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions() as session:
        assert audit.verify(session).ok  # empty
    _append_some(engine, 6)
    with sessions() as session:
        result = audit.verify(session, batch=4)  # across pages
        assert (result.ok, result.records) == (True, 6)
        ids = session.scalars(select(AuditRecord.id).order_by(AuditRecord.id)).all()
    with sessions.begin() as session:
        session.execute(update(AuditRecord).where(AuditRecord.id == ids[3]).values(detail={"n": 99}))
    with sessions() as session:
        result = audit.verify(session)
        assert (result.ok, result.broken_id, result.records) == (False, ids[3], 3)
        assert "content" in result.reason
    with sessions.begin() as session:
        session.execute(
            update(AuditRecord).where(AuditRecord.id == ids[3]).values(detail={"n": 3, "text": "é ✓"})
        )
        session.delete(session.get(AuditRecord, ids[1]))
    with sessions() as session:
        result = audit.verify(session)
        assert (result.broken_id, result.records) == (ids[2], 1)
        assert "previous digest" in result.reason


def test_appends_from_several_processes_never_fork_the_chain(engine: Engine, database_url: str) -> None:
    script = (
        "import sys, datetime, audit; from db import make_engine, make_session_factory\n"
        "sessions = make_session_factory(make_engine(sys.argv[1]))\n"
        "for n in range(25):\n"
        "    with sessions.begin() as session:\n"
        "        audit.append(session, 'test', {'n': n}, datetime.datetime.now(datetime.UTC))\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, database_url]) for _ in range(3)]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0]
    with make_session_factory(engine)() as session:
        result = audit.verify(session)
        assert (result.ok, result.records) == (True, 75)
