"""An account's statement: its entries with running balance, newest first, from one indexed query: the
range scans of the transfers' (debit_account_id, debit_version) and (credit_account_id, credit_version)
indexes, merged by version."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import desc, select, union_all
from sqlalchemy.orm import Session

from ledger.accounts import get_account
from ledger.models import Transfer


@dataclass(frozen=True, slots=True)
class StatementEntry:
    seq: int
    at: datetime
    code: str
    amount: int  # signed: what this transfer did to this account
    balance_after: int
    ref: str
    version: int  # the account's version after this entry; pass it as `before_version` for the next page
    transfer_id: uuid.UUID
    reverses: int | None


@dataclass(frozen=True, slots=True)
class Statement:
    account_id: int
    balance: int
    version: int
    entries: list[StatementEntry]

    @property
    def next_before_version(self) -> int | None:
        """Where the next (older) page starts, or None when this page reaches the first entry."""
        if not self.entries or self.entries[-1].version <= 1:
            return None
        return self.entries[-1].version


def statement(session: Session, account_id: int, *, limit: int = 50,
              before_version: int | None = None) -> Statement:
    """The newest `limit` entries of the account (older than `before_version` when given)."""
    account = get_account(session, account_id)
    t = Transfer.__table__
    sides = []
    for side_account, version, balance_after, amount in (
            (t.c.debit_account_id, t.c.debit_version, t.c.debit_balance_after, -t.c.amount),
            (t.c.credit_account_id, t.c.credit_version, t.c.credit_balance_after, t.c.amount)):
        side = select(t.c.seq, t.c.at, t.c.code, amount.label("amount"), balance_after.label("balance_after"),
                      t.c.ref, version.label("version"), t.c.id, t.c.reverses_seq).where(side_account == account_id)
        if before_version is not None:
            side = side.where(version < before_version)
        sides.append(side)
    query = union_all(*sides).order_by(desc("version")).limit(limit)
    rows = session.execute(query)
    return Statement(account.id, account.balance, account.version, [StatementEntry(*row) for row in rows])
