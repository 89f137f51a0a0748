"""webhook secrets sealed at rest: the column widens to hold a Fernet token, and every secret stored in
plain text before this revision is sealed with the server key.

Revision ID: 0005
Revises: 0004

Sealing needs the key: ``db.migrate.upgrade`` hands the caller's ``Sealer`` over (every hashmatch
command passes the configured one). Without it, a database holding plain secrets is refused rather than
left in plain text.
"""

import sqlalchemy as sa
from alembic import context, op

from db.sealing import Sealer

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

webhooks = sa.table("webhooks", sa.column("id", sa.Integer()), sa.column("secret", sa.Text()))


def _stored(change: str) -> tuple[list[tuple[int, str]], Sealer | None]:
    """Every stored secret, and the key to change them with; checked before anything changes (on
    SQLite a failed migration does not roll back its table rebuild)."""
    rows = [
        (row.id, row.secret) for row in op.get_bind().execute(sa.select(webhooks.c.id, webhooks.c.secret))
    ]
    sealer: Sealer | None = context.config.attributes.get("sealer")
    if sealer is None and rows:
        raise RuntimeError(f"{change} stored webhook secrets needs the server key: migrate through hashmatch")
    return rows, sealer


def _write(rows: list[tuple[int, str]]) -> None:
    for row_id, secret in rows:
        op.get_bind().execute(sa.update(webhooks).where(webhooks.c.id == row_id).values(secret=secret))


def upgrade() -> None:
    rows, sealer = _stored("sealing")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=128), type_=sa.Text())
    if sealer is not None:
        _write([(row_id, sealer.seal(secret)) for row_id, secret in rows])


def downgrade() -> None:
    rows, sealer = _stored("unsealing")
    if sealer is not None:
        _write([(row_id, sealer.unseal(secret)) for row_id, secret in rows])
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.Text(), type_=sa.String(length=128))
