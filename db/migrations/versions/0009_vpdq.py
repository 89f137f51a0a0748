"""vPDQ: the frames of each listed video, stored once under their digest; per list the shares of
frames a video match needs (80 % of the query's and 80 % of the listed video's by default)

Revision ID: 0009
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_frames",
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("frames", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_video_frames")),
    )
    with op.batch_alter_table("hash_lists") as batch:
        batch.add_column(sa.Column("video_query_percent", sa.Integer(), nullable=False, server_default="80"))
        batch.add_column(sa.Column("video_listed_percent", sa.Integer(), nullable=False, server_default="80"))


def downgrade() -> None:
    with op.batch_alter_table("hash_lists") as batch:
        batch.drop_column("video_listed_percent")
        batch.drop_column("video_query_percent")
    op.drop_table("video_frames")
