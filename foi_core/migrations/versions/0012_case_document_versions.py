"""A collected document pins the version collected: its SHA-256 when it was collected (the
disclosure bundle discloses exactly those bytes, from the share or the preservation store) and
its last-write time on the share then. Rows collected before this revision take the hash the
case's hold recorded when the file joined it, the version the hold preserved.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table rebuild on SQLite.
    op.add_column(
        "case_documents",
        sa.Column("sha256", sa.String(length=64), nullable=False, server_default=""),
    )
    op.add_column(
        "case_documents",
        sa.Column("share_modified", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        """
        UPDATE case_documents SET sha256 = COALESCE((
            SELECT held_documents.sha256 FROM held_documents
            JOIN cases ON cases.hold_id = held_documents.hold_id
            WHERE cases.id = case_documents.case_id
              AND held_documents.root_id = case_documents.root_id
            ORDER BY held_documents.id LIMIT 1
        ), '')
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("case_documents") as batch:
        batch.drop_column("share_modified")
        batch.drop_column("sha256")
