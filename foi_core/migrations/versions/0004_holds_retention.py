"""Legal holds, preservation, retention schedules and disposal.

Holds and their membership are never deleted (release is a state change, kept as history):
database triggers refuse DELETE on both tables, as for the audit log.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_NEVER_DELETED = ("holds", "hold_scopes", "held_documents")


def upgrade() -> None:
    op.create_table(
        "disposal_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("schedule_version", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approvals_needed", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.JSON(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executed_by", sa.String(length=150), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("certificate_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("certificate_csv", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_disposal_batches_status"), "disposal_batches", ["status"], unique=False
    )
    op.create_table(
        "held_source_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root_id", sa.String(length=64), nullable=False),
        sa.Column("version_doc_id", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=100), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("old_sha256", sa.String(length=64), nullable=False),
        sa.Column("new_sha256", sa.String(length=64), nullable=False),
        sa.Column("preserved", sa.Boolean(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_held_source_changes_root_id"), "held_source_changes", ["root_id"], unique=False
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=150), nullable=False),
        sa.Column("case_ref", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release_requested_by", sa.String(length=150), nullable=False),
        sa.Column("release_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=False),
        sa.Column("released_by", sa.String(length=150), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(op.f("ix_holds_case_ref"), "holds", ["case_ref"], unique=False)
    op.create_index(op.f("ix_holds_status"), "holds", ["status"], unique=False)
    op.create_table(
        "preservation_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root_id", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=100), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("root_id", "sha256"),
    )
    op.create_index(
        op.f("ix_preservation_tasks_root_id"), "preservation_tasks", ["root_id"], unique=False
    )
    op.create_index(
        op.f("ix_preservation_tasks_sha256"), "preservation_tasks", ["sha256"], unique=False
    )
    op.create_index(
        op.f("ix_preservation_tasks_status"), "preservation_tasks", ["status"], unique=False
    )
    op.create_table(
        "retention_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("loaded_by", sa.String(length=150), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "disposal_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("doc_id", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=100), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("unc", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("class_id", sa.String(length=64), nullable=False),
        sa.Column("class_name", sa.String(length=200), nullable=False),
        sa.Column("authority", sa.Text(), nullable=False),
        sa.Column("disposal_date", sa.Date(), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("excluded_by", sa.String(length=150), nullable=False),
        sa.Column("exclude_reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("outcome_reason", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["disposal_batches.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_id", "doc_id"),
    )
    op.create_index(
        op.f("ix_disposal_items_batch_id"), "disposal_items", ["batch_id"], unique=False
    )
    op.create_index(op.f("ix_disposal_items_doc_id"), "disposal_items", ["doc_id"], unique=False)
    op.create_table(
        "hold_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("doc_id", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=100), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=150), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["holds.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_hold_scopes_hold_id"), "hold_scopes", ["hold_id"], unique=False)
    op.create_table(
        "held_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=True),
        sa.Column("root_id", sa.String(length=64), nullable=False),
        sa.Column("doc_id", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=100), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("conservative", sa.Boolean(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["holds.id"],
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["hold_scopes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hold_id", "root_id"),
    )
    op.create_index(op.f("ix_held_documents_hold_id"), "held_documents", ["hold_id"], unique=False)
    op.create_index(op.f("ix_held_documents_root_id"), "held_documents", ["root_id"], unique=False)
    _refuse_deletes()


def _refuse_deletes() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION holds_never_deleted() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'holds are released, never deleted';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in _NEVER_DELETED:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION holds_never_deleted()"
            )
    elif dialect == "sqlite":
        for table in _NEVER_DELETED:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'holds are released, never deleted'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in _NEVER_DELETED:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS holds_never_deleted()")
    for table in (
        "held_documents",
        "hold_scopes",
        "disposal_items",
        "retention_schedules",
        "preservation_tasks",
        "holds",
        "held_source_changes",
        "disposal_batches",
    ):
        op.drop_table(table)
