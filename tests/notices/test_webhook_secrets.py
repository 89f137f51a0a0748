"""Webhook secrets sealed at rest: the server key (set, or generated once, private), its rotation, and
the migration that seals the secrets stored in plain text before it."""

import stat
from pathlib import Path

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import select

from db import make_engine, make_session_factory, upgrade
from db.migrate import alembic_config
from db.models import Organisation, Webhook
from db.sealing import InvalidToken, Sealer
from tests.notices.conftest import T0


def test_without_a_key_one_is_generated_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "secret.key"
    sealer = Sealer("", key_file)
    assert not key_file.exists()  # nothing until a secret is sealed
    sealed = sealer.seal("whsec_abc")
    assert "whsec_abc" not in sealed
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Sealer("", key_file).unseal(sealed) == "whsec_abc"  # the next process finds the same key
    assert [path.name for path in key_file.parent.iterdir()] == ["secret.key"]
    with pytest.raises(InvalidToken):
        Sealer(Fernet.generate_key().decode(), key_file).unseal(sealed)


def test_a_new_key_first_seals_and_the_old_one_still_unseals(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_before = Sealer(old, tmp_path / "unused").seal("whsec_old")
    rotated = Sealer(f"{new}, {old}", tmp_path / "unused")
    assert rotated.unseal(sealed_before) == "whsec_old"
    assert Sealer(new, tmp_path / "unused").unseal(rotated.seal("whsec_new")) == "whsec_new"
    assert not (tmp_path / "unused").exists()


def test_the_migration_seals_plain_secrets_and_needs_the_key_to(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0003b")
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            org = Organisation(name="Example Hosting", role="hoster", created_at=T0)
            session.add(org)
            session.flush()
            session.add(
                Webhook(
                    organisation_id=org.id,
                    url="https://h.example/",
                    secret="whsec_" + "ab" * 32,
                    created_at=T0,
                )
            )
        with pytest.raises(RuntimeError, match="needs the server key"):
            upgrade(engine)
        sealer = Sealer(Fernet.generate_key().decode(), tmp_path / "unused")
        upgrade(engine, sealer=sealer)
        with sessions() as session:
            stored = session.scalars(select(Webhook.secret)).one()
        assert "ab" * 32 not in stored
        assert sealer.unseal(stored) == "whsec_" + "ab" * 32
        command.downgrade(alembic_config(engine, sealer), "0003b")
        with sessions() as session:
            assert session.scalars(select(Webhook.secret)).one() == "whsec_" + "ab" * 32
    finally:
        engine.dispose()
