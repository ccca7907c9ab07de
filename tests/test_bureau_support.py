"""Shared helpers of the bureau's tests (no tests here; the name keeps the file in the bureau's own area).

`Village(uow)` runs the real use cases, each in its own transaction as `pos` does: registering members,
recording and approving volunteer hours and donations (`ledger.earning`), selling and voiding at the counter
(`pos.services.checkout`, which moves points, stock and receipts together), reversing an approved transfer and
adjusting a balance (`ledger` API). It keeps what it did, so tests can compute what a report must say.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from core.db import UnitOfWork, utcnow
from core.stores import Store
from inventory import products, stock
from inventory.models import Product
from ledger import ADJUSTMENT, NewTransfer, adjustments_account, post, reverse
from ledger.earning import Donor, approve_contribution, record_cash_donation, record_volunteer_hours
from ledger.members import Member, active_card, register_member
from pos.auth import Principal, User
from pos.services import checkout

PRICES = {"6920244418529": 70, "6982606870703": 35, "6972449445466": 25}


@dataclass
class SaleRecord:
    sale_id: uuid.UUID
    store: str
    member: int
    points: int
    seq: int
    clerk: str
    voided: bool = False


@dataclass
class Village:
    uow: UnitOfWork
    stores: dict[str, int] = field(default_factory=dict)
    members: list[tuple[uuid.UUID, str, int]] = field(default_factory=list)  # member id, home shop, account id
    sales: list[SaleRecord] = field(default_factory=list)
    issues: list[tuple[int, int, str]] = field(default_factory=list)  # (seq, member index, shop)

    def __post_init__(self) -> None:
        def setup(session: Session) -> dict[str, int]:
            ids = {s.code: s.id for s in session.scalars(select(Store))}
            if session.scalar(select(Product.id).limit(1)) is None:
                for barcode, price in PRICES.items():
                    products.create_product(session, name=f"商品{barcode[-4:]}", points_price=price, barcode=barcode,
                                            actor="test")
            for store_id in ids.values():
                stock.receive(session, store_id, [(b, 10_000) for b in PRICES], ref=f"receipt:{uuid.uuid4()}",
                              actor="test")
            return ids

        self.stores = self.uow.run(setup)

    def principal(self, username: str) -> Principal:
        def load(session: Session) -> Principal:
            user = session.scalars(select(User).where(User.username == username)).one()
            code = session.get(Store, user.store_id).code if user.store_id else None
            return Principal(user.id, user.username, user.role, user.store_id, code, "test")

        return self.uow.run(load)

    def register(self, store: str, name: str = "测试会员") -> int:
        member_id = uuid.uuid4()

        def work(session: Session) -> int:
            member = register_member(session, member_id, name, None, None, self.stores[store],
                                     f"manager-{store.lower()}")
            return member.account_id

        account = self.uow.run(work)
        self.members.append((member_id, store, account))
        return len(self.members) - 1

    def earn(self, member: int, minutes: int, *, at_store: str | None = None, category_id: int | None = None) -> int:
        """Volunteer hours recorded by the shop's coordinator and approved by its manager: the transfer's seq."""
        member_id, home, _ = self.members[member]
        store = at_store or home
        contribution_id = uuid.uuid4()

        def work(session: Session) -> int:
            record_volunteer_hours(session, id=contribution_id, member_id=member_id, minutes=minutes,
                                   actor=f"coordinator-{store.lower()}", category_id=category_id)
            return approve_contribution(session, contribution_id, f"manager-{store.lower()}").transfer_seq

        seq = self.uow.run(work)
        self.issues.append((seq, member, store))
        return seq

    def donate(self, member: int, amount_fen: int) -> int:
        member_id, store, _ = self.members[member]
        contribution_id = uuid.uuid4()

        def work(session: Session) -> int:
            record_cash_donation(session, id=contribution_id, donor=Donor(member_id=member_id), amount_fen=amount_fen,
                                 actor=f"coordinator-{store.lower()}")
            return approve_contribution(session, contribution_id, f"manager-{store.lower()}").transfer_seq

        seq = self.uow.run(work)
        self.issues.append((seq, member, store))
        return seq

    def card(self, member: int) -> str:
        member_id = self.members[member][0]
        return self.uow.run(lambda s: active_card(s, member_id).card_number)

    def sell(self, member: int, lines: list[tuple[str, int]], *, store: str | None = None) -> SaleRecord:
        store = store or self.members[member][1]
        clerk = self.principal(f"clerk-{store.lower()}")
        cmd = checkout.SaleCommand(uuid.uuid4(), self.card(member), tuple(lines))
        answer = self.uow.run(lambda s: checkout.checkout(s, clerk, cmd))
        record = SaleRecord(cmd.id, store, member, answer["points_total"], answer["transfer_seq"], clerk.username)
        self.sales.append(record)
        return record

    def void(self, sale: SaleRecord) -> int:
        manager = self.principal(f"manager-{sale.store.lower()}")
        answer = self.uow.run(lambda s: checkout.void_sale(s, manager, str(sale.sale_id), "退货"))
        sale.voided = True
        return answer["reversal_seq"]

    def reverse_issue(self, seq: int) -> int:
        def work(session: Session) -> int:
            from ledger import get_transfer_by_seq

            original = get_transfer_by_seq(session, seq)
            return reverse(session, original.id, id=uuid.uuid4(), actor="admin").seq

        return self.uow.run(work)

    def adjust(self, member: int, points: int, *, store: str | None = None) -> int:
        """+points into the member's account from the adjustments account, or -points out of it."""
        account = self.members[member][2]
        store_id = self.stores[store] if store else None

        def work(session: Session) -> int:
            fund = adjustments_account(session).id
            debit, credit = (fund, account) if points > 0 else (account, fund)
            return post(session, NewTransfer(id=uuid.uuid4(), debit=debit, credit=credit, amount=abs(points),
                                             code=ADJUSTMENT, ref="adjustment:test", actor="admin",
                                             store_id=store_id)).seq

        return self.uow.run(work)

    def balance(self, member: int) -> int:
        from ledger import balance

        return self.uow.run(lambda s: balance(s, self.members[member][2]))

    @staticmethod
    def now() -> datetime:
        return utcnow()


def tamper(engine: Engine, statement: str, **params: Any) -> None:
    """Drops the append-only triggers of the journal (as an intruder with the database's password could) and
    runs `statement`: the tampering the bureau's checks must find."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger_transfers'::regclass "
                                      "AND NOT tgisinternal")).scalars().all()
            for name in names:
                conn.execute(text(f'DROP TRIGGER "{name}" ON ledger_transfers'))
        else:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                      "AND tbl_name = 'ledger_transfers'")).scalars().all()
            for name in names:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        conn.execute(text(statement), params)


def member_ids(session: Session) -> list[uuid.UUID]:
    return list(session.scalars(select(Member.id)))
