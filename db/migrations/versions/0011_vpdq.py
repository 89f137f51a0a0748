"""vPDQ: the frames of each listed video, stored once under their digest; a list's shares of frames a
video match needs where they are not the default (80 % of the query's and of the listed video's)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_frames",
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("frames", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_video_frames")),
    )
    op.create_table(
        "video_match",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("query_percent", sa.Integer(), nullable=False),
        sa.Column("listed_percent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["hash_lists.id"], name=op.f("fk_video_match_list_id_hash_lists")
        ),
        sa.PrimaryKeyConstraint("list_id", name=op.f("pk_video_match")),
    )


def downgrade() -> None:
    op.drop_table("video_match")
    op.drop_table("video_frames")
