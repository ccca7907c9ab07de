"""The journal as a plain-text accounting file that `hledger` and `ledger` read (`hledger -f FILE balance`).

One transaction per transfer, dated in shop time (Asia/Shanghai), in seq order:

    2025-03-01 (#1234) redemption sale:2f1c...
        members:DSC:a1021         -30
        sinks:DSC                  30

Accounts are named so that their tree sums the way the bureau reads the books: `members:<shop>:a<id>` and
`organisations:<shop>:a<id>` (what holders hold, by home shop: `hledger balance members --depth 2` is the
outstanding per shop), `sinks:<shop>` (what each shop took in), `programme`, `donation_fund`, `adjustments`.
Points carry no commodity. The export streams: memory grows with the number of accounts, not transfers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from typing import IO

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ledger.models import MEMBER, ORGANISATION, REDEMPTION_SINK, Account, Transfer
from ledger.verify import stream
from pos.bureau.journal import store_names
from pos.bureau.periods import SHOP_TZ

transfers = Transfer.__table__
accounts = Account.__table__


def account_names(conn: Connection) -> dict[int, str]:
    codes = {store_id: code for store_id, (code, _name) in store_names(conn).items()}
    names: dict[int, str] = {}
    for account_id, kind, store_id in conn.execute(select(accounts.c.id, accounts.c.kind, accounts.c.store_id)):
        shop = codes.get(store_id, "none") if store_id is not None else "none"
        if kind == MEMBER:
            names[account_id] = f"members:{shop}:a{account_id}"
        elif kind == ORGANISATION:
            names[account_id] = f"organisations:{shop}:a{account_id}"
        elif kind == REDEMPTION_SINK:
            names[account_id] = f"sinks:{shop}"
        else:
            names[account_id] = kind
    return names


def journal_lines(session: Session) -> Iterator[str]:
    conn = session.connection()
    names = account_names(conn)
    t = transfers
    query = select(t.c.seq, t.c.at, t.c.code, t.c.ref, t.c.debit_account_id, t.c.credit_account_id,
                   t.c.amount).order_by(t.c.seq)
    day_of: dict[str, str] = {}
    for seq, at, code, ref, debit, credit, amount in stream(conn, query):
        # Shop-local date; cached per UTC hour, as a million conversions would cost more than the rest.
        hour = at.strftime("%Y%m%d%H")
        day = day_of.get(hour)
        if day is None:
            day = day_of[hour] = at.replace(tzinfo=UTC).astimezone(SHOP_TZ).strftime("%Y-%m-%d")
        yield (f"{day} (#{seq}) {code} {_clean(ref)}\n"
               f"    {names[debit]}  {-amount}\n"
               f"    {names[credit]}  {amount}\n\n")


def write_plain_journal(session: Session, out: IO[str]) -> int:
    count = 0
    for line in journal_lines(session):
        out.write(line)
        count += 1
    return count


def _clean(text: str) -> str:
    # A description is one line; `;` would start a comment for both tools.
    return text.replace("\n", " ").replace("\r", " ").replace(";", ",")
