"""Checkout under concurrency, on SQLite and PostgreSQL, through the use case the HTTP handler calls
(`record_sale`, each call its own UnitOfWork transaction on its own pooled connection):

- 20 sales at once for one member and one nearly sold-out product: what succeeds is bounded by the points and by
  the stock, no refusal was wrong, the ledger verifies and the stock equals its movements;
- one sale id sent 5 times at once sells once;
- two managers voiding one sale at once: one void;
- a shift closed while sales are under way: each sale lands in exactly one shift and both reports agree with
  the ledger.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import DomainError
from core.stores import Store
from inventory import products, stock
from ledger.accounts import balance, programme_account
from ledger.members import Member, active_card, register_member
from ledger.models import VOLUNTEER_HOURS, Transfer
from ledger.posting import NewTransfer, post
from ledger.verify import verify
from pos.auth import Principal, User
from pos.sales import Sale, Shift
from pos.services.checkout import (
    CloseShiftCommand,
    NoOpenShift,
    SaleCommand,
    close_shift_once,
    current_shift,
    record_sale,
    void_sale,
)

SCARCE, PLENTY = "6920244418529", "6982606870703"  # 10 points, 7 in stock; 5 points, 100 in stock
POINTS = 80


def principal(uow: UnitOfWork, username: str) -> Principal:
    def read(session: Session) -> Principal:
        user, code = session.execute(select(User, Store.code).join(Store, Store.id == User.store_id)
                                     .where(User.username == username)).one()
        return Principal(user.id, user.username, user.role, user.store_id, code, token_id=f"test-{username}")

    return uow.read(read)


def prepare(uow: UnitOfWork) -> dict[str, Any]:
    """DSC with a scarce and a plentiful product and a member holding 80 points."""
    def work(session: Session) -> dict[str, Any]:
        store_id = session.scalars(select(Store.id).where(Store.code == "DSC")).one()
        products.create_product(session, barcode=SCARCE, name="大豆油 5L", points_price=10, actor="test")
        products.create_product(session, barcode=PLENTY, name="东北大米 5kg", points_price=5, actor="test")
        stock.receive(session, store_id, [(SCARCE, 7), (PLENTY, 100)], ref="receipt:test", actor="test")
        member = register_member(session, uuid.uuid4(), "并发测试", None, None, store_id, "clerk-dsc")
        post(session, NewTransfer(id=uuid.uuid4(), debit=programme_account(session).id, credit=member.account_id,
                                  amount=POINTS, code=VOLUNTEER_HOURS, ref="test:hours", actor="manager-dsc"))
        card = active_card(session, member.id)
        assert card is not None
        return {"store_id": store_id, "member_id": member.id, "account_id": member.account_id,
                "card": card.card_number}

    return uow.run(work)


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs the calls in threads released together; each outcome is its answer or the DomainError it raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = calls[i]()
        except DomainError as refused:
            outcomes[i] = refused
        except Exception as exc:  # reported by the test, not lost in a thread
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_twenty_sales_at_once_are_bounded_by_points_and_stock(uow: UnitOfWork) -> None:
    shop = prepare(uow)
    clerk = principal(uow, "clerk-dsc")
    commands = [SaleCommand(uuid.uuid4(), shop["card"], ((SCARCE, 1 + i % 2), (PLENTY, 1))) for i in range(20)]
    outcomes = all_at_once([lambda cmd=cmd: record_sale(uow, clerk, cmd) for cmd in commands])

    unexpected = [o for o in outcomes if not isinstance(o, (tuple, DomainError))]
    assert not unexpected, unexpected
    sold = [(cmd, o[0]) for cmd, o in zip(commands, outcomes, strict=True) if isinstance(o, tuple)]
    refused = [(cmd, o) for cmd, o in zip(commands, outcomes, strict=True) if isinstance(o, DomainError)]
    assert sold and {type(o).__name__ for _, o in refused} <= {"OutOfStock", "InsufficientPoints"}
    assert {o.code for _, o in refused} <= {"out_of_stock", "insufficient_points"}

    def final(session: Session) -> tuple[int, int, int, int, bool, list[Any]]:
        scarce_left, _ = stock.level_of(session, shop["store_id"], products.get_product(session, SCARCE).id)
        return (balance(session, shop["account_id"]), scarce_left,
                session.scalar(select(func.count()).select_from(Sale)),
                session.scalar(select(func.coalesce(func.sum(Sale.points_total), 0))),
                verify(session).ok, stock.check_levels(session))

    points_left, scarce_left, sales, sales_points, ledger_ok, stock_problems = uow.read(final)
    spent = sum(answer["points_total"] for _, answer in sold)
    scarce_sold = sum(cmd.lines[0][1] for cmd, _ in sold)
    assert spent <= POINTS and scarce_sold <= 7  # bounded by both
    assert points_left == POINTS - spent >= 0 and scarce_left == 7 - scarce_sold >= 0
    assert (sales, sales_points) == (len(sold), spent)
    assert ledger_ok and stock_problems == []
    # No refusal was wrong: resources only shrink, so what was short then is short now.
    for cmd, refusal in refused:
        if refusal.code == "out_of_stock":
            assert scarce_left < cmd.lines[0][1]
        else:
            assert points_left < 10 * cmd.lines[0][1] + 5
    # Every answer's balance is one step of a single chain from 80 down to what is left.
    steps = sorted(((answer["balance_before"], answer["balance_after"]) for _, answer in sold), reverse=True)
    assert steps[0][0] == POINTS and steps[-1][1] == points_left
    assert all(a[1] == b[0] for a, b in zip(steps, steps[1:], strict=False))

    shift = uow.read(lambda session: current_shift(session, clerk))
    assert shift is not None and shift["sales_count"] == len(sold) and shift["ledger"]["ok"] is True
    assert uow.read(lambda session: session.scalar(select(func.count()).select_from(Shift))) == 1


def test_one_sale_id_sent_five_times_at_once_sells_once(uow: UnitOfWork) -> None:
    shop = prepare(uow)
    clerk = principal(uow, "clerk-dsc")
    cmd = SaleCommand(uuid.uuid4(), shop["card"], ((SCARCE, 2), (PLENTY, 1)))
    outcomes = all_at_once([lambda: record_sale(uow, clerk, cmd) for _ in range(5)])

    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert all(o == outcomes[0] for o in outcomes) and outcomes[0][1] == 201

    def counts(session: Session) -> tuple[int, int, int]:
        return (session.scalar(select(func.count()).select_from(Sale)),
                session.scalar(select(func.count()).select_from(Transfer).where(Transfer.ref == f"sale:{cmd.id}")),
                balance(session, shop["account_id"]))

    assert uow.read(counts) == (1, 1, POINTS - 25)


def test_two_voids_of_one_sale_at_once_void_it_once(uow: UnitOfWork) -> None:
    shop = prepare(uow)
    answer, _ = record_sale(uow, principal(uow, "clerk-dsc"), SaleCommand(uuid.uuid4(), shop["card"],
                                                                          ((SCARCE, 1),)))
    managers = [principal(uow, "manager-dsc"), principal(uow, "manager2-dsc")]
    outcomes = all_at_once([lambda m=m: uow.run(lambda session: void_sale(session, m, answer["sale_id"], "双击"))
                            for m in managers])
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyVoided", "dict"], outcomes

    def state(session: Session) -> tuple[int, int, bool]:
        member = session.get(Member, shop["member_id"])
        return (balance(session, member.account_id),
                session.scalar(select(func.count()).select_from(Transfer)
                               .where(Transfer.ref == f"sale:{answer['sale_id']}")),
                verify(session).ok)

    assert uow.read(state) == (POINTS, 2, True)


def test_a_close_among_sales_puts_every_sale_in_exactly_one_shift(uow: UnitOfWork) -> None:
    shop = prepare(uow)
    clerk = principal(uow, "clerk-dsc")
    record_sale(uow, clerk, SaleCommand(uuid.uuid4(), shop["card"], ((PLENTY, 1),)))  # the shift is open
    commands = [SaleCommand(uuid.uuid4(), shop["card"], ((PLENTY, 1),)) for _ in range(8)]
    calls: list[Callable[[], Any]] = [lambda cmd=cmd: record_sale(uow, clerk, cmd) for cmd in commands]
    calls.insert(4, lambda: close_shift_once(uow, clerk, CloseShiftCommand(uuid.uuid4())))
    outcomes = all_at_once(calls)
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    first = outcomes[4][0]
    assert first["ledger"]["ok"], first["ledger"]
    if first["sales_count"] == 9:  # every sale came before the close: nothing is left open
        with pytest.raises(NoOpenShift):
            close_shift_once(uow, clerk, CloseShiftCommand(uuid.uuid4()))
        later = {"shift_id": None, "sales_count": 0}
    else:  # the sales after the close opened the next shift
        later, _ = close_shift_once(uow, clerk, CloseShiftCommand(uuid.uuid4()))
        assert later["ledger"]["ok"], later["ledger"]
        assert later["ledger"]["from_seq"] == first["ledger"]["to_seq"] + 1
        assert first["sales_count"] + later["sales_count"] == 9

    def shifts_of_sales(session: Session) -> dict[str, int]:
        rows = session.execute(select(Sale.shift_id, func.count()).group_by(Sale.shift_id)).all()
        return {str(shift_id): n for shift_id, n in rows}

    expected = {first["shift_id"]: first["sales_count"], later["shift_id"]: later["sales_count"]}
    assert uow.read(shifts_of_sales) == {k: v for k, v in expected.items() if v}
