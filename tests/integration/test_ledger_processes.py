"""Several OS processes writing one SQLite file at once: two server processes, or the server and a CLI command.

The thread races in test_ledger_concurrency.py share one engine, so on SQLite they queue on core.db's in-process
writer lock before they reach the database. Here each writer is its own process with its own engine and
UnitOfWork (tests/processes.py), so the only thing between them is SQLite: WAL, BEGIN IMMEDIATE, the busy
timeout, and UnitOfWork's retries. SQLite only: on PostgreSQL every thread of the thread races already has its
own connection and row locks, as a process would.

All processes connect first, then start together at one barrier. The assertions count outcomes, never timings:
whatever order SQLite lets the writers in, the numbers must come out the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork, make_engine, make_session_factory
from inventory import products, stock
from ledger.models import Transfer
from tests.databases import Templates
from tests.processes import Outcome, errors_in, run_processes
from tests.support import store_id as store_id_of
from tests.test_ledger_support import journal_count, open_book, verify_now

BARCODE = "6920244418529"


def all_of(per_process: list[list[Outcome]]) -> list[Outcome]:
    return [outcome for outcomes in per_process for outcome in outcomes]


@pytest.fixture
def sqlite_url(templates: Templates) -> str:
    """A fresh, migrated, seeded SQLite file (the same template `db_url` copies)."""
    return templates.sqlite()


@pytest.fixture
def uow(sqlite_url: str) -> Iterator[UnitOfWork]:
    engine = make_engine(sqlite_url)
    yield UnitOfWork(make_session_factory(engine))
    engine.dispose()


def entries_sum(session: Session, account_id: int) -> int:
    """What the journal's entries come to for one account, from the transfers, not the cached balance."""
    credited = select(func.coalesce(func.sum(Transfer.amount), 0)).where(Transfer.credit_account_id == account_id)
    debited = select(func.coalesce(func.sum(Transfer.amount), 0)).where(Transfer.debit_account_id == account_id)
    return session.scalar(credited) - session.scalar(debited)


# ---- the races -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("held, each, threads", [(1000, 70, 1), (100, 100, 1), (1000, 70, 2)],
                         ids=["14-of-40", "1-of-40", "14-of-40-threaded"])
def test_four_processes_redeeming_at_once_cannot_overdraw_a_member(uow: UnitOfWork, sqlite_url: str, held: int,
                                                                    each: int, threads: int) -> None:
    """Four writer processes (with `threads` > 1, each a threaded server sharing its engine) redeem 10 times
    each on one member, while a fifth process verifies the ledger as `creditmart ledger verify` would."""
    book = open_book(uow, members=1)
    alice = book.members[0]
    book.earn(alice, held)
    jobs = [[{"kind": "post", "transfer": asdict(book.spend_spec(alice, each))} for _ in range(10)]
            for _ in range(4)]

    *writers, checks = run_processes(sqlite_url, [*jobs, [{"kind": "verify"}] * 4], threads=threads)
    outcomes = all_of(writers)

    assert errors_in(outcomes + checks) == []
    posted = [o for o in outcomes if o[0] == "posted"]
    refused = [o for o in outcomes if o[0] == "refused"]
    assert len(posted) == held // each
    assert len(refused) == 40 - held // each
    assert {o[1] for o in refused} == {"InsufficientPoints"}
    assert all(o[2]["balance"] == held % each and o[2]["shortfall"] == each - held % each for o in refused)
    # Each success saw the one before it: the balances after form one unbroken staircase down from `held`.
    assert sorted(o[2] for o in posted) == [held - each * k for k in range(len(posted), 0, -1)]
    assert sorted(o[1] for o in posted) == list(range(2, 2 + len(posted)))  # seq 1 is the earning
    assert not any(o[3] for o in posted)
    assert book.balance(alice) == held % each
    assert uow.read(lambda s: entries_sum(s, alice)) == held % each
    report = verify_now(uow)
    assert report.ok, report.problems
    assert report.transfers == 1 + len(posted)
    # Whatever moment each verify saw while the writers went on, that moment was consistent.
    assert all(ok and 1 <= transfers <= report.transfers for _, ok, transfers, _ in checks), checks


def test_one_id_posted_from_five_processes_at_once_makes_one_transfer(uow: UnitOfWork, sqlite_url: str) -> None:
    book = open_book(uow, members=1)
    alice = book.members[0]
    book.earn(alice, 50)
    spec = asdict(book.spend_spec(alice, 20))  # one id, one content, sent by every process (a lost answer resent)
    jobs = [[{"kind": "post", "transfer": spec}] * 3 for _ in range(5)]

    outcomes = all_of(run_processes(sqlite_url, jobs))

    assert errors_in(outcomes) == []
    assert all(o[0] == "posted" for o in outcomes), outcomes
    assert {(o[1], o[2]) for o in outcomes} == {(2, 30)}
    assert Counter(o[3] for o in outcomes) == {True: 14, False: 1}
    assert journal_count(uow) == 2
    assert book.balance(alice) == 30
    assert uow.read(lambda s: entries_sum(s, alice)) == 30
    assert verify_now(uow).ok


def test_four_processes_selling_the_last_goods_at_once_cannot_take_stock_below_zero(uow: UnitOfWork,
                                                                                      sqlite_url: str) -> None:
    def prepare(session: Session) -> int:
        store_id = store_id_of(session, "DSC")
        products.create_product(session, barcode=BARCODE, name="大豆油 5L", points_price=10, actor="test")
        stock.receive(session, store_id, [(BARCODE, 9)], ref="receipt:test", actor="test")
        return store_id

    store_id = uow.run(prepare)
    jobs = [[{"kind": "sell", "store_id": store_id, "barcode": BARCODE, "qty": 2} for _ in range(5)]
            for _ in range(4)]

    outcomes = all_of(run_processes(sqlite_url, jobs))

    assert errors_in(outcomes) == []
    sold = [o for o in outcomes if o[0] == "sold"]
    refused = [o for o in outcomes if o[0] == "refused"]
    assert len(sold) == 4 and len(refused) == 16
    assert sorted(o[1] for o in sold) == [1, 3, 5, 7]
    assert all(o[1] == "OutOfStock" and o[2]["lines"][0]["available"] == 1 and o[2]["lines"][0]["short"] == 1
               for o in refused)
    level = uow.read(lambda s: stock.lookup(s, BARCODE, store_id))
    assert level is not None and level.qty == 1
    assert uow.read(lambda s: stock.check_levels(s)) == []  # the level equals the sum of its movements
