"""entries.variant: a list entry may hash a transformed copy of its item (a centre crop, a small
rotation: ``hashmatch hash --variants``); NULL for the item as it is

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a nullable column without a default: ALTER TABLE ADD COLUMN, no copy of the table on either database
    op.add_column("entries", sa.Column("variant", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_column("variant")
