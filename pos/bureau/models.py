"""The bureau's own tables, and the indexes its reports need on the ledger's and earning's tables.

- `checkpoints`: the chain head (seq, hash, time) signed with the bureau's Ed25519 key, one row per signing;
  append-only like the journal (triggers in migration 0009).
- `bureau_verify_runs`: one row per verification of the journal started from the verification page, with its
  progress while it runs and its report when it ends. The row, not the process, holds the state, so any
  server process can answer the page's polling.

The indexes are declared here, on the other packages' tables, because only the reports need them. Each
covers every column one of the report's aggregates reads, in the order it groups by, so SQLite scans a narrow
index instead of the wide rows and groups without a sort (it has no hash aggregation), and PostgreSQL may
answer with an index-only scan:
- `ix_ledger_transfers_bureau_flows`, `ix_ledger_transfers_bureau_credit_flows`: the period's flows by shop,
  code and the debit (credit) account, and the reversals by shop;
- `ix_contributions_bureau_categories`: the points issued by shop and activity category;
- `ix_sales_bureau_transfer`, `ix_sale_lines_bureau`: the sale lines of the sales whose redemption is in the
  period, by shop; `ix_sales_bureau_created`: the sales made in the period, by shop;
- `ix_stock_movements_bureau`: the goods that left each shop, by product and time (valued at the catalogue
  price in force then).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime
from inventory.models import StockMovement
from ledger.earning import Contribution
from ledger.models import Transfer
from pos.sales import Sale, SaleLine

RUNNING, OK, FAILED, ERROR = "running", "ok", "failed", "error"
RUN_STATUSES = (RUNNING, OK, FAILED, ERROR)

_t = Transfer.__table__
FLOWS_INDEX = Index(
    "ix_ledger_transfers_bureau_flows",
    _t.c.store_id, _t.c.code, _t.c.debit_account_id, _t.c.credit_account_id, _t.c.amount, _t.c.reverses_seq,
    _t.c.seq,
)
CREDIT_FLOWS_INDEX = Index(
    "ix_ledger_transfers_bureau_credit_flows",
    _t.c.store_id, _t.c.code, _t.c.credit_account_id, _t.c.amount, _t.c.seq,
)
_c = Contribution.__table__
CONTRIBUTIONS_INDEX = Index(
    "ix_contributions_bureau_categories",
    _c.c.store_id, _c.c.category_id, _c.c.kind, _c.c.transfer_seq, _c.c.points,
)
_s = Sale.__table__
SALES_BY_TRANSFER_INDEX = Index("ix_sales_bureau_transfer", _s.c.store_id, _s.c.transfer_seq, _s.c.id)
SALES_BY_TIME_INDEX = Index("ix_sales_bureau_created", _s.c.store_id, _s.c.created_at, _s.c.points_total)
_l = SaleLine.__table__
LINES_INDEX = Index("ix_sale_lines_bureau", _l.c.sale_id, _l.c.qty, _l.c.points)
_m = StockMovement.__table__
MOVEMENTS_INDEX = Index("ix_stock_movements_bureau", _m.c.store_id, _m.c.kind, _m.c.product_id, _m.c.at,
                        _m.c.qty_delta)


class Checkpoint(Base):
    """A signed chain head. `token` is the compact JWS (EdDSA) over the claims; the other columns repeat
    its claims for querying, and `public_key` is the PEM of the key that signed it (for reference only: a
    verifier trusts the bureau's key it holds, never the one a checkpoint carries)."""

    __tablename__ = "checkpoints"
    __table_args__ = (CheckConstraint("seq >= 0", name="seq_not_negative"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    head_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the head transfer's time (none when empty)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    signed_by: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(Text)
    token: Mapped[str] = mapped_column(Text)


class VerifyRun(Base):
    __tablename__ = "bureau_verify_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'ok', 'failed', 'error')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    head_seq: Mapped[int | None] = mapped_column(BigInteger)
    head_hash: Mapped[str | None] = mapped_column(String(64))
    problem_count: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[str | None] = mapped_column(Text)  # the ledger's Report.to_dict() as JSON
    error: Mapped[str | None] = mapped_column(String(500))
