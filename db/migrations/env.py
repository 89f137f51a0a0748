"""Alembic environment: runs on the engine handed over by ``db.migrate`` (online mode only)."""

from alembic import context
from sqlalchemy import Engine

import db.models  # noqa: F401  (registers every table on the metadata)
from db.base import Base

engine: Engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
