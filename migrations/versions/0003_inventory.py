"""inventory: products, price history, stock settings, levels and append-only movements

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KINDS = ("receipt", "sale", "void_return", "adjustment", "stocktake", "donation_in", "transfer_out", "transfer_in")
REASONS = ("damaged", "expired", "lost", "found", "correction")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# The database itself refuses to rewrite history: UPDATE and DELETE on movements (and on price history) fail.
APPEND_ONLY = ("stock_movements", "product_prices")

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action.upper()} refused'); END"""
    for table in APPEND_ONLY for action in ("update", "delete")
]
PG_FUNCTION = """
CREATE FUNCTION inventory_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END
$$"""
PG_TRIGGERS = [
    stmt for table in APPEND_ONLY for stmt in (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION inventory_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION inventory_append_only()",
    )
]


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=13), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("points_price", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("internal_code", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points_price > 0", name=op.f("ck_products_points_price_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("barcode", name=op.f("uq_products_barcode")),
    )
    op.create_table(
        "product_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("points_price", sa.Integer(), nullable=False),
        sa.Column("valid_from", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.CheckConstraint("points_price > 0", name=op.f("ck_product_prices_points_price_positive")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_product_prices_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_prices")),
    )
    with op.batch_alter_table("product_prices", schema=None) as batch_op:
        batch_op.create_index("ix_product_prices_product_valid_from", ["product_id", "valid_from"], unique=False)
    op.create_table(
        "stock_settings",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("allow_negative", sa.Boolean(), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_stock_settings_store_id_stores")),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_stock_settings")),
    )
    op.create_table(
        "stock_levels",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reorder_level", sa.Integer(), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_stock_levels_product_id_products")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_stock_levels_store_id_stores")),
        sa.PrimaryKeyConstraint("store_id", "product_id", name=op.f("pk_stock_levels")),
    )
    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_levels_product_id"), ["product_id"], unique=False)
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("qty_delta", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("level_after", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.CheckConstraint("qty_delta <> 0", name=op.f("ck_stock_movements_qty_delta_nonzero")),
        sa.CheckConstraint(_in_list("kind", KINDS), name=op.f("ck_stock_movements_kind_known")),
        sa.CheckConstraint(f"(kind = 'adjustment' AND {_in_list('reason', REASONS)}) "
                           "OR (kind <> 'adjustment' AND reason IS NULL)",
                           name=op.f("ck_stock_movements_reason_for_adjustments")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_stock_movements_product_id_products")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_stock_movements_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_movements_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_movements_ref"), ["ref"], unique=False)
        batch_op.create_index("ix_stock_movements_store_product", ["store_id", "product_id", "id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    # Dropping a table drops its triggers on both engines; the PostgreSQL function goes after them.
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_movements_store_product")
        batch_op.drop_index(batch_op.f("ix_stock_movements_ref"))
        batch_op.drop_index(batch_op.f("ix_stock_movements_product_id"))
    op.drop_table("stock_movements")
    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_levels_product_id"))
    op.drop_table("stock_levels")
    op.drop_table("stock_settings")
    with op.batch_alter_table("product_prices", schema=None) as batch_op:
        batch_op.drop_index("ix_product_prices_product_valid_from")
    op.drop_table("product_prices")
    op.drop_table("products")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS inventory_append_only()")
