"""Disclosure bundles are prepared in the background: an export row exists from the moment it
is asked for, with its state, progress and a heartbeat (to tell a stopped export from a slow
one). Rows from before this revision were all finished exports.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_exports") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="done")
        )
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("progress", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_case_exports_status", ["status"])


def downgrade() -> None:
    with op.batch_alter_table("case_exports") as batch:
        batch.drop_index("ix_case_exports_status")
        batch.drop_column("heartbeat_at")
        batch.drop_column("progress")
        batch.drop_column("error")
        batch.drop_column("status")
