"""Each file's crawl state keeps the creation time its listing reported, so a file found at a
new path with a vanished file's file id is taken for that file moved only when its creation
time is the same too: on Samba the file id is the inode, which the file system gives to new
files once the old one is deleted, while a rename keeps both.

Rows from before this revision have none, and a file whose creation time is not known is
never taken for a moved one (see `ingest.processor.FileProcessor._move_source`): its state
gets one when its content next changes.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("file_states", sa.Column("created_ns", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("file_states") as batch:
        batch.drop_column("created_ns")
