"""notices: withdraw the notices a crash left half-written.

Revision ID: 0004
Revises: 0003b

Before this revision a SQLite database committed a batch's first new notice on its own (pysqlite
began no transaction before SAVEPOINT, so its RELEASE committed); a crash or a failed batch then left
a notice without its matches or its ``created`` event. No hotline sees such a notice and it is never
withdrawn, yet it blocks its ref (a resend reuses it). Every active one becomes ``withdrawn`` with an
event saying why; the outbox announces that to the hoster's webhooks like any withdrawal. Notices
already closed stay as they are.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision = "0004"
down_revision = "0003b"
branch_labels = None
depends_on = None

REASON = (
    "left half-written by a crash before its matches and its history were saved: it never reached a "
    "hotline; withdrawn by the repair in schema revision 0004"
)
_CHUNK = 900  # ids per IN (...) clause: under every database's parameter limit

notices = sa.table(
    "notices",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("active_ref", sa.String),
    sa.column("closed_at", UTCDateTime),
)
notice_matches = sa.table("notice_matches", sa.column("notice_id", sa.Integer))
notice_events = sa.table(
    "notice_events",
    sa.column("notice_id", sa.Integer),
    sa.column("at", UTCDateTime),
    sa.column("actor_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("status", sa.String),
    sa.column("reason", sa.Text),
)


def upgrade() -> None:
    connection = op.get_bind()
    matched = sa.select(notice_matches.c.notice_id)
    created = sa.select(notice_events.c.notice_id).where(notice_events.c.action == "created")
    half_written = connection.scalars(
        sa.select(notices.c.id)
        .where(notices.c.status.in_(("open", "disputed", "overdue")))
        .where(notices.c.id.not_in(matched) | notices.c.id.not_in(created))
        .order_by(notices.c.id)
    ).all()
    now = datetime.now(UTC)
    withdrawal = {"at": now, "actor_id": None, "action": "withdrawn", "status": "withdrawn", "reason": REASON}
    for start in range(0, len(half_written), _CHUNK):
        chunk = half_written[start : start + _CHUNK]
        connection.execute(
            notices.update()
            .where(notices.c.id.in_(chunk))
            .values(status="withdrawn", closed_at=now, active_ref=None)
        )
        connection.execute(notice_events.insert(), [{"notice_id": id_, **withdrawal} for id_ in chunk])


def downgrade() -> None:
    """The repair stays: the withdrawn notices were never whole, there is nothing to give back."""
