"""Sales at the counter, their lines, and the clerks' shifts (交班).

A sale spans the ledger (the redemption transfer) and the inventory (the stock movements), so its records live
here in `pos`. The use cases that write them are in `pos.services.checkout`.

- `Sale`: one redemption at the counter. Its id is the client's UUID (the idempotency key). It keeps what the
  receipt said: the member, the card used, the total and the balance before and after, the clerk, the shift,
  the ledger transfer (seq and id) and the receipt's print job. A void changes its status once (completed →
  voided) and records who, when, why, the reversing transfer and the shift the void belongs to.
- `SaleLine`: one product of a sale (lines of the same barcode are merged) at the price it sold for.
- `Shift`: a clerk's shift in a shop. It opens with their first sale (or with a void of one of their sales
  made after their last shift closed) and is closed by `POST /shifts/close`, which stores the Z report and the
  journal's head seq at that moment (`close_seq`). The ledger window of a clerk's shift is
  (previous shift's close_seq, or its own open_seq for a first shift; close_seq]: the Z report's cross-check
  reads the journal in that window.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime

COMPLETED = "completed"
VOIDED = "voided"
SALE_STATUSES = (COMPLETED, VOIDED)

MAX_LINES = 100  # distinct lines a sale may carry; a village shop's basket is a handful
MAX_QTY = 999  # per line, also after lines of the same barcode are merged
MAX_REASON = 200
USERNAME = 64
OPEN = "closed_at IS NULL"


class Shift(Base):
    __tablename__ = "shifts"
    __table_args__ = (
        # One open shift per clerk and shop: concurrent first sales insert it with ON CONFLICT DO NOTHING.
        Index("uq_shifts_open_clerk", "store_id", "clerk_id", unique=True,
              sqlite_where=text(OPEN), postgresql_where=text(OPEN)),
        Index("ix_shifts_store_opened", "store_id", "opened_at"),
        CheckConstraint("(closed_at IS NULL) = (close_seq IS NULL)", name="closed_with_seq"),
        CheckConstraint("(closed_at IS NULL) = (z_report IS NULL)", name="closed_with_report"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    clerk_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    clerk: Mapped[str] = mapped_column(String(USERNAME))  # the username, as printed
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The ledger's head seq when the shift opened, before its first transfer: where the window of a clerk's
    # first shift starts (later shifts start where the previous one closed).
    open_seq: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(USERNAME))
    close_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    # The ledger's head seq when the shift closed: the upper end of the shift's window in the journal.
    close_seq: Mapped[int | None] = mapped_column(BigInteger)
    z_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Sale(Base):
    __tablename__ = "sales"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in SALE_STATUSES)})", name="status"),
        CheckConstraint("points_total > 0", name="points_total_positive"),
        CheckConstraint("balance_before - points_total = balance_after", name="balance_arithmetic"),
        CheckConstraint("(status = 'voided') = (voided_at IS NOT NULL)", name="voided_at"),
        CheckConstraint("(status = 'voided') = (reversal_seq IS NOT NULL)", name="voided_reversal"),
        CheckConstraint("(status = 'voided') = (void_shift_id IS NOT NULL)", name="voided_shift"),
        Index("ix_sales_store_created", "store_id", "created_at"),
        Index("ix_sales_shift_id", "shift_id"),
        Index("ix_sales_void_shift_id", "void_shift_id"),
        Index("ix_sales_member_created", "member_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the client's id
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    clerk_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    clerk: Mapped[str] = mapped_column(String(USERNAME))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    card_number: Mapped[str] = mapped_column(String(16))  # the card scanned for this sale
    points_total: Mapped[int] = mapped_column(BigInteger)
    balance_before: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shift_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shifts.id"))
    transfer_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_transfers.seq"), unique=True)
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    receipt_job_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # print jobs may be purged one day: no FK
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[str | None] = mapped_column(String(USERNAME))
    void_reason: Mapped[str | None] = mapped_column(String(MAX_REASON))
    # The shift the void belongs to: the sale's own while it is open, else its clerk's next one.
    void_shift_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shifts.id"))
    reversal_seq: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_transfers.seq"), unique=True)
    reversal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    balance_after_void: Mapped[int | None] = mapped_column(BigInteger)


class SaleLine(Base):
    __tablename__ = "sale_lines"
    __table_args__ = (
        CheckConstraint(f"qty BETWEEN 1 AND {MAX_QTY}", name="qty_range"),
        CheckConstraint("points_price > 0", name="points_price_positive"),
        CheckConstraint("points = qty * points_price", name="points_arithmetic"),
    )

    sale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0, 1, ... as scanned
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    barcode: Mapped[str] = mapped_column(String(13))
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(16))
    qty: Mapped[int] = mapped_column(Integer)
    points_price: Mapped[int] = mapped_column(Integer)  # the price it sold at; later price changes do not touch it
    points: Mapped[int] = mapped_column(BigInteger)
