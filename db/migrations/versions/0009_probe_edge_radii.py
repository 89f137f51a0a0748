"""probing: the radius each kept edge query was answered at (a variant item's lower one), so that the
guard watches a listed entry's variant edge too; the number of distinct edge queries seen per watch

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("probe_watches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edge_radii", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("edges_seen", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("probe_watches", schema=None) as batch_op:
        batch_op.drop_column("edges_seen")
        batch_op.drop_column("edge_radii")
