"""The bureau's own tables, and the indexes its reports need on the ledger's and earning's tables.

- `checkpoints`: the chain head (seq, hash, time) signed with the bureau's Ed25519 key, one row per signing;
  append-only like the journal (triggers in migration 0009).
- `bureau_verify_runs`: one row per verification of the journal started from the verification page, with its
  progress while it runs and its report when it ends. The row, not the process, holds the state, so any
  server process can answer the page's polling.

The indexes are declared here, on the other packages' tables, because only the reports need them:
- `ix_ledger_transfers_bureau_flows` covers every column the reconciliation's passes read, so SQLite scans
  the narrow index instead of the wide rows (hashes, ids, refs) and groups by shop and code without a sort,
  and PostgreSQL can answer with an index-only scan;
- `ix_contributions_bureau_transfer` lets the activity-category breakdown read contributions in journal order
  with their shop, category and points without touching the rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime
from ledger.earning import Contribution
from ledger.models import Transfer

RUNNING, OK, FAILED, ERROR = "running", "ok", "failed", "error"
RUN_STATUSES = (RUNNING, OK, FAILED, ERROR)

_t = Transfer.__table__
FLOWS_INDEX = Index(
    "ix_ledger_transfers_bureau_flows",
    _t.c.store_id, _t.c.code, _t.c.debit_account_id, _t.c.debit_version, _t.c.credit_account_id,
    _t.c.credit_version, _t.c.amount, _t.c.reverses_seq, _t.c.seq,
)
_c = Contribution.__table__
CONTRIBUTIONS_INDEX = Index(
    "ix_contributions_bureau_transfer",
    _c.c.transfer_seq, _c.c.store_id, _c.c.category_id, _c.c.points,
)


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
