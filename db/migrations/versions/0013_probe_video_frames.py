"""probing: listed videos watched frame by frame (a row per listed frame an organisation came near, and
one for the video's share boundary): probe watches are unique per (organisation, entry, frame)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("probe_watches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frame", sa.Integer(), server_default="-1", nullable=False))
        batch_op.drop_constraint("uq_probe_watches_organisation_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_probe_watches_organisation_id", ["organisation_id", "entry_id", "frame"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM probe_watches WHERE frame <> -1 OR hash_type = 'vpdq-shares'")
    with op.batch_alter_table("probe_watches", schema=None) as batch_op:
        batch_op.drop_constraint("uq_probe_watches_organisation_id", type_="unique")
        batch_op.create_unique_constraint("uq_probe_watches_organisation_id", ["organisation_id", "entry_id"])
        batch_op.drop_column("frame")
