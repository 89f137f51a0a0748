"""probing: whether the caller saw each kept edge query matched (its file's answer), so that copies a
listed picture's own entry answered do not count as flips at the edge of its variant entries

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("probe_watches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edge_answers", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("probe_watches", schema=None) as batch_op:
        batch_op.drop_column("edge_answers")
