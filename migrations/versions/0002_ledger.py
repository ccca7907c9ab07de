"""ledger: accounts, the hash-chained journal of transfers with their entries, the chain head, triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

Transfers (which carry their entries) refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) through
triggers. On SQLite a batch-mode ALTER copies a table into a new one and loses its triggers: a later migration
that batch-alters `ledger_transfers` must create them again (`create_append_only_triggers`), and drop and
recreate the `ledger_entries` view around it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = ("ledger_transfers",)
GENESIS_HASH = b"\x00" * 32

# Each transfer's two entries, one row per account per transfer, for people reading the database with SQL.
ENTRIES_VIEW = """
CREATE VIEW ledger_entries AS
SELECT seq, debit_account_id AS account_id, debit_version AS account_version, -amount AS amount,
       debit_balance_after AS balance_after, code, ref, at
FROM ledger_transfers
UNION ALL
SELECT seq, credit_account_id, credit_version, amount, credit_balance_after, code, ref, at
FROM ledger_transfers
"""


def create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()")
        return
    for table in APPEND_ONLY_TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'ledger is append-only: {action} on {table} refused'); END")


def drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
        return
    for table in APPEND_ONLY_TABLES:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def upgrade() -> None:
    chain_head = op.create_table(
        "ledger_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_chain_head")),
    )
    op.bulk_insert(chain_head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("owner_ref", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("may_go_negative", sa.Boolean(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('member', 'organisation', 'programme', 'donation_fund', 'redemption_sink', 'adjustments')",
            name=op.f("ck_ledger_accounts_kind"),
        ),
        sa.CheckConstraint("balance >= 0 OR may_go_negative", name=op.f("ck_ledger_accounts_not_overdrawn")),
        sa.CheckConstraint("version >= 0", name=op.f("ck_ledger_accounts_version")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_ledger_accounts_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("kind", "owner_ref", name=op.f("uq_ledger_accounts_kind")),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_accounts_store_id"), ["store_id"], unique=False)

    op.create_table(
        "ledger_transfers",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=True),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("debit_version", sa.Integer(), nullable=False),
        sa.Column("debit_balance_after", sa.BigInteger(), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), nullable=False),
        sa.Column("credit_version", sa.Integer(), nullable=False),
        sa.Column("credit_balance_after", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("reverses_seq", sa.BigInteger(), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("(code = 'reversal') = (reverses_seq IS NOT NULL)",
                           name=op.f("ck_ledger_transfers_reversal_names_original")),
        sa.CheckConstraint("code IN ('volunteer_hours', 'donation', 'redemption', 'reversal', 'adjustment')",
                           name=op.f("ck_ledger_transfers_code")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfers_amount_positive")),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name=op.f("ck_ledger_transfers_two_accounts")),
        sa.CheckConstraint("seq > 0", name=op.f("ck_ledger_transfers_seq_positive")),
        sa.CheckConstraint("debit_version > 0 AND credit_version > 0",
                           name=op.f("ck_ledger_transfers_versions_positive")),
        sa.ForeignKeyConstraint(["credit_account_id"], ["ledger_accounts.id"],
                                name=op.f("fk_ledger_transfers_credit_account_id_ledger_accounts")),
        sa.ForeignKeyConstraint(["debit_account_id"], ["ledger_accounts.id"],
                                name=op.f("fk_ledger_transfers_debit_account_id_ledger_accounts")),
        sa.ForeignKeyConstraint(["reverses_seq"], ["ledger_transfers.seq"],
                                name=op.f("fk_ledger_transfers_reverses_seq_ledger_transfers")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_ledger_transfers_store_id_stores")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_transfers")),
        sa.UniqueConstraint("credit_account_id", "credit_version",
                            name=op.f("uq_ledger_transfers_credit_account_id")),
        sa.UniqueConstraint("debit_account_id", "debit_version", name=op.f("uq_ledger_transfers_debit_account_id")),
        sa.UniqueConstraint("id", name=op.f("uq_ledger_transfers_id")),
        sa.UniqueConstraint("reverses_seq", name=op.f("uq_ledger_transfers_reverses_seq")),
    )
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_transfers_ref", ["ref"], unique=False)
    op.execute(ENTRIES_VIEW)
    create_append_only_triggers()


def downgrade() -> None:
    drop_append_only_triggers()
    op.execute("DROP VIEW ledger_entries")
    with op.batch_alter_table("ledger_transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_transfers_ref")
    op.drop_table("ledger_transfers")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_store_id"))
    op.drop_table("ledger_accounts")
    op.drop_table("ledger_chain_head")
