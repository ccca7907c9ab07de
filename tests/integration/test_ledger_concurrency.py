"""Concurrency and crashes: 40 tablets at once on one member, one id posted 5 times at once, SIGKILL mid-run.

The threads share one engine, so on SQLite they also queue on core.db's in-process writer lock; the same races
between separate processes, where only SQLite's own locking stands between them, are in test_ledger_processes.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.db import UnitOfWork, make_engine, make_session_factory
from core.stores import Store
from ledger import MEMBER, InsufficientPoints, Posted, get_transfer, open_account, post, redemption_sink
from tests.test_ledger_support import Book, journal_count, open_book, verify_now

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pooled_uow(db_url: str) -> Iterator[UnitOfWork]:
    """A unit of work whose pool has a connection for each of 40 threads."""
    engine = make_engine(db_url, pool_size=45, max_overflow=0, pool_timeout=120)
    yield UnitOfWork(make_session_factory(engine), attempts=50)
    engine.dispose()


def run_together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Start n threads at the same instant; each result is the value returned or the exception raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


@pytest.mark.parametrize("held, each", [(1000, 70), (100, 100)])
def test_forty_tablets_redeeming_at_once_cannot_overdraw_a_member(pooled_uow: UnitOfWork, held: int,
                                                                   each: int) -> None:
    book = open_book(pooled_uow, members=1)
    alice = book.members[0]
    book.earn(alice, held)

    results = run_together(40, lambda i: book.spend(alice, each))

    posted = [r for r in results if isinstance(r, Posted)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(posted) == held // each
    assert len(refused) == 40 - held // each, [r for r in results if not isinstance(r, Posted | InsufficientPoints)]
    assert all(r.details["shortfall"] == each - held % each for r in refused)
    assert sorted(p.debit_balance_after for p in posted) == [held - each * k for k in range(len(posted), 0, -1)]
    assert book.balance(alice) == held % each
    assert verify_now(pooled_uow).ok


def test_one_id_posted_five_times_at_once_makes_one_transfer(pooled_uow: UnitOfWork) -> None:
    book = open_book(pooled_uow, members=1)
    alice = book.members[0]
    book.earn(alice, 50)
    spec = book.spend_spec(alice, 20)

    results = run_together(5, lambda i: pooled_uow.run(lambda s: post(s, spec)))

    assert all(isinstance(r, Posted) for r in results), results
    assert {r.seq for r in results} == {2}
    assert sum(not r.replayed for r in results) == 1
    assert journal_count(pooled_uow) == 2
    assert book.balance(alice) == 30
    assert verify_now(pooled_uow).ok


WRITER = """
import sys, uuid
from core.db import UnitOfWork, make_engine, make_session_factory
from ledger import VOLUNTEER_HOURS, NewTransfer, post

url, debit, credit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
uow = UnitOfWork(make_session_factory(make_engine(url)))
while True:
    spec = NewTransfer(id=uuid.uuid4(), debit=debit, credit=credit, amount=1, code=VOLUNTEER_HOURS,
                       ref="crash-test", actor="crash-test")
    uow.run(lambda session: post(session, spec))
    print(spec.id, flush=True)  # acknowledged: committed
"""


def test_a_writer_killed_mid_run_loses_nothing_it_acknowledged(uow: UnitOfWork, db_url: str) -> None:
    book: Book = open_book(uow, members=1)
    alice = book.members[0]
    writer = subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(book.programme), str(alice)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT,
                              env=os.environ | {"PYTHONPATH": str(ROOT)})
    acknowledged: list[uuid.UUID] = []
    assert writer.stdout is not None
    try:
        for line in writer.stdout:
            acknowledged.append(uuid.UUID(line.strip()))
            if len(acknowledged) == 40:
                writer.send_signal(signal.SIGKILL)  # most likely in the middle of the next transaction
                break
    finally:
        writer.kill()
        rest, _ = writer.communicate(timeout=60)
    acknowledged += [uuid.UUID(line) for line in rest.split()]
    assert writer.returncode == -signal.SIGKILL

    report = verify_now(uow)
    assert report.ok, report.problems
    assert all(uow.read(lambda s, i=i: get_transfer(s, i)).id == i for i in acknowledged)
    assert report.transfers >= len(acknowledged) >= 40
    # The journal goes on where it stopped.
    book.earn(alice, 1)
    assert verify_now(uow).ok


def test_two_tablets_opening_one_account_at_once_open_one(pooled_uow: UnitOfWork) -> None:
    def open_both(i: int) -> tuple[int, int]:
        def work(s):  # type: ignore[no-untyped-def]
            store = s.scalars(select(Store.id).where(Store.code == "DSC")).one()
            return open_account(s, MEMBER, "member:twin", store).id, redemption_sink(s, store).id
        return pooled_uow.run(work)

    results = run_together(8, open_both)
    assert all(isinstance(r, tuple) for r in results), results
    assert len(set(results)) == 1
