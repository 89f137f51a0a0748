"""The declarative base shared by every table, and timestamps that are always UTC-aware."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

MAX_ID = 2**31 - 1
"""The largest id of an organisation, list, notice or webhook (a 32-bit integer column)."""
MAX_BIG_ID = 2**63 - 1
"""The largest id of a table with 64-bit ids (entries, notice events, audit records, deliveries)."""


def text_problem(text: str) -> str | None:
    """Why the database cannot keep ``text`` (PostgreSQL stores no NUL character, and no database
    half of a surrogate pair, which is no character), or None if it can."""
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be Unicode text: a lone surrogate (\\ud800-\\udfff) is no character"
    return None


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}  # noqa: RUF012


def utcnow() -> datetime:
    return datetime.now(UTC)
