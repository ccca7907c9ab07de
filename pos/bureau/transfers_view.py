"""The transfers behind an identity or a flag, as the bureau's pages show them: each with its two accounts
(whose, which shop), the balances after it, its reversal, its place in the chain, and what caused it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.members import Member
from ledger.models import MEMBER, Account, Transfer
from pos.bureau.journal import store_names
from pos.bureau.periods import iso

transfers_table = Transfer.__table__
accounts = Account.__table__
members = Member.__table__


def transfers(session: Session, seqs: Sequence[int], viewer_store_id: int | None) -> dict[str, Any]:
    """The transfers with these seqs (those of the viewer's shop only, for a shop user), in seq order."""
    conn = session.connection()
    t = transfers_table
    reversal = transfers_table.alias("reversal")
    rows = conn.execute(
        select(t.c.seq, t.c.id, t.c.at, t.c.code, t.c.amount, t.c.ref, t.c.actor, t.c.store_id, t.c.reverses_seq,
               t.c.debit_account_id, t.c.debit_balance_after, t.c.credit_account_id, t.c.credit_balance_after,
               t.c.prev_hash, t.c.hash, reversal.c.seq.label("reversed_by"))
        .select_from(t.outerjoin(reversal, reversal.c.reverses_seq == t.c.seq))
        .where(t.c.seq.in_(list(seqs))).order_by(t.c.seq)).all()
    visible = [r for r in rows if viewer_store_id is None or r.store_id == viewer_store_id]
    account_ids = {r.debit_account_id for r in visible} | {r.credit_account_id for r in visible}
    described = _accounts(session, account_ids)
    shops = {store_id: code for store_id, (code, _name) in store_names(conn).items()}
    found = {r.seq for r in rows}
    return {
        "transfers": [{
            "seq": r.seq, "id": str(r.id), "at": iso(r.at), "code": r.code, "amount": r.amount, "ref": r.ref,
            "cause": _cause(r.ref), "actor": r.actor, "store": shops.get(r.store_id), "reverses": r.reverses_seq,
            "reversed_by": r.reversed_by,
            "debit": {**described.get(r.debit_account_id, {}), "balance_after": r.debit_balance_after},
            "credit": {**described.get(r.credit_account_id, {}), "balance_after": r.credit_balance_after},
            "prev_hash": r.prev_hash.hex(), "hash": r.hash.hex(),
        } for r in visible],
        "hidden": len(rows) - len(visible),
        "missing": sorted(set(seqs) - found),
    }


def _accounts(session: Session, account_ids: set[int]) -> dict[int, dict[str, Any]]:
    if not account_ids:
        return {}
    conn = session.connection()
    shops = {store_id: code for store_id, (code, _name) in store_names(conn).items()}
    rows = conn.execute(select(accounts.c.id, accounts.c.kind, accounts.c.store_id, accounts.c.owner_ref)
                        .where(accounts.c.id.in_(sorted(account_ids)))).all()
    names = {account_id: name for account_id, name in conn.execute(
        select(members.c.account_id, members.c.name).where(members.c.account_id.in_(sorted(account_ids))))}
    return {r.id: {"account_id": r.id, "kind": r.kind, "store": shops.get(r.store_id),
                   "holder": names.get(r.id) if r.kind == MEMBER else None} for r in rows}


def _cause(ref: str) -> dict[str, str] | None:
    """What the ref names: a sale or a contribution (the pages link to them), or nothing known."""
    kind, _, ident = ref.partition(":")
    if kind in ("sale", "contribution") and ident:
        return {"kind": kind, "id": ident}
    return None
