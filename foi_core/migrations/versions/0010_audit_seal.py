"""Audit entries are sealed with a key kept outside the database (HMAC of each entry's hash),
and the chain's head row always exists, so the first appends of a new database are serialised
by the same row lock as every later one.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    # A plain ADD COLUMN (not a batch copy of the table), so the append-only triggers stay.
    op.add_column("audit_events", sa.Column("seal", sa.String(64), nullable=True))
    op.execute(
        sa.text(
            "INSERT INTO audit_head (id, last_id, last_hash) "
            "SELECT 1, 0, :genesis WHERE NOT EXISTS (SELECT 1 FROM audit_head WHERE id = 1)"
        ).bindparams(genesis=GENESIS_HASH)
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_events", recreate="never") as batch:
        batch.drop_column("seal")
