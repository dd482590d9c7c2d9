"""Disposal batches record the hash of the schedule they were built under, and each item the
share's last-write time apart from the date inside the file, the date its rule counted from
and the rule in words, for the destruction certificate.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table rebuild on SQLite.
    op.add_column(
        "disposal_batches",
        sa.Column("schedule_sha256", sa.String(64), nullable=False, server_default=""),
    )
    op.add_column(
        "disposal_items", sa.Column("embedded_modified", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("disposal_items", sa.Column("trigger_date", sa.Date(), nullable=True))
    op.add_column("disposal_items", sa.Column("rule", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("disposal_items", recreate="never") as batch:
        batch.drop_column("rule")
        batch.drop_column("trigger_date")
        batch.drop_column("embedded_modified")
    with op.batch_alter_table("disposal_batches", recreate="never") as batch:
        batch.drop_column("schedule_sha256")
