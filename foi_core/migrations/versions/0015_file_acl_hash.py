"""Each file's crawl state keeps a fingerprint of the ACL fields last indexed for it, so an
incremental crawl notices a permission change (which touches no time SMB reports) and updates
only those fields of the file's documents.

Rows from before this revision have none: the first crawl after it rewrites their ACL fields
once, from the ACL it reads.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("file_states", sa.Column("acl_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("file_states") as batch:
        batch.drop_column("acl_hash")
