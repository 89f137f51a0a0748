"""probing state shared by every worker and replica: watched entries per organisation, standings;
webhook deliveries of events that are no notice's (event_id NULL)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "probe_watches",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", BIG_ID, nullable=False),
        sa.Column("hash_type", sa.String(length=16), nullable=False),
        sa.Column("code", sa.LargeBinary(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("probes", sa.Integer(), nullable=False),
        sa.Column("edge", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_probe_watches_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["entry_id"], ["entries.id"], name=op.f("fk_probe_watches_entry_id_entries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_watches")),
        sa.UniqueConstraint("organisation_id", "entry_id", name=op.f("uq_probe_watches_organisation_id")),
    )
    op.create_index(
        "ix_probe_watches_organisation_type",
        "probe_watches",
        ["organisation_id", "hash_type", "id"],
        unique=False,
    )
    op.create_table(
        "standings",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_standings_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_standings")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.alter_column("event_id", existing_type=BIG_ID, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM webhook_deliveries WHERE event_id IS NULL")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.alter_column("event_id", existing_type=BIG_ID, nullable=False)
    op.drop_table("standings")
    op.drop_index("ix_probe_watches_organisation_type", table_name="probe_watches")
    op.drop_table("probe_watches")
