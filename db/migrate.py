"""Bringing a database to the newest schema with Alembic, from code (no alembic.ini needed)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from db.locks import MIGRATE, database_lock
from db.sealing import Sealer

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine, sealer: Sealer | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    config.attributes["sealer"] = sealer
    return config


def upgrade(engine: Engine, revision: str = "heads", sealer: Sealer | None = None) -> None:
    """Apply every migration not yet applied (idempotent; safe at every start). ``sealer``: the server
    key, for migrations that seal stored secrets (needed only when there are some).

    Under the migration lock (:func:`db.locks.database_lock`): replicas starting together on one
    database wait while the first migrates, then find nothing left to do."""
    with database_lock(engine, MIGRATE, "migrate"):
        command.upgrade(alembic_config(engine, sealer), revision)
