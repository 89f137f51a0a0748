"""notices: binding-order time, the webhook outbox (which events were fanned out, one delivery per
event and webhook), the delivery log, and indexes for the tick, paging and entry withdrawal.

Revision ID: 0003b
Revises: 0002

webhook_deliveries gains a NOT NULL event_id: nothing wrote deliveries before this revision.
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0003b"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fanned_out_at", db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_notice_events_fanned_out_at"), ["fanned_out_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_events_notice_id"), ["notice_id"], unique=False)

    with op.batch_alter_table("notice_matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_matches_entry_id"), ["entry_id"], unique=False)

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalated_at", db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_notices_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_notices_status_deadline", ["status", "deadline"], unique=False)

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)
        )
        batch_op.add_column(sa.Column("gave_up_at", db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("log", sa.JSON(), nullable=False))
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_webhook_deliveries_webhook_id"), ["webhook_id", "event_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_webhook_deliveries_event_id_notice_events"), "notice_events", ["event_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_webhook_deliveries_event_id_notice_events"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_webhook_deliveries_webhook_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_next_attempt_at"))
        batch_op.drop_column("log")
        batch_op.drop_column("gave_up_at")
        batch_op.drop_column("event_id")

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_status_deadline")
        batch_op.drop_index(batch_op.f("ix_notices_created_at"))
        batch_op.drop_column("escalated_at")

    with op.batch_alter_table("notice_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_matches_entry_id"))

    with op.batch_alter_table("notice_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_events_notice_id"))
        batch_op.drop_index(batch_op.f("ix_notice_events_fanned_out_at"))
        batch_op.drop_column("fanned_out_at")
