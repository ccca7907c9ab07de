"""printing: the durable print queue (print_jobs)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "print_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("printer", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("printed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('receipt', 'reprint', 'z_report', 'card', 'label', 'donation_receipt', 'test_page')",
            name=op.f("ck_print_jobs_kind"),
        ),
        sa.CheckConstraint("status IN ('queued', 'printing', 'printed', 'failed')", name=op.f("ck_print_jobs_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_print_jobs_attempts")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_print_jobs_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_jobs")),
    )
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_print_jobs_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_print_jobs_ref"), ["ref"], unique=False)
        batch_op.create_index("ix_print_jobs_store_created", ["store_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_print_jobs_store_created")
        batch_op.drop_index(batch_op.f("ix_print_jobs_ref"))
        batch_op.drop_index("ix_print_jobs_due")
    op.drop_table("print_jobs")
