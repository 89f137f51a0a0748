"""``hashmatch orgs``, ``keys`` and ``audit verify`` on the configured database."""

from pathlib import Path

import pytest
from sqlalchemy import update

from db import make_engine, make_session_factory
from db.models import AuditRecord
from tests.commands import run
from tests.conftest import Configure


@pytest.fixture
def data_dir(tmp_path: Path, configure: Configure) -> Path:
    configure(data_dir=tmp_path)
    return tmp_path


def test_orgs_and_keys_from_creation_to_revocation(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "orgs", "create", "Example Hosting", "--role", "hoster")[0] == 0
    code, _, err = run(capsys, "orgs", "create", "Example Hosting", "--role", "hoster")
    assert (code, err) == (1, "hashmatch: error: an organisation called 'Example Hosting' already exists\n")
    code, out, _ = run(capsys, "orgs", "list")
    assert out.splitlines()[1].split("\t")[1:3] == ["Example Hosting", "hoster"]
    code, key, err = run(capsys, "keys", "create", "Example Hosting", "--name", "scanner")
    assert code == 0
    assert key.startswith("hm_")
    assert "not shown again" in err
    prefix = key.split("_")[1]
    code, out, _ = run(capsys, "keys", "list")
    assert key.strip() not in out
    assert out.splitlines()[1].split("\t")[:4] == [prefix, "Example Hosting", "hoster", "scanner"]
    assert out.splitlines()[1].endswith("\t-")  # not revoked
    assert run(capsys, "keys", "revoke", prefix)[0] == 0
    assert not run(capsys, "keys", "list", "--org", "Example Hosting")[1].splitlines()[1].endswith("\t-")
    code, _, err = run(capsys, "keys", "revoke", "nosuchkey0")
    assert (code, err) == (1, "hashmatch: error: no API key with prefix 'nosuchkey0'\n")
    assert run(capsys, "keys", "create", "Nobody")[2] == "hashmatch: error: no organisation called 'Nobody'\n"


def test_audit_verify_passes_then_names_the_first_tampered_record(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("A", "B", "C"):
        run(capsys, "orgs", "create", name, "--role", "hotline")
    code, out, _ = run(capsys, "audit", "verify")
    assert (code, out) == (0, "audit log intact: 3 records verified\n")
    engine = make_engine(f"sqlite:///{data_dir / 'hashmatch.db'}")
    with make_session_factory(engine).begin() as session:
        session.execute(update(AuditRecord).where(AuditRecord.id == 2).values(action="nothing"))
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1
    assert err == (
        "hashmatch: error: audit record 2 is broken: its content does not match its digest "
        "(1 record before it verifies)\n"
    )
