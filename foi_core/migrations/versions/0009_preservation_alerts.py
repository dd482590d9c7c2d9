"""Preservation failures are mailed to records managers once per failure: the error last
mailed is kept on the task, so a persisting failure is not mailed again until it changes.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("preservation_tasks") as batch:
        batch.add_column(sa.Column("alerted_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("preservation_tasks") as batch:
        batch.drop_column("alerted_error")
