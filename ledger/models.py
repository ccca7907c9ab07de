"""The journal's tables: accounts, transfers (with their entries) and the chain head.

- An **account** holds points for one holder (a member, an organisation) or is a system account (the
  volunteer-programme source, the donation fund, one redemption sink per shop, the adjustments account).
  Its `balance` is a cache of what its entries add up to, `version` the number of its entries.
- A **transfer** moves a positive integer amount from its debit account to its credit account. It has a
  client id (UUID, the idempotency key), a gapless `seq` and a place in the hash chain (`prev_hash`, `hash`).
- Its two **entries** live on the transfer row itself: for each side, the account, that account's version
  after it (1, 2, 3, ... per account) and the balance after it. The unique indexes on
  (debit_account_id, debit_version) and (credit_account_id, credit_version) make an account's statement with
  running balance one indexed query (two range scans merged by version), and keep the journal one table: the
  verifier streams it without a join, posting writes one row per transfer, and the hash covers the balances.
  The `ledger_entries` view (made by the migration) shows them one row per account per transfer.
- The **chain head** is a single row holding the last seq and hash. Posting locks it (SELECT ... FOR UPDATE on
  PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), which is what makes seq gapless and the
  chain linear.

Transfers are append-only: the migration installs triggers that refuse UPDATE and DELETE.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

# A 64-bit integer everywhere; on SQLite it must be spelled INTEGER to be the rowid alias.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

MEMBER = "member"
ORGANISATION = "organisation"
PROGRAMME = "programme"
DONATION_FUND = "donation_fund"
REDEMPTION_SINK = "redemption_sink"
ADJUSTMENTS = "adjustments"

HOLDER_KINDS = (MEMBER, ORGANISATION)
SYSTEM_KINDS = (PROGRAMME, DONATION_FUND, REDEMPTION_SINK, ADJUSTMENTS)
ACCOUNT_KINDS = HOLDER_KINDS + SYSTEM_KINDS

VOLUNTEER_HOURS = "volunteer_hours"
DONATION = "donation"
REDEMPTION = "redemption"
REVERSAL = "reversal"
ADJUSTMENT = "adjustment"

TRANSFER_CODES = (VOLUNTEER_HOURS, DONATION, REDEMPTION, REVERSAL, ADJUSTMENT)

HASH_SIZE = 32  # SHA-256


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Account(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("kind", "owner_ref"),
        CheckConstraint(_one_of("kind", ACCOUNT_KINDS), name="kind"),
        # The last line of defence for "members never go below zero".
        CheckConstraint("balance >= 0 OR may_go_negative", name="not_overdrawn"),
        CheckConstraint("version >= 0", name="version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    owner_ref: Mapped[str] = mapped_column(String(64))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    may_go_negative: Mapped[bool] = mapped_column(Boolean)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Transfer(Base):
    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint(_one_of("code", TRANSFER_CODES), name="code"),
        CheckConstraint("(code = 'reversal') = (reverses_seq IS NOT NULL)", name="reversal_names_original"),
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint("debit_version > 0 AND credit_version > 0", name="versions_positive"),
        # The statement's indexes: an account's entries in version order, on either side.
        UniqueConstraint("debit_account_id", "debit_version"),
        UniqueConstraint("credit_account_id", "credit_version"),
        Index("ix_ledger_transfers_ref", "ref"),
    )

    # The column order is the order of `posting._insert_transfers`' rows.
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    code: Mapped[str] = mapped_column(String(24))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    debit_version: Mapped[int] = mapped_column(Integer)
    debit_balance_after: Mapped[int] = mapped_column(BigInteger)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    credit_version: Mapped[int] = mapped_column(Integer)
    credit_balance_after: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    ref: Mapped[str] = mapped_column(String(128))
    actor: Mapped[str] = mapped_column(String(64))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    # A transfer is reversed at most once: the unique constraint says so even if the code did not.
    reverses_seq: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_transfers.seq"), unique=True)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))
    hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))


class ChainHead(Base):
    """The one row that posting locks: the last seq and its hash (seq 0 and 32 zero bytes when empty)."""

    __tablename__ = "ledger_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))
