"""Persistence: SQLAlchemy 2.x models, engines for SQLite (default) and PostgreSQL, Alembic migrations."""

from db.base import Base, utcnow
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade

__all__ = ["Base", "make_engine", "make_session_factory", "upgrade", "utcnow"]
