"""Shared helpers of the ledger tests (no tests here; the name keeps the file in the ledger's own area).

`open_book(uow)` opens fresh member accounts in the seeded shop DSC, next to the system accounts, and gives
short ways to earn, spend and read back. Every helper runs its own transaction through the UnitOfWork, as a
use case in `pos` would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.stores import Store
from ledger import (
    ADJUSTMENT,
    MEMBER,
    REDEMPTION,
    VOLUNTEER_HOURS,
    NewTransfer,
    Posted,
    Report,
    adjustments_account,
    balance,
    donation_fund_account,
    open_account,
    post,
    programme_account,
    redemption_sink,
    snapshot_session,
    verify,
)
from ledger.models import Account, Transfer


@dataclass
class Book:
    uow: UnitOfWork
    store_id: int
    programme: int
    donation_fund: int
    adjustments: int
    sink: int
    members: list[int] = field(default_factory=list)

    def earn(self, member: int, amount: int, *, id: uuid.UUID | None = None, code: str = VOLUNTEER_HOURS) -> Posted:
        source = self.programme if code == VOLUNTEER_HOURS else self.donation_fund
        spec = NewTransfer(id=id or uuid.uuid4(), debit=source, credit=member, amount=amount, code=code,
                           ref=f"contribution:{uuid.uuid4()}", actor="manager-dsc", store_id=self.store_id)
        return self.uow.run(lambda s: post(s, spec))

    def spend_spec(self, member: int, amount: int, *, id: uuid.UUID | None = None) -> NewTransfer:
        return NewTransfer(id=id or uuid.uuid4(), debit=member, credit=self.sink, amount=amount, code=REDEMPTION,
                           ref=f"sale:{uuid.uuid4()}", actor="clerk-dsc", store_id=self.store_id)

    def spend(self, member: int, amount: int, *, id: uuid.UUID | None = None) -> Posted:
        spec = self.spend_spec(member, amount, id=id)
        return self.uow.run(lambda s: post(s, spec))

    def adjust(self, member: int, amount: int) -> Posted:
        spec = NewTransfer(id=uuid.uuid4(), debit=self.adjustments, credit=member, amount=amount, code=ADJUSTMENT,
                           ref="correction", actor="admin")
        return self.uow.run(lambda s: post(s, spec))

    def balance(self, account_id: int) -> int:
        return self.uow.read(lambda s: balance(s, account_id))


def open_book(uow: UnitOfWork, members: int = 3, store_code: str = "DSC") -> Book:
    def work(session: Session) -> Book:
        store_id = session.scalars(select(Store.id).where(Store.code == store_code)).one()
        book = Book(uow, store_id, programme_account(session).id, donation_fund_account(session).id,
                    adjustments_account(session).id, redemption_sink(session, store_id).id)
        book.members = [open_account(session, MEMBER, f"member:{uuid.uuid4()}", store_id).id
                        for _ in range(members)]
        return book

    return uow.run(work)


def verify_now(uow: UnitOfWork, **kwargs: object) -> Report:
    with snapshot_session(uow.session_factory) as session:
        return verify(session, **kwargs)  # type: ignore[arg-type]


def journal_count(uow: UnitOfWork) -> int:
    return uow.read(lambda s: s.scalar(select(func.count()).select_from(Transfer)))


def balances_sum(uow: UnitOfWork) -> int:
    return uow.read(lambda s: s.scalar(select(func.coalesce(func.sum(Account.balance), 0))))


def drop_append_only_triggers(engine: Engine) -> None:
    """What an attacker with the database's password would do first (the tamper tests)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER ledger_transfers_append_only ON ledger_transfers"))
            conn.execute(text("DROP TRIGGER ledger_transfers_no_truncate ON ledger_transfers"))
        else:
            conn.execute(text("DROP TRIGGER ledger_transfers_no_update"))
            conn.execute(text("DROP TRIGGER ledger_transfers_no_delete"))
