"""At most one queued or running disclosure bundle per case, enforced by the database: two web
workers answering a double click cannot both queue one (cases.export_jobs).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PENDING = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_index(
        "uq_case_exports_pending",
        "case_exports",
        ["case_id"],
        unique=True,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("uq_case_exports_pending", table_name="case_exports")
