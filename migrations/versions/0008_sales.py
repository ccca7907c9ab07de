"""sales: shifts, sales and their lines (checkout at the counter)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OPEN = "closed_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "shifts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("clerk", sa.String(length=64), nullable=False),
        sa.Column("opened_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("open_seq", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("close_request_id", sa.Uuid(), nullable=True),
        sa.Column("close_seq", sa.BigInteger(), nullable=True),
        sa.Column("z_report", sa.JSON(), nullable=True),
        sa.CheckConstraint("(closed_at IS NULL) = (close_seq IS NULL)", name=op.f("ck_shifts_closed_with_seq")),
        sa.CheckConstraint("(closed_at IS NULL) = (z_report IS NULL)", name=op.f("ck_shifts_closed_with_report")),
        sa.ForeignKeyConstraint(["clerk_id"], ["users.id"], name=op.f("fk_shifts_clerk_id_users")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_shifts_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shifts")),
        sa.UniqueConstraint("close_request_id", name=op.f("uq_shifts_close_request_id")),
    )
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shifts_clerk_id"), ["clerk_id"], unique=False)
        batch_op.create_index("ix_shifts_store_opened", ["store_id", "opened_at"], unique=False)
        # One open shift per clerk and shop.
        batch_op.create_index("uq_shifts_open_clerk", ["store_id", "clerk_id"], unique=True,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))

    op.create_table(
        "sales",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("clerk", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("points_total", sa.BigInteger(), nullable=False),
        sa.Column("balance_before", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shift_id", sa.Uuid(), nullable=False),
        sa.Column("transfer_seq", sa.BigInteger(), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("receipt_job_id", sa.Uuid(), nullable=False),
        sa.Column("voided_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.String(length=64), nullable=True),
        sa.Column("void_reason", sa.String(length=200), nullable=True),
        sa.Column("void_shift_id", sa.Uuid(), nullable=True),
        sa.Column("reversal_seq", sa.BigInteger(), nullable=True),
        sa.Column("reversal_id", sa.Uuid(), nullable=True),
        sa.Column("balance_after_void", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("(status = 'voided') = (reversal_seq IS NOT NULL)", name=op.f("ck_sales_voided_reversal")),
        sa.CheckConstraint("(status = 'voided') = (void_shift_id IS NOT NULL)", name=op.f("ck_sales_voided_shift")),
        sa.CheckConstraint("(status = 'voided') = (voided_at IS NOT NULL)", name=op.f("ck_sales_voided_at")),
        sa.CheckConstraint("status IN ('completed', 'voided')", name=op.f("ck_sales_status")),
        sa.CheckConstraint("balance_before - points_total = balance_after", name=op.f("ck_sales_balance_arithmetic")),
        sa.CheckConstraint("points_total > 0", name=op.f("ck_sales_points_total_positive")),
        sa.ForeignKeyConstraint(["clerk_id"], ["users.id"], name=op.f("fk_sales_clerk_id_users")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_sales_member_id_members")),
        sa.ForeignKeyConstraint(["reversal_seq"], ["ledger_transfers.seq"],
                                name=op.f("fk_sales_reversal_seq_ledger_transfers")),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"], name=op.f("fk_sales_shift_id_shifts")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_sales_store_id_stores")),
        sa.ForeignKeyConstraint(["transfer_seq"], ["ledger_transfers.seq"],
                                name=op.f("fk_sales_transfer_seq_ledger_transfers")),
        sa.ForeignKeyConstraint(["void_shift_id"], ["shifts.id"], name=op.f("fk_sales_void_shift_id_shifts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales")),
        sa.UniqueConstraint("reversal_id", name=op.f("uq_sales_reversal_id")),
        sa.UniqueConstraint("reversal_seq", name=op.f("uq_sales_reversal_seq")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_sales_transfer_id")),
        sa.UniqueConstraint("transfer_seq", name=op.f("uq_sales_transfer_seq")),
    )
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.create_index("ix_sales_member_created", ["member_id", "created_at"], unique=False)
        batch_op.create_index("ix_sales_shift_id", ["shift_id"], unique=False)
        batch_op.create_index("ix_sales_store_created", ["store_id", "created_at"], unique=False)
        batch_op.create_index("ix_sales_void_shift_id", ["void_shift_id"], unique=False)

    op.create_table(
        "sale_lines",
        sa.Column("sale_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=13), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("points_price", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("points = qty * points_price", name=op.f("ck_sale_lines_points_arithmetic")),
        sa.CheckConstraint("points_price > 0", name=op.f("ck_sale_lines_points_price_positive")),
        sa.CheckConstraint("qty BETWEEN 1 AND 999", name=op.f("ck_sale_lines_qty_range")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_sale_lines_product_id_products")),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], name=op.f("fk_sale_lines_sale_id_sales")),
        sa.PrimaryKeyConstraint("sale_id", "line_no", name=op.f("pk_sale_lines")),
    )
    with op.batch_alter_table("sale_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sale_lines_product_id"), ["product_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sale_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sale_lines_product_id"))
    op.drop_table("sale_lines")
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_void_shift_id")
        batch_op.drop_index("ix_sales_store_created")
        batch_op.drop_index("ix_sales_shift_id")
        batch_op.drop_index("ix_sales_member_created")
    op.drop_table("sales")
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_index("uq_shifts_open_clerk", sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
        batch_op.drop_index("ix_shifts_store_opened")
        batch_op.drop_index(batch_op.f("ix_shifts_clerk_id"))
    op.drop_table("shifts")
