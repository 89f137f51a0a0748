"""Organisations, hash lists, their immutable versions and their entries."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
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
    latest_version: Mapped[int] = mapped_column(default=0)  # number of the newest version; bumped first
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListVersion(Base):
    """One change of a list, written in one transaction and immutable afterwards.

    ``mode``: "full" replaced the whole list, "delta" added and retracted entries, "retract" only
    retracted (``reason`` says why). ``entries`` is the number of active entries after this version,
    ``types`` the same per hash type.
    ``published_at`` is set by the first publication that serves it.
    """

    __tablename__ = "list_versions"
    __table_args__ = (UniqueConstraint("list_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"))
    number: Mapped[int]
    mode: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    added: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    entries: Mapped[int] = mapped_column(default=0)
    types: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # active entries per hash type
    skipped: Mapped[int] = mapped_column(default=0)  # bad lines left out (import with skip-bad)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]


class Entry(Base):
    """One hash of a list, active from the version that added it until the one that removed it.

    Entry ids are what the served indexes return. Entries are never deleted: a retracted or replaced
    entry keeps its row (notices refer to it) with ``removed_in`` set.
    """

    __tablename__ = "entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"))
    hash_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    item: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    quality: Mapped[int | None]
    variant: Mapped[str | None] = mapped_column(String(32))  # a transformed copy of the item: "crop5"...
    added_in: Mapped[int] = mapped_column(ForeignKey("list_versions.id"))
    removed_in: Mapped[int | None] = mapped_column(ForeignKey("list_versions.id"))
    removal: Mapped[str | None] = mapped_column(String(12))  # "retracted" (false positive) | "replaced"


class VideoMatch(Base):
    """A list's vPDQ percentages where they are not the default 80/80: the share of a query video's
    frames that must match a listed video, and of the listed video's frames the query must match."""

    __tablename__ = "video_match"

    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"), primary_key=True)
    query_percent: Mapped[int]
    listed_percent: Mapped[int]


class VideoFrames(Base):
    """The frames of a vPDQ hash (:data:`matcher.frames.FRAME` records), stored once under their digest,
    which is the ``value`` of every entry holding that video. Written with the entries that first use
    them, never changed (a digest names one content) and kept with the entries."""

    __tablename__ = "video_frames"

    digest: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    frames: Mapped[bytes] = mapped_column(LargeBinary)


class Publication(Base):
    """One index version the publisher decided to serve: which version of each list it holds.

    The ``CURRENT`` pointer of the index directory is the truth of what is served; the publication
    whose ``version`` it names tells which list versions that is.
    """

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    list_versions: Mapped[dict[str, int]] = mapped_column(JSON)  # str(list id) -> list version id
    search_thresholds: Mapped[dict[str, int]] = mapped_column(JSON)
    entries: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    removed: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
