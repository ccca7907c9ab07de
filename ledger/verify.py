"""Verifying the journal: the hash chain, gapless seq, every balance, the cached balances, the sum of zero.

`verify(session)` streams the journal in seq order (a server-side cursor on PostgreSQL, chunked fetches on
SQLite; Core rows, never ORM objects), so memory grows with the number of accounts, never with the number of
transfers. It recomputes:

- the chain: each transfer's prev_hash is the previous transfer's hash, and its hash is SHA-256 over the
  previous hash and its canonical encoding (`ledger.chain`);
- seq: 1, 2, 3, ... with nothing missing, and the chain head row at the last transfer;
- balances: each transfer's two entries (on the transfer row) carry the next version of their account and the
  balance after that follows from the previous one by the amount; no holder's account below zero; every
  account's cached balance and version equal what its entries come to; the balances sum to zero.

The report names each problem by the seq where it shows (`Problem.seq`; None for a problem of an account as a
whole, such as a cached balance) and what is wrong (`Problem.what`, one of WHATS). After a balance problem the
recomputation continues from the stored balance, so one bad row is reported once, not at every later row.

The snapshot matters on PostgreSQL: run it in a REPEATABLE READ transaction (`snapshot_session`) so the stream
and the account totals see the same moment while tablets keep posting.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from sqlalchemy import Connection, String, Text, cast, func, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from ledger.chain import GENESIS_HASH, encode, encode_typed
from ledger.models import Account, ChainHead, Transfer

WHATS = {
    "gap": "a seq is missing",
    "out_of_order": "a seq comes after a later one",
    "chain_broken": "prev_hash is not the previous transfer's hash",
    "hash_mismatch": "the hash does not match the transfer's content",
    "balance_mismatch": "a balance does not follow from the transfers",
    "overdrawn": "a holder's account is below zero",
    "sum_not_zero": "the balances do not sum to zero",
    "truncated": "transfers are missing at the end",
    "head_mismatch": "the chain head does not match the last transfer",
    "anchor_mismatch": "the transfer at the anchor seq does not have the expected hash",
    "malformed": "a line of the export cannot be read",
}

PROGRESS_EVERY = 8192
STREAM_CHUNK = 10_000

transfers = Transfer.__table__
accounts = Account.__table__
chain_head = ChainHead.__table__


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None
    what: str
    detail: str = ""
    account: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "what": self.what, "detail": self.detail}
        if self.account is not None:
            out["account"] = self.account
        return out


@dataclass
class Report:
    transfers: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH.hex()
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0  # all found; `problems` keeps the first `max_problems` by seq

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "transfers": self.transfers, "head": {"seq": self.head_seq, "hash": self.head_hash},
                "problems": [p.to_dict() for p in self.problems], "problem_count": self.problem_count}


class Problems:
    """Keeps the `limit` problems with the lowest seq (account-wide problems after all seqs), in bounded memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self._heap: list[tuple[int, int, Problem]] = []  # max-heap by (seq, order) via negation

    def add(self, seq: int | None, what: str, detail: str = "", account: int | None = None) -> None:
        self.count += 1
        key = (1 << 62) if not isinstance(seq, int) or isinstance(seq, bool) else seq
        problem = Problem(seq if isinstance(seq, int) else None, what, detail, account)
        item = (-key, -self.count, problem)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def sorted(self) -> list[Problem]:
        return [p for _, _, p in sorted(self._heap, reverse=True)]


@dataclass
class Tally:
    """What a pass over the journal leaves behind: position, balances and versions per account."""

    count: int = 0
    last_seq: int = 0
    last_hash: bytes | None = GENESIS_HASH
    balances: dict[int, int] = field(default_factory=dict)
    versions: dict[int, int] = field(default_factory=dict)


def check_journal(
    rows: Iterable[tuple[Any, ...]],
    problems: Problems,
    *,
    start_seq: int = 0,
    start_hash: bytes | None = GENESIS_HASH,
    opening_known: bool = True,
    typed: bool = False,
    may_go_negative: dict[int, bool] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Tally:
    """The one loop behind `verify` and `check_export`.

    Each row is (seq, id, batch, at, code, debit, debit_version, debit_balance_after, credit, credit_version,
    credit_balance_after, amount, ref, actor, store_id, reverses, prev_hash, hash) in canonical values.
    `typed`: the rows come from the database's typed columns (see `chain.encode_typed`). `start_hash=None`
    takes the first prev_hash on trust; `opening_known=False` takes each account's first balance and version
    on trust (an export after a seq).
    """
    balances: dict[int, int] = {}
    versions: dict[int, int] = {}
    expected = start_seq + 1
    last_seq, last_hash = start_seq, start_hash
    count = 0
    add = problems.add
    check_overdraft = may_go_negative is not None
    encoder = encode_typed if typed else encode
    for row in rows:
        (seq, tid, batch, at, code, debit, debit_version, debit_after, credit, credit_version, credit_after,
         amount, ref, actor, store_id, reverses, prev_hash, hash_) = row
        count += 1
        if seq != expected:
            if type(seq) is not int:
                add(None, "malformed", f"seq {seq!r} is not a number")
                continue
            if seq > expected:
                add(expected, "gap", f"no transfer {expected}" if seq == expected + 1
                    else f"no transfers {expected}..{seq - 1}")
            else:
                add(seq, "out_of_order", f"seq {seq} comes after {expected - 1}")
        if prev_hash != last_hash and last_hash is not None:
            add(seq, "chain_broken", "prev_hash is not the hash of the transfer before")
        try:
            computed = sha256(prev_hash + encoder((
                seq, tid, batch, at, code, debit, debit_version, debit_after, credit, credit_version, credit_after,
                amount, ref, actor, store_id, reverses))).digest()
        except (TypeError, ValueError):
            computed = None
        if computed != hash_:
            add(seq, "hash_mismatch", "the stored hash is not the hash of this transfer's content"
                if computed is not None else "the transfer has values of the wrong type")
        last_hash = hash_
        if seq >= expected:
            expected = seq + 1
        last_seq = seq
        if computed is None:
            continue  # ill-typed: reported; no arithmetic on it
        try:
            if opening_known:
                want_debit = balances.get(debit, 0) - amount
                want_credit = balances.get(credit, 0) + amount
                want_dv = versions.get(debit, 0) + 1
                want_cv = versions.get(credit, 0) + 1
            else:
                want_debit = balances.get(debit, debit_after + amount) - amount
                want_credit = balances.get(credit, credit_after - amount) + amount
                want_dv = versions.get(debit, debit_version - 1) + 1
                want_cv = versions.get(credit, credit_version - 1) + 1
            if debit_after != want_debit or credit_after != want_credit:
                add(seq, "balance_mismatch", _balance_detail(debit, credit, want_debit, want_credit, debit_after,
                                                             credit_after))
            if debit_version != want_dv or credit_version != want_cv:
                add(seq, "balance_mismatch", f"versions {debit_version}/{credit_version}, expected {want_dv}/{want_cv}")
            # Go on from the stored values, so one bad row is reported once, not at every later row.
            balances[debit] = debit_after
            balances[credit] = credit_after
            versions[debit] = debit_version
            versions[credit] = credit_version
            if debit_after < 0 and check_overdraft and not may_go_negative.get(debit, True):  # type: ignore[union-attr]
                add(seq, "overdrawn", f"account {debit} at {debit_after}", debit)
        except TypeError:  # a value of the wrong type in a typed row: its hash did not match; reported above
            continue
        if count % PROGRESS_EVERY == 0 and progress is not None:
            progress(PROGRESS_EVERY)
    if progress is not None:
        progress(count % PROGRESS_EVERY)
    return Tally(count, last_seq, last_hash, balances, versions)


def _balance_detail(debit: int, credit: int, want_debit: int, want_credit: int, debit_after: int,
                    credit_after: int) -> str:
    parts = []
    if debit_after != want_debit:
        parts.append(f"account {debit} after is {debit_after}, recomputed {want_debit}")
    if credit_after != want_credit:
        parts.append(f"account {credit} after is {credit_after}, recomputed {want_credit}")
    return "; ".join(parts)


# --- the database side ----------------------------------------------------------------------------------

def journal_select(dialect: str, after_seq: int = 0) -> Any:
    """Transfers in seq order in canonical values (`ledger.chain`), in `check_journal`'s column order."""
    t = transfers
    if dialect == "sqlite":
        # SQLite stores exactly the canonical text: take it raw, with no UUID or datetime objects in between.
        tid, batch, at = type_coerce(t.c.id, String), type_coerce(t.c.batch_id, String), type_coerce(t.c.at, String)
    else:
        tid = func.replace(cast(t.c.id, Text), "-", "")
        batch = func.replace(cast(t.c.batch_id, Text), "-", "")
        at = func.to_char(func.timezone("UTC", t.c.at), "YYYY-MM-DD HH24:MI:SS.US")
    return (
        select(t.c.seq, tid, batch, at, t.c.code, t.c.debit_account_id, t.c.debit_version, t.c.debit_balance_after,
               t.c.credit_account_id, t.c.credit_version, t.c.credit_balance_after, t.c.amount, t.c.ref, t.c.actor,
               t.c.store_id, t.c.reverses_seq, t.c.prev_hash, t.c.hash)
        .where(t.c.seq > after_seq)
        .order_by(t.c.seq)
    )


def stream(conn: Connection, statement: Any) -> Iterator[Any]:
    """Rows of `statement` fetched in chunks (a server-side cursor on PostgreSQL)."""
    result = conn.execution_options(stream_results=True, yield_per=STREAM_CHUNK).execute(statement)
    try:
        for chunk in result.partitions():
            yield from chunk
    finally:
        result.close()


def journal_length(session: Session) -> int:
    """The chain head's seq: how many transfers the journal has (for a progress bar)."""
    return int(session.connection().execute(select(chain_head.c.seq).where(chain_head.c.id == 1)).scalar_one())


def verify(
    session: Session,
    *,
    progress: Callable[[int], None] | None = None,
    max_problems: int = 100,
    anchor: tuple[int, str] | None = None,
) -> Report:
    """Check the whole journal (see the module docstring). `anchor=(seq, hex hash)`: a head recorded earlier
    (on paper, in the bureau's files) that the journal must still contain; it catches a rewrite of the chain
    from some seq onwards, which no check inside the database alone can."""
    conn = session.connection()
    dialect = conn.dialect.name
    problems = Problems(max_problems)
    cached: dict[int, tuple[int, int]] = {}
    may_go_negative: dict[int, bool] = {}
    for account_id, bal, version, negative_ok in conn.execute(
            select(accounts.c.id, accounts.c.balance, accounts.c.version, accounts.c.may_go_negative)):
        cached[account_id] = (bal, version)
        may_go_negative[account_id] = bool(negative_ok)
    head_seq, head_hash = conn.execute(select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)).one()

    tally = check_journal(stream(conn, journal_select(dialect)), problems, typed=True,
                          may_go_negative=may_go_negative, progress=progress)

    if head_seq > tally.last_seq:
        problems.add(tally.last_seq + 1, "truncated",
                     f"the chain head is at {head_seq} but the journal ends at {tally.last_seq}")
    elif head_seq < tally.last_seq:
        problems.add(head_seq + 1, "head_mismatch",
                     f"the journal goes on to {tally.last_seq} past the chain head at {head_seq}")
    elif head_hash != (tally.last_hash or GENESIS_HASH):
        problems.add(head_seq, "head_mismatch", "the chain head's hash is not the last transfer's hash")

    _check_cached_balances(cached, tally, problems)
    if anchor is not None:
        _check_anchor(conn, anchor, problems)

    return Report(transfers=tally.count, head_seq=tally.last_seq,
                  head_hash=(tally.last_hash or GENESIS_HASH).hex(), problems=problems.sorted(),
                  problem_count=problems.count)


def _check_cached_balances(cached: dict[int, tuple[int, int]], tally: Tally, problems: Problems) -> None:
    for account_id in sorted(set(cached) | set(tally.balances)):
        bal, version = cached.get(account_id, (None, None))
        want = tally.balances.get(account_id, 0), tally.versions.get(account_id, 0)
        if (bal, version) != want:
            problems.add(None, "balance_mismatch",
                         f"account {account_id} caches {bal} at version {version}; its entries give {want[0]} "
                         f"at version {want[1]}", account_id)
    cached_sum = sum(bal for bal, _ in cached.values())
    if cached_sum != 0:
        problems.add(None, "sum_not_zero", f"the accounts' cached balances sum to {cached_sum}")
    entries_sum = sum(tally.balances.values())
    if entries_sum != 0:
        problems.add(None, "sum_not_zero", f"the balances after the last entries sum to {entries_sum}")


def _check_anchor(conn: Connection, anchor: tuple[int, str], problems: Problems) -> None:
    seq, expected = anchor
    stored = conn.execute(select(transfers.c.hash).where(transfers.c.seq == seq)).scalar_one_or_none()
    if stored is None or stored.hex() != expected.lower():
        problems.add(seq, "anchor_mismatch", f"expected hash {expected} at seq {seq}, found "
                                             f"{stored.hex() if stored is not None else 'nothing'}")


@contextmanager
def snapshot_session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read-only session that sees one moment of the database for its whole life: REPEATABLE READ on
    PostgreSQL, a deferred read transaction on SQLite (WAL keeps its snapshot while writers go on)."""
    session = session_factory()
    try:
        bind = session.get_bind()
        options: dict[str, Any] = {"read_only": True}
        if bind.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
            options["postgresql_readonly"] = True
        session.connection(execution_options=options)
        yield session
    finally:
        session.rollback()
        session.close()
