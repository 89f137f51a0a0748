"""webhook secrets sealed at rest: the column widens to hold a Fernet token, and every secret stored in
plain text before this revision is sealed with the server key.

Revision ID: 0005
Revises: 0003b

Sealing needs the key: ``db.migrate.upgrade`` hands the caller's ``Sealer`` over (every hashmatch
command passes the configured one). Without it, a database holding plain secrets is refused rather than
left in plain text.
"""

import sqlalchemy as sa
from alembic import context, op

from db.sealing import Sealer

revision = "0005"
down_revision = "0003b"
branch_labels = None
depends_on = None

webhooks = sa.table("webhooks", sa.column("id", sa.Integer()), sa.column("secret", sa.Text()))


def _sealer(step: str) -> Sealer:
    sealer: Sealer | None = context.config.attributes.get("sealer")
    if sealer is None:
        raise RuntimeError(f"{step} webhook secrets needs the server key: migrate through hashmatch")
    return sealer


def _rewrite(change: str) -> None:
    """Seal (or unseal) every stored secret."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(webhooks.c.id, webhooks.c.secret)).all()
    if not rows:
        return
    sealer = _sealer(f"{change} stored")
    convert = sealer.seal if change == "sealing" else sealer.unseal
    for row_id, secret in rows:
        bind.execute(sa.update(webhooks).where(webhooks.c.id == row_id).values(secret=convert(secret)))


def upgrade() -> None:
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=128), type_=sa.Text())
    _rewrite("sealing")


def downgrade() -> None:
    _rewrite("unsealing")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.Text(), type_=sa.String(length=128))
