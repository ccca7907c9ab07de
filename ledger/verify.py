"""Verifying the journal: the hash chain, gapless seq, every balance, the cached balances, the sum of zero.

`verify(session)` streams the journal in seq order (a server-side cursor on PostgreSQL, chunked fetches on
SQLite; Core rows, never ORM objects), so memory grows with the number of accounts, never with the number of
transfers. It recomputes:

- the chain: each transfer's prev_hash is the previous transfer's hash, and its hash is SHA-256 over the
  previous hash and its canonical encoding (`ledger.chain`);
- seq: 1, 2, 3, ... with nothing missing, and the chain head row at the last transfer;
- balances: each transfer's two entries carry -amount and +amount, consecutive account versions, and the
  balance after that follows from the previous one; no holder's account below zero; every account's cached
  balance and version equal what its entries add up to; the balances sum to zero;
- entries: exactly two per transfer, none without a transfer.

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

from sqlalchemy import Connection, String, Text, and_, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from ledger.chain import GENESIS_HASH, Canonical, canonical_time_sqlite, canonical_uuid_hex32, encode
from ledger.models import Account, ChainHead, Entry, Transfer

WHATS = {
    "gap": "a seq is missing",
    "out_of_order": "a seq comes after a later one",
    "chain_broken": "prev_hash is not the previous transfer's hash",
    "hash_mismatch": "the hash does not match the transfer's content",
    "balance_mismatch": "a balance does not follow from the transfers",
    "overdrawn": "a holder's account is below zero",
    "sum_not_zero": "the balances do not sum to zero",
    "orphan_entry": "an entry has no transfer, or belongs to neither of its transfer's accounts",
    "truncated": "transfers are missing at the end",
    "head_mismatch": "the chain head does not match the last transfer",
    "anchor_mismatch": "the transfer at the anchor seq does not have the expected hash",
    "malformed": "a line of the export cannot be read",
}

PROGRESS_EVERY = 8192
STREAM_CHUNK = 10_000

transfers = Transfer.__table__
entries = Entry.__table__
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
    entry_versions: bool = True,
    sqlite_raw: bool = False,
    may_go_negative: dict[int, bool] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Tally:
    """The one loop behind `verify` and `check_export`.

    Each row is (seq, id, batch, at, code, debit, credit, amount, debit_balance_after, credit_balance_after,
    ref, actor, store_id, reverses, prev_hash, hash, debit_entry_amount, debit_entry_version,
    credit_entry_amount, credit_entry_version) with canonical values (or SQLite's raw id/batch/at when
    `sqlite_raw`). `start_hash=None` takes the first row's prev_hash on trust (an export after a seq);
    `opening_known=False` takes each account's first balance on trust (the same).
    """
    tally = Tally(last_seq=start_seq, last_hash=start_hash)
    balances, versions = tally.balances, tally.versions
    expected = start_seq + 1
    last_hash = start_hash
    count = 0
    add = problems.add
    for row in rows:
        (seq, tid, batch, at, code, debit, credit, amount, debit_after, credit_after, ref, actor, store_id,
         reverses, prev_hash, hash_, debit_amount, debit_version, credit_amount, credit_version) = row
        count += 1
        if sqlite_raw:
            tid = canonical_uuid_hex32(tid) if type(tid) is str else tid
            if batch is not None and type(batch) is str:
                batch = canonical_uuid_hex32(batch)
            at = canonical_time_sqlite(at) if type(at) is str else at
        if seq != expected:
            if type(seq) is not int:
                add(None, "malformed", f"seq {seq!r} is not a number")
                continue
            if seq > expected:
                add(expected, "gap", f"no transfer {expected}" if seq == expected + 1
                    else f"no transfers {expected}..{seq - 1}")
            else:
                add(seq, "out_of_order", f"seq {seq} comes after {expected - 1}")
        if last_hash is not None and prev_hash != last_hash:
            add(seq, "chain_broken", "prev_hash is not the hash of the transfer before")
        try:
            computed = sha256(prev_hash + encode(Canonical(
                seq, tid, batch, at, code, debit, credit, amount, debit_after, credit_after, ref, actor, store_id,
                reverses))).digest()
        except (TypeError, ValueError):
            computed = None
        if computed != hash_:
            add(seq, "hash_mismatch", "the stored hash is not the hash of this transfer's content"
                if computed is not None else "the transfer has values of the wrong type")
        last_hash = hash_
        if seq >= expected:
            expected = seq + 1
        tally.last_seq = seq

        if type(amount) is not int or type(debit) is not int or type(credit) is not int:
            continue  # already reported as a hash mismatch; no arithmetic on it
        debit_before = balances.get(debit)
        if debit_before is None:
            debit_before = 0 if opening_known or type(debit_after) is not int else debit_after + amount
        credit_before = balances.get(credit)
        if credit_before is None:
            credit_before = 0 if opening_known or type(credit_after) is not int else credit_after - amount
        want_debit, want_credit = debit_before - amount, credit_before + amount
        if (debit_after != want_debit or credit_after != want_credit or debit_amount != -amount
                or credit_amount != amount):
            add(seq, "balance_mismatch", _balance_detail(debit, credit, amount, want_debit, want_credit,
                                                         debit_after, credit_after, debit_amount, credit_amount))
        balances[debit] = debit_after if type(debit_after) is int else want_debit
        balances[credit] = credit_after if type(credit_after) is int else want_credit
        if entry_versions:
            want_dv, want_cv = versions.get(debit, 0) + 1, versions.get(credit, 0) + 1
            if debit_version != want_dv or credit_version != want_cv:
                add(seq, "balance_mismatch", f"entry versions {debit_version}/{credit_version}, "
                                             f"expected {want_dv}/{want_cv}")
            versions[debit] = debit_version if type(debit_version) is int else want_dv
            versions[credit] = credit_version if type(credit_version) is int else want_cv
        if may_go_negative is not None and balances[debit] < 0 and not may_go_negative.get(debit, True):
            add(seq, "overdrawn", f"account {debit} at {balances[debit]}", debit)
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
    if progress is not None:
        progress(count % PROGRESS_EVERY)
    tally.count = count
    tally.last_hash = last_hash
    return tally


def _balance_detail(debit: int, credit: int, amount: int, want_debit: int, want_credit: int, debit_after: Any,
                    credit_after: Any, debit_amount: Any, credit_amount: Any) -> str:
    if debit_after is None or credit_after is None:
        return "an entry of this transfer is missing"
    parts = []
    if debit_amount != -amount or credit_amount != amount:
        parts.append(f"entries say {debit_amount}/{credit_amount} for an amount of {amount}")
    if debit_after != want_debit:
        parts.append(f"account {debit} after is {debit_after}, recomputed {want_debit}")
    if credit_after != want_credit:
        parts.append(f"account {credit} after is {credit_after}, recomputed {want_credit}")
    return "; ".join(parts)


# --- the database side ----------------------------------------------------------------------------------

def journal_select(dialect: str, after_seq: int = 0) -> Any:
    """Transfers in seq order with both entries, in canonical values (SQLite: raw id/batch/at, see
    `check_journal(sqlite_raw=True)`). The column order is `check_journal`'s row."""
    t = transfers
    debit_entry, credit_entry = entries.alias("debit_entry"), entries.alias("credit_entry")
    if dialect == "sqlite":
        # The raw stored text: turning it into UUID and datetime objects and back would cost more than the rest.
        tid, batch, at = type_coerce(t.c.id, String), type_coerce(t.c.batch_id, String), type_coerce(t.c.at, String)
    else:
        tid, batch = cast(t.c.id, Text), cast(t.c.batch_id, Text)
        at = func.to_char(func.timezone("UTC", t.c.at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    return (
        select(t.c.seq, tid, batch, at, t.c.code, t.c.debit_account_id, t.c.credit_account_id, t.c.amount,
               debit_entry.c.balance_after, credit_entry.c.balance_after, t.c.ref, t.c.actor, t.c.store_id,
               t.c.reverses_seq, t.c.prev_hash, t.c.hash, debit_entry.c.amount, debit_entry.c.account_version,
               credit_entry.c.amount, credit_entry.c.account_version)
        .select_from(
            t.outerjoin(debit_entry, and_(debit_entry.c.seq == t.c.seq,
                                          debit_entry.c.account_id == t.c.debit_account_id))
            .outerjoin(credit_entry, and_(credit_entry.c.seq == t.c.seq,
                                          credit_entry.c.account_id == t.c.credit_account_id)))
        .where(t.c.seq > after_seq)
        .order_by(t.c.seq)
    )


def stream(conn: Connection, statement: Any) -> Iterator[Any]:
    """Rows of `statement` fetched in chunks (a server-side cursor on PostgreSQL)."""
    result = conn.execution_options(stream_results=True, yield_per=STREAM_CHUNK).execute(statement)
    try:
        yield from result
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

    tally = check_journal(stream(conn, journal_select(dialect)), problems, sqlite_raw=dialect == "sqlite",
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
    _check_entry_count(conn, tally, problems)
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


def _check_entry_count(conn: Connection, tally: Tally, problems: Problems) -> None:
    total = conn.execute(select(func.count()).select_from(entries)).scalar_one()
    if total == 2 * tally.count:
        return
    t = transfers
    stray = conn.execute(
        select(entries.c.seq, entries.c.account_id)
        .select_from(entries.outerjoin(t, t.c.seq == entries.c.seq))
        .where(or_(t.c.seq.is_(None),
                   and_(entries.c.account_id != t.c.debit_account_id, entries.c.account_id != t.c.credit_account_id)))
        .order_by(entries.c.seq).limit(problems.limit)
    ).all()
    for seq, account_id in stray:
        problems.add(seq, "orphan_entry", f"entry of account {account_id} at seq {seq} belongs to no transfer side",
                     account_id)
    if not stray:
        problems.add(None, "orphan_entry", f"{total} entries for {tally.count} transfers")


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
