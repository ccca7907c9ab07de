"""bureau: signed checkpoints (append-only), verification runs, covering indexes for the reports

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Checkpoints are evidence: the database refuses to change or delete one (triggers, SQLite and PostgreSQL).
The indexes are plain CREATE INDEX (no batch copy of `ledger_transfers`, so its append-only triggers stay).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Covering indexes for the reports (see pos/bureau/models.py): name, table, columns.
INDEXES = [
    ("ix_ledger_transfers_bureau_flows", "ledger_transfers",
     ["store_id", "code", "debit_account_id", "credit_account_id", "amount", "reverses_seq", "seq"]),
    ("ix_ledger_transfers_bureau_credit_flows", "ledger_transfers",
     ["store_id", "code", "credit_account_id", "amount", "seq"]),
    ("ix_contributions_bureau_categories", "contributions",
     ["store_id", "category_id", "kind", "transfer_seq", "points"]),
    ("ix_sales_bureau_transfer", "sales", ["store_id", "transfer_seq", "id"]),
    ("ix_sales_bureau_created", "sales", ["store_id", "created_at", "points_total"]),
    ("ix_sale_lines_bureau", "sale_lines", ["sale_id", "qty", "points"]),
    ("ix_stock_movements_bureau", "stock_movements", ["store_id", "kind", "product_id", "at", "qty_delta"]),
]


def create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION checkpoints_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'checkpoints are kept: % refused', TG_OP USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        op.execute("CREATE TRIGGER checkpoints_kept BEFORE UPDATE OR DELETE ON checkpoints "
                   "FOR EACH ROW EXECUTE FUNCTION checkpoints_refuse_change()")
        op.execute("CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints "
                   "FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_refuse_change()")
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER checkpoints_no_{action.lower()} BEFORE {action} ON checkpoints "
                   f"BEGIN SELECT RAISE(ABORT, 'checkpoints are kept: {action} refused'); END")


def drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS checkpoints_kept ON checkpoints")
        op.execute("DROP TRIGGER IF EXISTS checkpoints_no_truncate ON checkpoints")
        op.execute("DROP FUNCTION IF EXISTS checkpoints_refuse_change()")
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS checkpoints_no_{action}")


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("head_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signed_by", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_checkpoints_seq_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
    )
    op.create_index(op.f("ix_checkpoints_signed_at"), "checkpoints", ["signed_at"], unique=False)
    op.create_table(
        "bureau_verify_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), nullable=True),
        sa.Column("head_hash", sa.String(length=64), nullable=True),
        sa.Column("problem_count", sa.Integer(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.CheckConstraint("status IN ('running', 'ok', 'failed', 'error')", name=op.f("ck_bureau_verify_runs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_verify_runs")),
    )
    op.create_index(op.f("ix_bureau_verify_runs_started_at"), "bureau_verify_runs", ["started_at"], unique=False)
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    create_triggers()


def downgrade() -> None:
    drop_triggers()
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index(op.f("ix_bureau_verify_runs_started_at"), table_name="bureau_verify_runs")
    op.drop_table("bureau_verify_runs")
    op.drop_index(op.f("ix_checkpoints_signed_at"), table_name="checkpoints")
    op.drop_table("checkpoints")
