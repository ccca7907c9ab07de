"""Posting transfers: one, or a linked batch that commits or fails as a whole, in the caller's transaction.

    def redeem(session):  # run by the use case's UnitOfWork
        return post(session, NewTransfer(id=sale_id, debit=member_account, credit=shop_sink, amount=30,
                                         code=REDEMPTION, ref=f"sale:{sale_id}", actor="clerk-dsc", store_id=1))

How a posting goes (Core statements on the session's connection; a fixed handful whatever the batch size,
four for a single transfer on SQLite):

1. lock the chain head (SELECT ... FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE has already made this
   transaction the only writer). Everything below happens under that lock, so seq is gapless and the chain
   linear;
2. look the ids up: if all were posted before with the same content, return those transfers (a replay
   changes nothing); if any was posted with other content, refuse (TransferConflict, a 409);
3. lock the accounts involved (FOR UPDATE, in id order) and read their balances and versions; a reversal's
   original is checked not to be reversed already;
4. compute in memory: balances and versions after each transfer, seq, the hash chain; a holder's account that
   would go below zero refuses the whole batch (InsufficientPoints) before anything is written;
5. insert the transfers (each row carries its two entries), update the accounts' cached balances, move the
   chain head.

Nothing is committed here: the caller's UnitOfWork commits, or rolls everything back on any error, and reruns
the whole function on a serialization failure or deadlock, which is safe because of step 2. The chain head
stays locked until the caller commits: post late in a long use case, so other tablets wait less.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from hashlib import sha256
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from core.db import utcnow
from core.errors import ValidationFailed
from ledger.chain import Canonical, canonical_id, canonical_time, encode
from ledger.errors import (
    AlreadyReversed,
    InsufficientPoints,
    NotReversible,
    TransferConflict,
    UnknownAccount,
    UnknownTransfer,
)
from ledger.models import REVERSAL, TRANSFER_CODES, Account, ChainHead, Transfer

transfers = Transfer.__table__
accounts = Account.__table__
chain_head = ChainHead.__table__

MAX_REF = 128
MAX_ACTOR = 64
_LOOKUP_CHUNK = 500  # ids per IN (...) when looking up a big batch


@dataclass(frozen=True, slots=True)
class NewTransfer:
    """A transfer to post. `id` is the client's UUID: posting the same id again is a replay."""

    id: uuid.UUID
    debit: int
    credit: int
    amount: int
    code: str
    ref: str
    actor: str
    store_id: int | None = None
    reverses: int | None = None  # the seq of the transfer this one reverses (code "reversal" only)

    def __post_init__(self) -> None:
        problems: dict[str, str] = {}
        if not isinstance(self.id, uuid.UUID):
            try:
                object.__setattr__(self, "id", uuid.UUID(str(self.id)))
            except ValueError:
                problems["id"] = "must be a UUID"
        for name in ("debit", "credit"):
            if not _is_int(getattr(self, name)):
                problems[name] = "must be an account id"
        if not _is_int(self.amount) or self.amount <= 0:
            problems["amount"] = "must be a whole number of points above zero"
        if self.debit == self.credit:
            problems["credit"] = "must differ from the debit account"
        if self.code not in TRANSFER_CODES:
            problems["code"] = f"must be one of {', '.join(TRANSFER_CODES)}"
        elif (self.code == REVERSAL) != (self.reverses is not None):
            problems["reverses"] = "a reversal names the transfer it reverses, and only a reversal does"
        if self.reverses is not None and (not _is_int(self.reverses) or self.reverses <= 0):
            problems["reverses"] = "must be a transfer's seq"
        if not isinstance(self.ref, str) or len(self.ref) > MAX_REF:
            problems["ref"] = f"must be text of at most {MAX_REF} characters"
        if not isinstance(self.actor, str) or not 0 < len(self.actor) <= MAX_ACTOR:
            problems["actor"] = f"must be text of 1 to {MAX_ACTOR} characters"
        if self.store_id is not None and not _is_int(self.store_id):
            problems["store_id"] = "must be a store id"
        if problems:
            raise ValidationFailed("invalid transfer", **problems)


def _is_int(value: Any) -> bool:
    return type(value) is int


@dataclass(frozen=True, slots=True)
class Posted:
    """A transfer in the journal, with both accounts' balances after it. `replayed` is True when this call
    found it already posted (same id, same content) and changed nothing."""

    seq: int
    id: uuid.UUID
    batch_id: uuid.UUID | None
    at: datetime
    code: str
    debit: int
    debit_version: int
    debit_balance_after: int
    credit: int
    credit_version: int
    credit_balance_after: int
    amount: int
    ref: str
    actor: str
    store_id: int | None
    reverses: int | None
    prev_hash: bytes
    hash: bytes
    replayed: bool = False

    @property
    def hash_hex(self) -> str:
        return self.hash.hex()

    def balance_after(self, account_id: int) -> int:
        """The balance of `account_id` (the debit or the credit account) after this transfer."""
        if account_id == self.debit:
            return self.debit_balance_after
        if account_id == self.credit:
            return self.credit_balance_after
        raise ValueError(f"account {account_id} is not a side of transfer {self.seq}")

    def canonical(self) -> Canonical:
        batch = None if self.batch_id is None else canonical_id(self.batch_id)
        return Canonical(self.seq, canonical_id(self.id), batch, canonical_time(self.at), self.code,
                         self.debit, self.debit_version, self.debit_balance_after,
                         self.credit, self.credit_version, self.credit_balance_after,
                         self.amount, self.ref, self.actor, self.store_id, self.reverses)


def post(session: Session, transfer: NewTransfer) -> Posted:
    """Post one transfer (or return it unchanged if its id was posted before with the same content)."""
    return _post(session, [transfer], batch_id=None)[0]


def post_batch(session: Session, batch: Iterable[NewTransfer], *, batch_id: uuid.UUID | None = None) -> list[Posted]:
    """Post linked transfers: all of them or none. They are applied in order (a later one may spend what an
    earlier one credited) and share `batch_id`, by default the first transfer's id, so a replay of the
    same batch is recognised as one."""
    items = list(batch)
    if not items:
        raise ValidationFailed("a batch needs at least one transfer", transfers="empty")
    return _post(session, items, batch_id=batch_id or items[0].id)


def reversal_of(session: Session, transfer_id: uuid.UUID | str, *, id: uuid.UUID | str, actor: str,
                ref: str | None = None) -> NewTransfer:
    """The transfer that reverses `transfer_id` (same amount, sides swapped, code reversal), to post alone
    with `post` or inside a batch. `ref` defaults to the original's ref, so both show up under one ref."""
    original = get_transfer(session, transfer_id)
    if original.code == REVERSAL:
        raise NotReversible("a reversal cannot be reversed", seq=original.seq, id=str(original.id))
    return NewTransfer(id=id, debit=original.credit, credit=original.debit, amount=original.amount,  # type: ignore[arg-type]
                       code=REVERSAL, ref=original.ref if ref is None else ref, actor=actor,
                       store_id=original.store_id, reverses=original.seq)


def reverse(session: Session, transfer_id: uuid.UUID | str, *, id: uuid.UUID | str, actor: str,
            ref: str | None = None) -> Posted:
    """Reverse a transfer by a new transfer that names it. A transfer is reversed at most once
    (AlreadyReversed); reversing takes the points back, so a member who spent them gets InsufficientPoints."""
    return post(session, reversal_of(session, transfer_id, id=id, actor=actor, ref=ref))


def get_transfer(session: Session, transfer_id: uuid.UUID | str) -> Posted:
    tid = _as_uuid(transfer_id)
    row = session.connection().execute(_posted_select().where(transfers.c.id == tid)).one_or_none()
    if row is None:
        raise UnknownTransfer("no such transfer", id=str(tid))
    return _posted(row)


def get_transfer_by_seq(session: Session, seq: int) -> Posted:
    row = session.connection().execute(_posted_select().where(transfers.c.seq == seq)).one_or_none()
    if row is None:
        raise UnknownTransfer("no such transfer", seq=seq)
    return _posted(row)


def transfers_by_ref(session: Session, ref: str) -> list[Posted]:
    """Every transfer with this ref, in journal order (a sale's redemption and its reversal, ...)."""
    rows = session.connection().execute(_posted_select().where(transfers.c.ref == ref).order_by(transfers.c.seq))
    return [_posted(row) for row in rows]


def reversal_for(session: Session, seq: int) -> Posted | None:
    """The transfer that reversed transfer `seq`, if any."""
    row = session.connection().execute(_posted_select().where(transfers.c.reverses_seq == seq)).one_or_none()
    return None if row is None else _posted(row)


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed("not a transfer id", id="must be a UUID") from None


# --- the posting itself ---------------------------------------------------------------------------------

_LOCK_HEAD = select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1).with_for_update()
_MOVE_HEAD = update(chain_head).where(chain_head.c.id == 1).values(seq=bindparam("h_seq"), hash=bindparam("h_hash"))
_ACCOUNT_COLUMNS = (accounts.c.id, accounts.c.balance, accounts.c.version, accounts.c.may_go_negative,
                    accounts.c.owner_ref)
# Statements built once: their compiled form is cached, and the common case (one transfer, two accounts)
# needs no expanding IN.
_LOCK_ACCOUNTS = (select(*_ACCOUNT_COLUMNS).where(accounts.c.id.in_(bindparam("ids", expanding=True)))
                  .order_by(accounts.c.id).with_for_update())
_ID_USED = (select(func.count()).select_from(transfers).where(transfers.c.id == bindparam("id"))
            .scalar_subquery().label("id_used"))
_TWO_ACCOUNTS = accounts.c.id.in_([bindparam("a1"), bindparam("a2")])
# PostgreSQL, after locking the head: is the id used, and the two accounts, locked.
_USED_AND_TWO_ACCOUNTS = (select(_ID_USED, *_ACCOUNT_COLUMNS).where(_TWO_ACCOUNTS).order_by(accounts.c.id)
                          .with_for_update(of=accounts))
# SQLite: all of it in one statement (an unknown account leaves its columns NULL).
_HEAD_USED_AND_TWO_ACCOUNTS = (
    select(chain_head.c.seq, chain_head.c.hash, _ID_USED, *_ACCOUNT_COLUMNS)
    .select_from(chain_head.outerjoin(accounts, _TWO_ACCOUNTS))
    .where(chain_head.c.id == 1)
    .order_by(accounts.c.id)
)
_FIND_IDS = select(transfers.c.id).where(transfers.c.id.in_(bindparam("ids", expanding=True)))
_UPDATE_ACCOUNT = (
    update(accounts)
    .where(accounts.c.id == bindparam("a_id"))
    .values(balance=bindparam("a_balance"), version=bindparam("a_version"))
)


class _BulkInsert:
    """An INSERT of every column, compiled by Core once per dialect and run as one driver executemany with
    values already in the driver's form (the few typed values are converted once in `_post`): at a thousand
    rows per batch, SQLAlchemy's per-row parameter processing would cost more than SQLite's own work."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.names = [column.key for column in table.columns]
        self._compiled: dict[str, tuple[str, bool]] = {}

    def __call__(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        compiled = self._compiled.get(conn.dialect.name)
        if compiled is None:
            statement = self.table.insert().compile(dialect=conn.dialect)
            positional = bool(statement.positional)
            if positional and list(statement.positiontup or ()) != self.names:
                raise AssertionError("unexpected parameter order")
            compiled = self._compiled[conn.dialect.name] = (statement.string, positional)
        sql, positional = compiled
        conn.exec_driver_sql(sql, rows if positional else [dict(zip(self.names, row, strict=True)) for row in rows])


_insert_transfers = _BulkInsert(transfers)


def _post(session: Session, items: Sequence[NewTransfer], batch_id: uuid.UUID | None) -> list[Posted]:
    ids = [t.id for t in items]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("a transfer id appears twice in the batch", transfers="duplicate id")
    session.flush()  # ORM objects the caller added (a just-opened account) must exist for our Core statements
    conn = session.connection()

    if len(items) == 1:
        head_seq, head_hash, id_used, book = _read_state_of_one(conn, items[0])
    else:
        head_seq, head_hash = conn.execute(_LOCK_HEAD).one()
        id_used, book = _any_id_used(conn, ids), None
    if id_used:
        return _replay(items, batch_id, _existing(conn, ids))
    if book is None:
        book = _lock_accounts(conn, items)
    _check_reversals(conn, items)

    at = utcnow()
    at_text = canonical_time(at)
    batch_text = None if batch_id is None else canonical_id(batch_id)
    to_db = _driver_values(conn)
    db_at, db_batch = to_db.at(at), to_db.uuid(batch_id)
    seq, prev = head_seq, head_hash
    transfer_rows: list[tuple[Any, ...]] = []
    posted: list[Posted] = []
    for t in items:
        debit, credit, amount = book[t.debit], book[t.credit], t.amount
        debit_after = debit[0] - amount
        if debit_after < 0 and not debit[2]:
            raise InsufficientPoints("not enough points", account_id=t.debit, owner_ref=debit[3],
                                     balance=debit[0], amount=amount, shortfall=-debit_after)
        credit_after = credit[0] + amount
        debit[0], credit[0] = debit_after, credit_after
        debit[1] += 1
        credit[1] += 1
        seq += 1
        digest = sha256(prev + encode((
            seq, canonical_id(t.id), batch_text, at_text, t.code, t.debit, debit[1], debit_after, t.credit, credit[1],
            credit_after, amount, t.ref, t.actor, t.store_id, t.reverses))).digest()
        # In the table's column order (see models.Transfer).
        transfer_rows.append((seq, to_db.uuid(t.id), db_batch, db_at, t.code, t.debit, debit[1], debit_after,
                              t.credit, credit[1], credit_after, amount, t.ref, t.actor, t.store_id, t.reverses,
                              prev, digest))
        posted.append(Posted(seq, t.id, batch_id, at, t.code, t.debit, debit[1], debit_after, t.credit, credit[1],
                             credit_after, amount, t.ref, t.actor, t.store_id, t.reverses, prev, digest))
        prev = digest

    _insert_transfers(conn, transfer_rows)
    conn.execute(_UPDATE_ACCOUNT, [{"a_id": account_id, "a_balance": state[0], "a_version": state[1]}
                                   for account_id, state in book.items()])
    conn.execute(_MOVE_HEAD, {"h_seq": seq, "h_hash": prev})
    _expire_cached_accounts(session, book)
    return posted


@dataclass(frozen=True, slots=True)
class _DriverValues:
    uuid: Callable[[uuid.UUID | None], Any]
    at: Callable[[datetime], Any]


_driver_values_cache: dict[str, _DriverValues] = {}


def _driver_values(conn: Connection) -> _DriverValues:
    """The columns' own bind processors for this dialect (a UUID as 32 hex digits on SQLite, natively on
    PostgreSQL; UTCDateTime as naive UTC text on SQLite), so stored values are exactly what the ORM stores."""
    dialect = conn.dialect
    found = _driver_values_cache.get(dialect.name)
    if found is None:
        uuid_bind = transfers.c.id.type.bind_processor(dialect) or _same
        at_bind = transfers.c.at.type.bind_processor(dialect) or _same
        found = _driver_values_cache[dialect.name] = _DriverValues(
            uuid=lambda value: None if value is None else uuid_bind(value), at=at_bind)
    return found


def _same(value: Any) -> Any:
    return value


def _lock_accounts(conn: Connection, items: Sequence[NewTransfer]) -> dict[int, list[Any]]:
    """account id → [balance, version, may_go_negative, owner_ref], read under a row lock."""
    wanted = sorted({t.debit for t in items} | {t.credit for t in items})
    book: dict[int, list[Any]] = {}
    for chunk in _chunks(wanted):
        for account_id, bal, version, may_go_negative, owner_ref in conn.execute(_LOCK_ACCOUNTS,
                                                                                 {"ids": list(chunk)}):
            book[account_id] = [bal, version, bool(may_go_negative), owner_ref]
    missing = [a for a in wanted if a not in book]
    if missing:
        raise UnknownAccount("no such account", account_id=missing[0])
    return book


def _check_reversals(conn: Connection, items: Sequence[NewTransfer]) -> None:
    targets = [t for t in items if t.reverses is not None]
    if not targets:
        return
    seqs = [t.reverses for t in targets]
    if len(set(seqs)) != len(seqs):
        raise AlreadyReversed("the batch reverses one transfer twice", seq=seqs[0])
    originals = {row.seq: row for row in conn.execute(
        select(transfers.c.seq, transfers.c.debit_account_id, transfers.c.credit_account_id, transfers.c.amount,
               transfers.c.code).where(transfers.c.seq.in_(seqs)))}
    done = conn.execute(select(transfers.c.reverses_seq, transfers.c.id)
                        .where(transfers.c.reverses_seq.in_(seqs)).order_by(transfers.c.reverses_seq)).first()
    if done is not None:
        raise AlreadyReversed("already reversed", seq=done[0], reversed_by=str(done[1]))
    for t in targets:
        original = originals.get(t.reverses)
        if original is None:
            raise UnknownTransfer("no such transfer to reverse", seq=t.reverses)
        if original.code == REVERSAL:
            raise NotReversible("a reversal cannot be reversed", seq=t.reverses)
        if (t.debit, t.credit, t.amount) != (original.credit_account_id, original.debit_account_id, original.amount):
            raise ValidationFailed("a reversal mirrors its original", reverses="does not mirror the original")


def _read_state_of_one(conn: Connection, t: NewTransfer) -> tuple[int, bytes, bool, dict[int, list[Any]] | None]:
    """Chain head, whether the id is used, and the two accounts, in as few statements as is safe: one on
    SQLite (BEGIN IMMEDIATE already made us the only writer); two on PostgreSQL, where the head must be
    locked before the id is looked up, or a concurrent twin committing meanwhile would go unseen."""
    params = {"id": t.id, "a1": min(t.debit, t.credit), "a2": max(t.debit, t.credit)}
    if conn.dialect.name == "sqlite":
        rows = conn.execute(_HEAD_USED_AND_TWO_ACCOUNTS, params).all()
        head_seq, head_hash, id_used = rows[0][:3]
        found = [row[3:] for row in rows if row[3] is not None]
    else:
        head_seq, head_hash = conn.execute(_LOCK_HEAD).one()
        rows = conn.execute(_USED_AND_TWO_ACCOUNTS, params).all()
        id_used = bool(rows and rows[0][0])
        found = [row[1:] for row in rows]
    if id_used:
        return head_seq, head_hash, True, None
    book = {account_id: [bal, version, bool(may_go_negative), owner_ref]
            for account_id, bal, version, may_go_negative, owner_ref in found}
    for account_id in (t.debit, t.credit):
        if account_id not in book:
            raise UnknownAccount("no such account", account_id=account_id)
    return head_seq, head_hash, False, book


def _any_id_used(conn: Connection, ids: list[uuid.UUID]) -> bool:
    return any(conn.execute(_FIND_IDS, {"ids": list(chunk)}).first() is not None for chunk in _chunks(ids))


def _existing(conn: Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Posted]:
    """The transfers among `ids` already in the journal."""
    found: dict[uuid.UUID, Posted] = {}
    for chunk in _chunks(ids):
        for row in conn.execute(_posted_select().where(transfers.c.id.in_(chunk))):
            p = _posted(row)
            found[p.id] = p
    return found


def _replay(items: Sequence[NewTransfer], batch_id: uuid.UUID | None, existing: dict[uuid.UUID, Posted]
            ) -> list[Posted]:
    if len(existing) != len(items):
        used = sorted(str(i) for i in existing)
        raise TransferConflict("some of these transfer ids were used before", ids=used)
    answer = []
    for t in items:
        p = existing[t.id]
        same = (p.debit, p.credit, p.amount, p.code, p.ref, p.actor, p.store_id, p.reverses, p.batch_id) == (
            t.debit, t.credit, t.amount, t.code, t.ref, t.actor, t.store_id, t.reverses, batch_id)
        if not same:
            raise TransferConflict("this transfer id was used for a different transfer", id=str(t.id), seq=p.seq)
        answer.append(replace(p, replayed=True))
    return answer


def _expire_cached_accounts(session: Session, book: dict[int, list[Any]]) -> None:
    """Account objects the session already holds would show the old balance: make them reload."""
    if not session.identity_map:
        return
    for account_id in book:
        obj = session.identity_map.get(identity_key(Account, account_id))
        if obj is not None:
            session.expire(obj, ["balance", "version"])


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _LOOKUP_CHUNK):
        yield values[start:start + _LOOKUP_CHUNK]


def _posted_select() -> Select[Any]:
    t = transfers
    return select(t.c.seq, t.c.id, t.c.batch_id, t.c.at, t.c.code, t.c.debit_account_id, t.c.debit_version,
                  t.c.debit_balance_after, t.c.credit_account_id, t.c.credit_version, t.c.credit_balance_after,
                  t.c.amount, t.c.ref, t.c.actor, t.c.store_id, t.c.reverses_seq, t.c.prev_hash, t.c.hash)


def _posted(row: Row[Any]) -> Posted:
    return Posted(*row)
