"""The durable print queue on SQLite and PostgreSQL: a sale commits whatever the printer does; jobs are retried
with backoff and print once the printer is back; two workers never take the same job."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.db import UnitOfWork, make_engine, make_session_factory
from core.errors import NotFound
from core.stores import Store, create_store
from pos.print_jobs import (
    INTERRUPTED,
    LEASE,
    DatabaseJobStore,
    PrintJob,
    PrintSettings,
    claim_next,
    enqueue,
    enqueue_document,
    enqueue_reprint,
    get_job,
    job_payload,
    retry_job,
    start_print_worker,
    stop_print_worker,
)
from printers import Receipt, ReceiptLine
from printers.drivers import open_driver
from printers.queue import PrintWorker
from printers.render import PrinterOptions, render
from tests.escpos_decoder import FakePrinter, SilentPrinter, assert_prints_well, decode, free_port
from tests.integration.test_checkout_api import RICE, add_goods, give_points, register_member, sale_body
from tests.support import Api, store_id

T0 = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
PAYLOAD = b"\x1b@\x1c&" + "东山村信用超市 小票\n".encode("gb18030") + b"\x1dV\x01"
SETTINGS_58 = PrintSettings("dummy://", 58, PrinterOptions())
SETTINGS_80 = PrintSettings("dummy://", 80, PrinterOptions())


def dsc(uow: UnitOfWork) -> int:
    return uow.read(lambda s: store_id(s, "DSC"))


def job(uow: UnitOfWork, job_id: uuid.UUID) -> SimpleNamespace:
    """The job's columns as they are now (a read session's objects expire when it ends)."""
    def read(session: Session) -> SimpleNamespace:
        found = get_job(session, job_id)
        return SimpleNamespace(**{c.key: getattr(found, c.key) for c in PrintJob.__table__.columns})

    return uow.read(read)


def sell_and_enqueue(uow: UnitOfWork, store: int, *, now: datetime = T0, ref: str = "sale-1") -> uuid.UUID:
    """Stands in for checkout (a real POST /sales is in the test above): its own business row and the receipt job,
    in one transaction."""
    def work(session: Session) -> uuid.UUID:
        create_store(session, f"S{uuid.uuid4().hex[:8].upper()}", "一笔销售的替身")
        return enqueue(session, store, "receipt", PAYLOAD, ref, now=now).id

    return uow.run(work)


@contextmanager
def printer_down(kind: str, port: int) -> Iterator[None]:
    if kind == "silent":
        with SilentPrinter(port):
            yield
    else:  # refusing: nobody listens on the port
        yield


@pytest.mark.parametrize("down", ["refusing", "silent", "working"])
def test_a_real_sale_succeeds_whatever_the_printer_does_and_its_receipt_prints_once_it_is_back(
        app: Flask, api: Api, down: str) -> None:
    """POST /sales with the shop's printer refusing connections, accepting and never reading, or working: the sale
    answers 201 with its receipt queued, the job is retried while the printer is down, and the receipt prints
    once the printer is back (at once when it works)."""
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)
    add_goods(api, stock={RICE: 5})
    member = register_member(api)
    give_points(uow, member["member_id"], 100)
    port = free_port()
    worker = PrintWorker(DatabaseJobStore(uow), open_driver(f"tcp://127.0.0.1:{port}?timeout=0.3"), name="test")
    clerk = api.as_("clerk-dsc")
    body = sale_body(member["card_number"], [(RICE, 2)])
    with ExitStack() as running:
        printer = running.enter_context(FakePrinter(port)) if down == "working" else None
        if printer is None:
            running.enter_context(printer_down(down, port))
        sold = clerk.post("/api/v1/sales", json=body)
        assert sold.status_code == 201, sold.get_json()
        sale = sold.get_json()
        assert (sale["status"], sale["balance_after"], sale["receipt"]["status"]) == ("completed", 30, "queued")
        job_id = uuid.UUID(sale["receipt"]["job_id"])
        now = job(uow, job_id).next_attempt_at
        first = worker.run_once(now=now)
        if printer is not None:
            assert first.kind == "printed"
            [printed] = printer.wait_for_jobs(1)
        else:
            assert first.kind == "retry" and first.retry_at == now + timedelta(seconds=2)
            waiting = clerk.get(f"/api/v1/sales/{body['id']}").get_json()
            assert (waiting["status"], waiting["balance_after"], waiting["receipt"]["status"]) == (
                "completed", 30, "queued")
            assert job(uow, job_id).last_error
            assert worker.run_once(now=first.retry_at).kind == "retry"  # still down: tried again, still waiting
    if printer is None:
        assert (job(uow, job_id).status, job(uow, job_id).attempts) == ("queued", 2)
        with FakePrinter(port) as back:
            assert worker.run_once(now=now + timedelta(seconds=6)).kind == "printed"
            [printed] = back.wait_for_jobs(1)
    assert clerk.get(f"/api/v1/sales/{body['id']}").get_json()["receipt"]["status"] == "printed"
    assert_prints_well(job(uow, job_id).payload, 58, expected=["杨明", "东北大米 5kg", "70"])
    assert job(uow, job_id).payload in printed
    assert clerk.get(f"/api/v1/cards/{member['card_number']}").get_json()["balance"] == 30  # debited once


@pytest.mark.parametrize("down", ["refusing", "silent"])
def test_sale_commits_job_is_retried_and_prints_once_the_printer_is_back(uow: UnitOfWork, down: str) -> None:
    port = free_port()
    worker = PrintWorker(DatabaseJobStore(uow), open_driver(f"tcp://127.0.0.1:{port}?timeout=0.3"), name="test")
    with printer_down(down, port):
        job_id = sell_and_enqueue(uow, dsc(uow))
        assert job(uow, job_id).status == "queued"  # committed with the sale, whatever the printer does
        first = worker.run_once(now=T0)
        assert first.kind == "retry" and first.retry_at == T0 + timedelta(seconds=2)
        after = job(uow, job_id)
        assert (after.status, after.attempts, after.next_attempt_at) == ("queued", 1, T0 + timedelta(seconds=2))
        assert after.last_error and ("cannot connect" in after.last_error or "did not answer" in after.last_error)
        assert worker.run_once(now=T0 + timedelta(seconds=1)).kind == "idle"  # backing off
        second = worker.run_once(now=T0 + timedelta(seconds=2))
        assert second.kind == "retry" and second.retry_at == T0 + timedelta(seconds=6)  # 2 s, then 4 s
    with FakePrinter(port) as printer:
        assert worker.run_once(now=T0 + timedelta(seconds=6)).kind == "printed"
        assert worker.run_once(now=T0 + timedelta(seconds=7)).kind == "idle"
        [printed] = printer.wait_for_jobs(1)
    assert PAYLOAD in printed
    done = job(uow, job_id)
    assert (done.status, done.attempts, done.printed_at) == ("printed", 3, T0 + timedelta(seconds=6))


def test_a_working_printer_prints_at_once(uow: UnitOfWork) -> None:
    with FakePrinter() as printer:
        worker = PrintWorker(DatabaseJobStore(uow), open_driver(printer.url), name="test")
        job_id = sell_and_enqueue(uow, dsc(uow))
        assert worker.run_once(now=T0).kind == "printed"
        assert decode(printer.wait_for_jobs(1)[0]).text_lines()[0] == "东山村信用超市 小票"
    assert job(uow, job_id).status == "printed"


def test_a_rolled_back_sale_leaves_no_job(uow: UnitOfWork) -> None:
    store = dsc(uow)

    def failing_sale(session: Session) -> None:
        enqueue(session, store, "receipt", PAYLOAD, "sale-x", now=T0)
        raise RuntimeError("insufficient points, say")

    with pytest.raises(RuntimeError):
        uow.run(failing_sale)
    assert uow.read(lambda s: s.scalar(select(func.count()).select_from(PrintJob))) == 0


def test_a_printer_off_for_hours_is_waited_for_and_prints_once_it_is_back(uow: UnitOfWork) -> None:
    """A paper change or a power cut longer than the retry budget: the job stays queued, tried every minute,
    and prints by itself when the printer answers again; nobody has to press retry."""
    port = free_port()
    worker = PrintWorker(DatabaseJobStore(uow), open_driver(f"tcp://127.0.0.1:{port}?timeout=0.3"), name="test")
    job_id = sell_and_enqueue(uow, dsc(uow))
    now, waits = T0, []
    for _ in range(15):  # past RetryPolicy.max_attempts (10)
        outcome = worker.run_once(now=now)
        assert outcome.kind == "retry" and outcome.retry_at is not None, outcome
        waits.append((outcome.retry_at - now).total_seconds())
        now = outcome.retry_at
    assert waits == [2, 4, 8, 16, 32] + [60] * 10
    assert worker.run_once(now=now - timedelta(seconds=1)).kind == "idle"
    hours_later = now + timedelta(hours=3)  # the worker was asleep meanwhile, or the server restarted
    assert worker.run_once(now=hours_later).retry_at == hours_later + timedelta(seconds=60)
    waiting = job(uow, job_id)
    assert (waiting.status, waiting.attempts) == ("queued", 16) and "cannot connect" in (waiting.last_error or "")
    with FakePrinter(port) as printer:
        assert worker.run_once(now=hours_later + timedelta(seconds=60)).kind == "printed"
        [printed] = printer.wait_for_jobs(1)
    assert PAYLOAD in printed
    assert (job(uow, job_id).status, job(uow, job_id).attempts) == ("printed", 17)


def test_after_the_last_attempt_a_person_retries(uow: UnitOfWork) -> None:
    """A job that may have printed in part fails at once and waits for a person, who sends it again."""
    with FakePrinter(runs_out_during_job=True) as printer:
        worker = PrintWorker(DatabaseJobStore(uow), open_driver(printer.url), name="test")
        job_id = sell_and_enqueue(uow, dsc(uow))
        assert worker.run_once(now=T0).kind == "failed"
        port = printer.port
    assert job(uow, job_id).status == "failed"
    assert worker.run_once(now=T0 + timedelta(hours=1)).kind == "idle"  # failed jobs wait for a person
    uow.run(lambda s: retry_job(s, job_id, store_id=None, now=T0 + timedelta(hours=1)))
    assert (job(uow, job_id).status, job(uow, job_id).attempts) == ("queued", 0)
    with FakePrinter(port) as printer:
        assert worker.run_once(now=T0 + timedelta(hours=1)).kind == "printed"
        assert PAYLOAD in printer.wait_for_jobs(1)[0]


def test_a_job_that_may_have_printed_is_not_sent_again(uow: UnitOfWork) -> None:
    with FakePrinter(runs_out_during_job=True) as printer:
        worker = PrintWorker(DatabaseJobStore(uow), open_driver(printer.url), name="test")
        job_id = sell_and_enqueue(uow, dsc(uow))
        outcome = worker.run_once(now=T0)
        assert outcome.kind == "failed" and "offline" in outcome.error
        assert len(printer.wait_for_jobs(1)) == 1
    failed = job(uow, job_id)
    assert failed.status == "failed" and "offline" in (failed.last_error or "")


def test_a_job_left_printing_fails_as_interrupted_instead_of_printing_twice(uow: UnitOfWork) -> None:
    store = dsc(uow)
    job_id = sell_and_enqueue(uow, store)
    claimed = uow.run(lambda s: claim_next(s, worker="died", now=T0))
    assert claimed is not None and claimed.id == job_id  # ... and the worker dies before reporting
    assert uow.run(lambda s: claim_next(s, worker="other", now=T0 + LEASE - timedelta(seconds=1))) is None
    assert uow.run(lambda s: claim_next(s, worker="other", now=T0 + LEASE + timedelta(seconds=1))) is None
    stale = job(uow, job_id)
    assert (stale.status, stale.last_error) == ("failed", INTERRUPTED)


def test_claims_are_oldest_first_and_for_the_right_shop_and_printer(uow: UnitOfWork) -> None:
    store = dsc(uow)
    xhc = uow.read(lambda s: store_id(s, "XHC"))

    def work(session: Session) -> list[uuid.UUID]:
        return [enqueue(session, store, "receipt", PAYLOAD, "1", now=T0 + timedelta(seconds=2)).id,
                enqueue(session, store, "label", PAYLOAD, "2", now=T0 + timedelta(seconds=1)).id,
                enqueue(session, xhc, "receipt", PAYLOAD, "3", now=T0).id,
                enqueue(session, store, "card", PAYLOAD, "4", printer="tcp://10.0.0.9", now=T0).id]

    newer, older, other_shop, other_printer = uow.run(work)
    later = T0 + timedelta(seconds=5)
    first = uow.run(lambda s: claim_next(s, worker="w", now=later, store_id=store, printer="tcp://10.0.0.8"))
    second = uow.run(lambda s: claim_next(s, worker="w", now=later, store_id=store, printer="tcp://10.0.0.8"))
    third = uow.run(lambda s: claim_next(s, worker="w", now=later, store_id=store, printer="tcp://10.0.0.8"))
    assert (first.id, second.id, third) == (older, newer, None)
    assert uow.run(lambda s: claim_next(s, worker="w", now=later, store_id=store)).id == other_printer
    assert uow.run(lambda s: claim_next(s, worker="w", now=later)).id == other_shop


def test_two_workers_never_take_the_same_job(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(2)]
    uows = [UnitOfWork(make_session_factory(engine)) for engine in engines]
    try:
        store = dsc(uows[0])
        ids = set(uows[0].run(lambda s: [enqueue(s, store, "receipt", PAYLOAD, str(i), now=T0).id
                                         for i in range(30)]))
        claimed: list[list[str]] = [[], []]
        start = threading.Barrier(2)

        def drain(index: int) -> None:
            store_for_worker = DatabaseJobStore(uows[index])
            start.wait()
            while (got := store_for_worker.claim(f"worker-{index}", T0)) is not None:
                claimed[index].append(got.id)

        threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not set(claimed[0]) & set(claimed[1])
        assert {uuid.UUID(i) for i in claimed[0] + claimed[1]} == ids
        assert len(claimed[0]) + len(claimed[1]) == len(ids)
    finally:
        for engine in engines:
            engine.dispose()


def test_postgres_skips_a_row_another_worker_has_locked(postgres_db_url: str) -> None:
    # SQLite has no row locks: BEGIN IMMEDIATE serialises the claims (covered above).
    engine = make_engine(postgres_db_url)
    factory = make_session_factory(engine)
    try:
        uow = UnitOfWork(factory)
        store = dsc(uow)
        first_id, second_id = uow.run(lambda s: [enqueue(s, store, "receipt", PAYLOAD, str(i), now=T0).id
                                                 for i in range(2)])
        with factory() as one, factory() as two, one.begin(), two.begin():
            mine = claim_next(one, worker="one", now=T0)  # not yet committed: its row is locked
            two.execute(text("SET LOCAL lock_timeout = '3s'"))  # waiting for the lock would fail, not hang
            theirs = claim_next(two, worker="two", now=T0)
            assert {mine.id, theirs.id} == {first_id, second_id}  # same created_at: either may come first
    finally:
        engine.dispose()


def receipt(sale_id: str = "3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b") -> Receipt:
    return Receipt(sale_id=sale_id, store_name="东山村信用超市", sold_at=T0, clerk="王小红", member_name="杨明",
                   card_number="100000123456", lines=[ReceiptLine("东北大米 5kg", 2, 35)], points_total=70,
                   balance_before=100, balance_after=30)


def test_enqueue_document_and_reprint(uow: UnitOfWork) -> None:
    store = dsc(uow)
    original = uow.run(lambda s: enqueue_document(s, store, receipt(), now=T0))
    assert (original.kind, original.ref, original.payload) == ("receipt", receipt().sale_id, None)
    assert job_payload(original, SETTINGS_58) == render(receipt(), 58)  # rendered when claimed, as it was sold
    again = uow.run(lambda s: enqueue_reprint(s, store, receipt().sale_id, now=T0 + timedelta(hours=2)))
    assert (again.kind, again.ref, again.status) == ("reprint", receipt().sale_id, "queued")
    reprinted = assert_prints_well(job_payload(again, SETTINGS_58), 58,
                                   expected=["重印 REPRINT", "重印时间：2026-12-03 16:00:00", "杨明", "东北大米 5kg"])
    assert reprinted.text.count("重印") >= 1 and "重印" not in decode(job_payload(original, SETTINGS_58)).text
    assert_prints_well(job_payload(again, SETTINGS_80), 80, expected=["重印 REPRINT", "杨明"])
    with pytest.raises(NotFound):
        uow.run(lambda s: enqueue_reprint(s, store, "no-such-sale"))
    with pytest.raises(ValueError):
        uow.run(lambda s: enqueue(s, store, "poster", PAYLOAD))


def test_embedded_worker_prints_right_after_the_commit(app: Flask, tmp_path: Path) -> None:
    settings = PrintSettings(f"file://{tmp_path}/receipts", 58, PrinterOptions())
    assert start_print_worker(app, settings=PrintSettings("dummy://", 58, PrinterOptions())) is None
    worker = start_print_worker(app, settings=settings)
    assert worker is not None
    try:
        uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)
        store = dsc(uow)
        job_id = uow.run(lambda s: enqueue_document(s, store, receipt()).id)
        deadline = time.monotonic() + 20
        while job(uow, job_id).status != "printed" and time.monotonic() < deadline:
            time.sleep(0.02)  # waiting for the worker thread, not timing it
        assert job(uow, job_id).status == "printed"
    finally:
        stop_print_worker(worker)
    [printed] = list((tmp_path / "receipts").iterdir())
    assert_prints_well(printed.read_bytes(), 58, expected=["杨明", "70"])
    assert uow.read(lambda s: s.scalar(select(func.count()).select_from(Store))) >= 2


def test_the_bytes_sent_for_a_document_are_kept_on_the_job(uow: UnitOfWork) -> None:
    """A job queued as a document is rendered when claimed; the bytes that went to the printer are stored in
    `payload` (the document stays, for the next attempt and for reprints)."""
    store = dsc(uow)
    job_id = uow.run(lambda s: enqueue_document(s, store, receipt(), now=T0).id)
    assert job(uow, job_id).payload is None  # nothing rendered in the sale's transaction
    port = free_port()
    narrow = PrintWorker(DatabaseJobStore(uow, settings=SETTINGS_58),
                         open_driver(f"tcp://127.0.0.1:{port}?timeout=0.3"), name="58")
    assert narrow.run_once(now=T0).kind == "retry"  # the printer is off, but the job was rendered for it
    tried = job(uow, job_id)
    assert tried.payload == render(receipt(), 58) and tried.document is not None
    wide_store = DatabaseJobStore(uow, settings=SETTINGS_80)
    with FakePrinter(port) as printer:
        wide = PrintWorker(wide_store, open_driver(printer.url), name="80")
        assert wide.run_once(now=T0 + timedelta(seconds=2)).kind == "printed"
        [sent] = printer.wait_for_jobs(1)
    done = job(uow, job_id)
    assert done.status == "printed" and done.payload == render(receipt(), 80) != tried.payload
    assert done.payload in sent  # what the printer received, between the driver's status requests
    assert_prints_well(done.payload, 80, expected=["杨明", "东北大米 5kg"])
    again = uow.run(lambda s: enqueue_reprint(s, store, receipt().sale_id, now=T0 + timedelta(hours=1)))
    assert again.payload is None and again.document is not None  # a reprint is made from the document


def test_bytes_enqueued_ready_are_left_as_they_are(uow: UnitOfWork) -> None:
    job_id = sell_and_enqueue(uow, dsc(uow))
    with FakePrinter() as printer:
        assert PrintWorker(DatabaseJobStore(uow), open_driver(printer.url), name="t").run_once(now=T0).kind == (
            "printed")
    assert job(uow, job_id).payload == PAYLOAD and job(uow, job_id).document is None
