"""Organisations, hash lists, their immutable versions and their entries."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow

ROLES = ("hotline", "hoster", "authority", "admin")


class Organisation(Base):
    """A hotline, a hosting provider, the authority, or the operator (admin)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HashList(Base):
    """A hotline's list: its metadata, per-type thresholds and the deadline its notices carry."""

    __tablename__ = "hash_lists"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    default_category: Mapped[str | None] = mapped_column(String(64))
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notice_deadline_hours: Mapped[int] = mapped_column(default=24)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListVersion(Base):
    """One import into a list: immutable once complete; ``published_at`` once it is served."""

    __tablename__ = "list_versions"
    __table_args__ = (UniqueConstraint("list_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"))
    number: Mapped[int]
    mode: Mapped[str] = mapped_column(String(8))  # "full" replaces the list, "delta" adds and retracts
    state: Mapped[str] = mapped_column(String(12), default="importing")  # importing | complete | failed
    source: Mapped[str] = mapped_column(Text, default="")
    added: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]


class Entry(Base):
    """One hash of a list, active from the version that added it until the one that removed it."""

    __tablename__ = "entries"
    __table_args__ = (Index("ix_entries_list_type_value", "list_id", "hash_type", "value"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"))
    hash_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    item: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    quality: Mapped[int | None]
    added_in: Mapped[int] = mapped_column(ForeignKey("list_versions.id"))
    removed_in: Mapped[int | None] = mapped_column(ForeignKey("list_versions.id"))
    removal: Mapped[str | None] = mapped_column(String(12))  # "retracted" (false positive) | "replaced"
