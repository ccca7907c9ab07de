"""SQL building blocks over the ledger's tables that the bureau's reports share.

A transfer's two sides are its debit and credit account; a *holder* is a member's or an organisation's
account (what members hold is the outstanding), every other account is a system account (the programme, the
donation fund, the adjustments account, one redemption sink per shop).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from core.stores import Store
from ledger.models import HOLDER_KINDS, Account, Transfer

transfers = Transfer.__table__
accounts = Account.__table__
stores_table = Store.__table__

CHUNK = 5000


def holder_homes(conn: Connection) -> dict[int, int | None]:
    """Every holder's account (a member's, an organisation's) → its home shop (None: of no shop). Every other
    account is a system account."""
    query = select(accounts.c.id, accounts.c.store_id).where(accounts.c.kind.in_(HOLDER_KINDS))
    return {account_id: store_id for account_id, store_id in conn.execute(query)}


@dataclass(frozen=True)
class HolderAccount:
    id: int
    kind: str
    store_id: int | None
    balance: int  # cached on the account row
    version: int
    journal_balance: int  # balance after the entry at the cached version (0 with no entries)
    has_later_entry: bool  # an entry exists past the cached version
    last_seq: int | None  # the transfer of the entry at the cached version

    @property
    def agrees(self) -> bool:
        return self.balance == self.journal_balance and not self.has_later_entry


def holder_accounts(conn: Connection, store_ids: Sequence[int | None] | None) -> dict[int, HolderAccount]:
    """Every holder's account (of the given home shops; None in the list means accounts of no shop), with
    what the journal says its balance is: the balance after its entry at the cached version, and whether an
    entry exists past it. Correlated lookups through the statement indexes (debit_account_id, debit_version) /
    (credit_account_id, credit_version): one index probe per account and side, whatever the journal's size."""
    a, t = accounts, transfers

    def side(column: Any, account: Any, version: Any, offset: int = 0) -> Any:
        return select(column).where(account == a.c.id, version == a.c.version + offset).scalar_subquery()

    query = select(
        a.c.id, a.c.kind, a.c.store_id, a.c.balance, a.c.version,
        side(t.c.debit_balance_after, t.c.debit_account_id, t.c.debit_version),
        side(t.c.credit_balance_after, t.c.credit_account_id, t.c.credit_version),
        side(t.c.seq, t.c.debit_account_id, t.c.debit_version, 1),
        side(t.c.seq, t.c.credit_account_id, t.c.credit_version, 1),
        side(t.c.seq, t.c.debit_account_id, t.c.debit_version),
        side(t.c.seq, t.c.credit_account_id, t.c.credit_version),
    ).where(a.c.kind.in_(HOLDER_KINDS))
    if store_ids is not None:
        query = query.where(store_filter(a.c.store_id, store_ids))
    out: dict[int, HolderAccount] = {}
    for (account_id, kind, store_id, bal, version, debit_after, credit_after, next_d, next_c, seq_d,
         seq_c) in conn.execute(query):
        journal = debit_after if debit_after is not None else credit_after
        out[account_id] = HolderAccount(account_id, kind, store_id, int(bal), int(version),
                                        0 if journal is None else int(journal),
                                        next_d is not None or next_c is not None,
                                        seq_d if seq_d is not None else seq_c)
    return out


def store_filter(column: Any, store_ids: Sequence[int | None]) -> Any:
    ids = [s for s in store_ids if s is not None]
    condition = column.in_(ids)
    return condition | column.is_(None) if None in store_ids else condition


def balances_at(conn: Connection, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """The balance after each (account, version) entry, through the statement indexes; missing ones are
    left out of the answer.

    The pairs go into the SQL as a VALUES list of integer literals (they are ints from the database): tens of
    thousands of bound parameters would cost SQLAlchemy more to compile than the database to answer."""
    pairs = sorted({(int(a), int(v)) for a, v in wanted})
    out: dict[tuple[int, int], int] = {}
    for chunk in _chunks(pairs, CHUNK):
        rows = ", ".join(f"({a}, {v})" for a, v in chunk)
        for side in ("debit", "credit"):
            sql = (f"WITH want(acc, ver) AS (VALUES {rows}) "
                   f"SELECT t.{side}_account_id, t.{side}_version, t.{side}_balance_after "
                   f"FROM want JOIN ledger_transfers t ON t.{side}_account_id = want.acc "
                   f"AND t.{side}_version = want.ver")
            for account_id, version, bal in conn.exec_driver_sql(sql):
                out[(account_id, version)] = int(bal)
    return out


def balances_at_cuts(conn: Connection, cuts: Sequence[int], holders: dict[int, HolderAccount]
                     ) -> dict[int, dict[int, int]]:
    """Each holder's balance after its last entry at or before each cut seq, as the journal recorded it.

    An account's version at a cut is its highest version among the entries up to the cut, on either side; one
    pass over each side's statement index (SQLite reads the seq from the index itself, the rowid) gives it for
    every account, then the balances are looked up by (account, version)."""
    t = transfers
    versions: dict[int, list[int]] = {account_id: [0] * len(cuts) for account_id in holders}
    for side_account, side_version in ((t.c.debit_account_id, t.c.debit_version),
                                       (t.c.credit_account_id, t.c.credit_version)):
        query = select(side_account, *[func.max(case((t.c.seq <= c, side_version), else_=None)) for c in cuts]
                       ).group_by(side_account)
        for account_id, *at_cuts in conn.execute(query):
            held = versions.get(account_id)
            if held is None:
                continue
            for i, version in enumerate(at_cuts):
                if version is not None and version > held[i]:
                    held[i] = int(version)
    recorded = balances_at(conn, [(a, v) for a, vs in versions.items() for v in vs if v > 0])
    return {c: {a: (recorded.get((a, vs[i]), 0) if vs[i] else 0) for a, vs in versions.items()}
            for i, c in enumerate(cuts)}


def holder_nets(conn: Connection, position: Any, account_ids: Sequence[int]) -> dict[int, int]:
    """What the period's transfers did to each of these accounts (amounts only); for finding the accounts
    behind a failing identity, so it runs only then."""
    t = transfers
    wanted = set(account_ids)
    nets: dict[int, int] = {}
    in_period = and_(t.c.seq > position.lo, t.c.seq <= position.hi)
    for side_account, sign in ((t.c.debit_account_id, -1), (t.c.credit_account_id, 1)):
        for account_id, amount in conn.execute(select(side_account, func.sum(t.c.amount)).where(in_period)
                                               .group_by(side_account)):
            if account_id in wanted:
                nets[account_id] = nets.get(account_id, 0) + sign * int(amount)
    return nets


def account_entries(conn: Connection, account_id: int, *, after_seq: int, limit: int = 500
                    ) -> list[tuple[int, int, int, int]]:
    """(version, seq, signed amount, balance after) of an account's entries after `after_seq`, preceded by
    the entry just before them (when there is one)."""
    t = transfers
    rows: list[tuple[int, int, int, int]] = []
    for side_account, side_version, side_after, signed in (
            (t.c.debit_account_id, t.c.debit_version, t.c.debit_balance_after, -t.c.amount),
            (t.c.credit_account_id, t.c.credit_version, t.c.credit_balance_after, t.c.amount)):
        query = (select(side_version, t.c.seq, signed, side_after)
                 .where(side_account == account_id, t.c.seq > after_seq)
                 .order_by(t.c.seq).limit(limit))
        rows.extend((int(v), int(s), int(a), int(b)) for v, s, a, b in conn.execute(query))
    rows.sort(key=lambda r: r[1])
    rows = rows[:limit]
    if rows and rows[0][0] > 1:
        before = rows[0][0] - 1
        balance = balances_at(conn, [(account_id, before)]).get((account_id, before))
        if balance is not None:
            rows.insert(0, (before, after_seq, 0, balance))
    return rows


def store_names(conn: Connection) -> dict[int, tuple[str, str]]:
    return {row.id: (row.code, row.name) for row in conn.execute(
        select(stores_table.c.id, stores_table.c.code, stores_table.c.name).order_by(stores_table.c.code))}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
