"""An account's statement: its entries with running balance, newest first, from one indexed query
(the range scan of `ledger_entries (account_id, account_version)` joined to the transfers by seq)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts import get_account
from ledger.models import Entry, Transfer


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
    e, t = Entry.__table__, Transfer.__table__
    query = (
        select(e.c.seq, t.c.at, t.c.code, e.c.amount, e.c.balance_after, t.c.ref, e.c.account_version, t.c.id,
               t.c.reverses_seq)
        .select_from(e.join(t, t.c.seq == e.c.seq))
        .where(e.c.account_id == account_id)
        .order_by(e.c.account_version.desc())
        .limit(limit)
    )
    if before_version is not None:
        query = query.where(e.c.account_version < before_version)
    rows = session.connection().execute(query)
    return Statement(account.id, account.balance, account.version, [StatementEntry(*row) for row in rows])
