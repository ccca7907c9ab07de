"""The inventory's tables. Products are one catalogue for every shop; stock is per shop.

A shop's stock of a product changes only by appending a `StockMovement`; `StockLevel.qty` is a cache of the sum
of its movements (kept in the same transaction, with a version), and the database refuses UPDATE and DELETE on
movements (triggers in migrations/versions/0003_inventory.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

DEFAULT_UNIT = "件"

# Movement kinds (the Chinese names are in pos/i18n/inventory.py).
RECEIPT = "receipt"  # 入库
SALE = "sale"  # 兑换出库
VOID_RETURN = "void_return"  # 作废退回
ADJUSTMENT = "adjustment"  # 报损/盘盈 with a reason
STOCKTAKE = "stocktake"  # 盘点差异
DONATION_IN = "donation_in"  # 捐赠入库
TRANSFER_OUT = "transfer_out"  # 调出
TRANSFER_IN = "transfer_in"  # 调入
MOVEMENT_KINDS = (RECEIPT, SALE, VOID_RETURN, ADJUSTMENT, STOCKTAKE, DONATION_IN, TRANSFER_OUT, TRANSFER_IN)

# Adjustment reasons: the first three take goods away, "found" adds, "correction" may go either way.
REASONS_OUT = ("damaged", "expired", "lost")
REASONS_IN = ("found",)
REASONS_EITHER = ("correction",)
ADJUSTMENT_REASONS = REASONS_OUT + REASONS_IN + REASONS_EITHER


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("points_price > 0", name="points_price_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Canonical: EAN-13 (UPC-A with its leading 0) or EAN-8. The unique index makes scans a single lookup.
    barcode: Mapped[str] = mapped_column(String(13), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(40), default="")
    unit: Mapped[str] = mapped_column(String(16), default=DEFAULT_UNIT)
    # The current price, a cache of the newest ProductPrice row (both written together).
    points_price: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    internal_code: Mapped[bool] = mapped_column(Boolean, default=False)  # code allocated by us (prefix 20)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductPrice(Base):
    """Price history: a price change is a new row from `valid_from`, never an overwrite."""

    __tablename__ = "product_prices"
    __table_args__ = (
        CheckConstraint("points_price > 0", name="points_price_positive"),
        Index("ix_product_prices_product_valid_from", "product_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    points_price: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))


class StockSettings(Base):
    """Per-shop stock policy. No row means the defaults."""

    __tablename__ = "stock_settings"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockLevel(Base):
    """One shop's stock of one product: the cached sum of its movements, and the reorder level."""

    __tablename__ = "stock_levels"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True, index=True)
    qty: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)  # +1 on every change of the row
    reorder_level: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockMovement(Base):
    """Append-only: the database refuses UPDATE and DELETE. A mistake is corrected by another movement."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("qty_delta <> 0", name="qty_delta_nonzero"),
        CheckConstraint(_in_list("kind", MOVEMENT_KINDS), name="kind_known"),
        CheckConstraint(f"(kind = 'adjustment' AND {_in_list('reason', ADJUSTMENT_REASONS)}) "
                        "OR (kind <> 'adjustment' AND reason IS NULL)", name="reason_for_adjustments"),
        Index("ix_stock_movements_store_product", "store_id", "product_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    qty_delta: Mapped[int] = mapped_column(Integer)  # signed: + into the shop, - out of it
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(80), index=True)  # what caused it: "sale:<uuid>", "receipt:<uuid>"
    actor: Mapped[str] = mapped_column(String(64))  # who: a username, or "cli"/"demo"
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    level_after: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(200))
