"""Probing state: per organisation, the listed entries its queries came near, and its standing."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow

STANDINGS = ("watched", "throttled", "suspended")
"""An organisation's standing, from the least to the most restricted."""


class ProbeWatch(Base):
    """A listed entry an organisation matched, watched for a walk along its threshold's edge.

    ``code`` is the entry's value (a copy of list data: server-side only, never shown to the
    organisation), ``edge`` the organisation's latest distinct query codes that fell in the entry's
    edge band, concatenated; ``probes`` how many of those came close to an earlier one (at any of the
    entry's edges: its threshold and a variant item's lower radius).

    A listed video is watched frame by frame: one row per listed frame the organisation came near
    (``frame``: its position among the video's usable frames, ``code`` its PDQ hash, ``hash_type``
    ``vpdq``), and one row of type ``vpdq-shares`` for the video's share boundary (``edge``: records
    of :data:`guard.shares.RECORD`). Every other watch has ``frame`` -1 (the whole entry).
    """

    __tablename__ = "probe_watches"
    __table_args__ = (
        UniqueConstraint("organisation_id", "entry_id", "frame"),
        Index("ix_probe_watches_organisation_type", "organisation_id", "hash_type", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    entry_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("entries.id")
    )
    hash_type: Mapped[str] = mapped_column(String(16))
    frame: Mapped[int] = mapped_column(default=-1, server_default="-1")
    code: Mapped[bytes] = mapped_column(LargeBinary)
    threshold: Mapped[int]
    probes: Mapped[int] = mapped_column(default=0)
    edge: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    edge_radii: Mapped[bytes | None] = mapped_column(LargeBinary, default=b"")
    """The radius each ``edge`` query was answered at (little-endian int32 each): the entry's threshold,
    or a variant item's lower one; empty or NULL (kept before radii were): the entry's threshold."""
    edges_seen: Mapped[int | None] = mapped_column(default=0)
    """Distinct edge queries seen, kept or forgotten (NULL: counted before this was, as 0)."""
    edge_answers: Mapped[bytes | None] = mapped_column(LargeBinary, default=b"")
    """What the caller was told for each ``edge`` query's file (little-endian int64 each:
    :func:`guard.probing.observed_answer`); empty or NULL (kept before answers were): each query's own
    answer against the entry."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Standing(Base):
    """An organisation under watch: one row per organisation whose queries have come near listed
    entries; its ``level`` (watched, throttled, suspended) decides what its keys may do. The row is
    also the lock that serialises the organisation's probe bookkeeping across workers and replicas."""

    __tablename__ = "standings"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(12), default="watched")
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
