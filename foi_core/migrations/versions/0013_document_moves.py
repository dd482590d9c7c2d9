"""Identity follows a file moved at source: the index ids a move retired lead to the current
ones (`document_moves`), and held files changed or deleted at source are mailed to records
managers once each (`held_source_changes.alerted_at`, claimed before the mail goes). Changes
recorded before this revision have never been mailed, so the first run mails them once.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("old_id", sa.String(length=64), nullable=False),
        sa.Column("new_id", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=100), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("old_id"),
    )
    op.create_index(op.f("ix_document_moves_new_id"), "document_moves", ["new_id"], unique=False)
    with op.batch_alter_table("held_source_changes") as batch:
        batch.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("held_source_changes") as batch:
        batch.drop_column("alerted_at")
    op.drop_index(op.f("ix_document_moves_new_id"), table_name="document_moves")
    op.drop_table("document_moves")
