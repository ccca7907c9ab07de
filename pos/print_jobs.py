"""The durable print queue: jobs in the database, enqueued inside the use case's transaction, printed after it.

A checkout calls `enqueue_document(session, store_id, receipt)` (or `enqueue` with bytes it rendered) inside its own
unit of work, so the sale and its receipt job commit or roll back together. The job keeps the document as data and
is rendered to ESC/POS bytes when a worker claims it, for that worker's paper and printer options: rendering (the
QR code's raster image above all) stays out of the sale's transaction, and a shop's agent prints for the printer it
really drives. Printing happens afterwards, by a
`printers.queue.PrintWorker`: in the embedded deployment a thread of `creditmart serve` over `DatabaseJobStore`;
in a city deployment a shop's `creditmart print-agent`, through the HTTP routes in `pos.api.print_jobs`. Nothing a
printer does can block or roll back a sale.

Claiming is safe with several workers: PostgreSQL locks the candidate row with FOR UPDATE SKIP LOCKED (a second
worker takes the next job instead of waiting), and the claim itself is a conditional UPDATE … WHERE status='queued'
that only one transaction can win; on SQLite, every write transaction begins IMMEDIATE, so claims are serialised.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Uuid,
    event,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UnitOfWork, UTCDateTime, utcnow
from core.errors import DomainError, Forbidden, NotFound
from core.stores import Store
from pos.i18n import translate
from printers.documents import (
    DonationReceipt,
    MemberCard,
    Receipt,
    ShelfLabel,
    TestPage,
    ZReport,
    document_data,
    document_from_data,
)
from printers.drivers import open_driver, parse_printer_url
from printers.queue import Job, PrintWorker, RetryPolicy, short_error
from printers.render import Document, PrinterOptions, mark_reprint, preview_html, render

log = logging.getLogger(__name__)

KINDS = ("receipt", "reprint", "z_report", "card", "label", "donation_receipt", "test_page")
STATUSES = ("queued", "printing", "printed", "failed")
# A job left "printing" this long (a worker or agent died mid-job) is failed, not re-sent: it may have printed.
LEASE = timedelta(minutes=5)
INTERRUPTED = "interrupted while printing (the worker stopped or lost contact); it may have printed: check, then retry"


class PrintJobConflict(DomainError):
    """The job is not in a state that allows this (e.g. retrying a job that printed)."""

    code = "conflict"


class PrintJob(Base):
    __tablename__ = "print_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'printing', 'printed', 'failed')", name="status"),
        CheckConstraint("kind IN ('receipt', 'reprint', 'z_report', 'card', 'label', 'donation_receipt', "
                        "'test_page')", name="kind"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint("payload IS NOT NULL OR document IS NOT NULL", name="content"),
        Index("ix_print_jobs_due", "status", "next_attempt_at"),
        Index("ix_print_jobs_store_created", "store_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str | None] = mapped_column(String(64), index=True)
    # ESC/POS bytes: as enqueued when the job came rendered; else what its document was rendered to when last claimed
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # `printers.documents.document_data`
    printer: Mapped[str | None] = mapped_column(String(255))  # None: the shop's default printer
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- settings -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintSettings:
    """The shop's printer as configured (CREDITMART_PRINTER, CREDITMART_PAPER_WIDTH)."""

    printer: str
    paper_width: int
    options: PrinterOptions

    @property
    def local_printer(self) -> bool:
        """dummy:// means no printer on this machine: a print agent prints the jobs (city deployment)."""
        return not self.printer.startswith("dummy:")


def print_settings(config: Any | None = None) -> PrintSettings:
    if config is None:
        config = current_app.config if has_app_context() else {}
    printer = str(config.get("PRINTER") or "dummy://")
    return PrintSettings(printer, int(config.get("PAPER_WIDTH") or 58), parse_printer_url(printer).options)


# --- enqueueing (inside the caller's transaction) -------------------------------------------------------------------


def enqueue(session: Session, store_id: int, kind: str, payload: bytes, ref: str | None = None, *,
            printer: str | None = None, now: datetime | None = None) -> PrintJob:
    """Adds a queued job of bytes already rendered, in the caller's transaction; never commits, never touches a
    printer."""
    if not isinstance(payload, bytes) or not payload:
        raise ValueError("a print job needs its payload as non-empty bytes")
    return _add_job(session, store_id, kind, ref, payload=payload, printer=printer, now=now)


def _add_job(session: Session, store_id: int, kind: str, ref: str | None, *, payload: bytes | None = None,
             document: dict[str, Any] | None = None, printer: str | None = None,
             now: datetime | None = None) -> PrintJob:
    if kind not in KINDS:
        raise ValueError(f"unknown print job kind {kind!r}")
    now = now or utcnow()
    job = PrintJob(id=uuid.uuid4(), store_id=store_id, kind=kind, ref=ref, payload=payload, document=document,
                   printer=printer, status="queued", attempts=0, next_attempt_at=now, created_at=now,
                   updated_at=now)
    session.add(job)
    session.flush()
    event.listen(session, "after_commit", _wake_workers, once=True)
    return job


def document_kind(document: Document) -> tuple[str, str | None]:
    """The job kind and default ref for a document."""
    if isinstance(document, Receipt):
        return ("reprint" if document.reprint else "receipt"), document.sale_id
    if isinstance(document, DonationReceipt):
        return "donation_receipt", document.contribution_id
    if isinstance(document, ZReport):
        return "z_report", document.shift_id
    if isinstance(document, MemberCard):
        return "card", document.card_number
    if isinstance(document, ShelfLabel):
        return "label", document.barcode
    if isinstance(document, TestPage):
        return "test_page", None
    raise TypeError(f"not a printable document: {type(document).__name__}")


def enqueue_document(session: Session, store_id: int, document: Document, *, ref: str | None = None,
                     now: datetime | None = None) -> PrintJob:
    """Enqueues `document` as data (see `enqueue`); it is rendered when a worker claims it (`job_payload`)."""
    kind, default_ref = document_kind(document)
    return _add_job(session, store_id, kind, ref if ref is not None else default_ref,
                    document=document_data(document), now=now)


def enqueue_reprint(session: Session, store_id: int, sale_ref: str, *, now: datetime | None = None) -> PrintJob:
    """The sale's receipt again, behind a 重印 / REPRINT banner (kind "reprint", same ref)."""
    original = session.scalar(
        select(PrintJob).where(PrintJob.store_id == store_id, PrintJob.kind == "receipt", PrintJob.ref == sale_ref)
        .order_by(PrintJob.created_at.desc()).limit(1))
    if original is None:
        raise NotFound("no receipt was printed for this sale", ref=sale_ref)
    now = now or utcnow()
    if original.document is None:  # enqueued as bytes (before receipts were kept as documents)
        settings = print_settings()
        return enqueue(session, store_id, "reprint", mark_reprint(original.payload or b"", settings.paper_width, now),
                       sale_ref, now=now)
    receipt = document_from_data(original.document)
    assert isinstance(receipt, Receipt)
    return enqueue_document(session, store_id, replace(receipt, reprint=True, reprinted_at=now), now=now)


def job_payload(job: PrintJob, settings: PrintSettings) -> bytes:
    """The job's ESC/POS bytes for a printer with these settings: its document rendered, or the stored bytes."""
    if job.document is None:
        assert job.payload is not None  # the table's check constraint
        return job.payload
    return render(document_from_data(job.document), settings.paper_width,  # type: ignore[arg-type]
                  settings.options)


def job_preview(session: Session, job_id: uuid.UUID, *, store_id: int, paper_width: int,
                lang: str = "zh-CN") -> str:
    """The job's document as a standalone HTML page, line for line as it prints on this paper (all text escaped;
    QR codes and barcodes as PNG data URIs). A job queued as bytes only has no document to show: 409."""
    job = get_job(session, job_id)
    if job.store_id != store_id:
        raise Forbidden("another shop's print job", job_id=str(job_id))
    if job.document is None:
        raise PrintJobConflict("the job was queued as printer bytes: there is no document to preview",
                               job_id=str(job_id))
    figure = preview_html(document_from_data(job.document), paper_width)  # type: ignore[arg-type]
    title = html.escape(f"{translate('print.kind.' + job.kind, lang)} {job.ref or ''}".strip())
    return (f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{title}</title><style>body{{margin:0;padding:12px;background:#eee}}</style></head>'
            f'<body>{figure}</body></html>')


# --- claiming and outcomes (each in its own short transaction, never while talking to a printer) -------------------


def _due(now: datetime, store_id: int | None, printer: str | None) -> list[Any]:
    conditions = [PrintJob.status == "queued", PrintJob.next_attempt_at <= now]
    if store_id is not None:
        conditions.append(PrintJob.store_id == store_id)
    if printer is not None:
        conditions.append(or_(PrintJob.printer.is_(None), PrintJob.printer == printer))
    return conditions


def _stale(now: datetime, store_id: int | None) -> list[Any]:
    conditions = [PrintJob.status == "printing", PrintJob.claimed_at < now - LEASE]
    if store_id is not None:
        conditions.append(PrintJob.store_id == store_id)
    return conditions


def has_work(session: Session, now: datetime, *, store_id: int | None = None, printer: str | None = None) -> bool:
    """A cheap read-only look, so an idle worker does not take SQLite's write lock every poll."""
    return bool(session.scalar(select(exists().where(*_due(now, store_id, printer)))) or
                session.scalar(select(exists().where(*_stale(now, store_id)))))


def claim_next(session: Session, *, worker: str, now: datetime, store_id: int | None = None,
               printer: str | None = None) -> PrintJob | None:
    """Takes the oldest due job: queued → printing, attempts + 1. Returns None when there is none."""
    session.execute(update(PrintJob).where(*_stale(now, store_id))
                    .values(status="failed", last_error=INTERRUPTED, updated_at=now))
    candidate = session.scalar(
        select(PrintJob.id).where(*_due(now, store_id, printer))
        .order_by(PrintJob.created_at, PrintJob.id).limit(1)
        .with_for_update(skip_locked=True))  # PostgreSQL; SQLite has no row locks and serialises writers instead
    if candidate is None:
        return None
    won = session.execute(
        update(PrintJob).where(PrintJob.id == candidate, PrintJob.status == "queued")
        .values(status="printing", attempts=PrintJob.attempts + 1, claimed_by=worker[:100], claimed_at=now,
                updated_at=now))
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(PrintJob, candidate, populate_existing=True)


def record_success(session: Session, job_id: uuid.UUID, now: datetime, *, sent: bytes | None = None) -> PrintJob:
    """Printed. A late success still counts when the job was meanwhile failed as interrupted. `sent`: the bytes
    that went to the printer, kept in this same transaction (see `_keep_sent`)."""
    job = get_job(session, job_id)
    if job.status != "printed":
        job.status, job.printed_at, job.updated_at = "printed", now, now
        _keep_sent(job, sent)
        session.flush()
    return job


def _keep_sent(job: PrintJob, sent: bytes | None) -> None:
    """A job made from a document keeps in `payload` what it was last rendered to (a job queued as bytes already
    holds them)."""
    if sent is not None and job.document is not None:
        job.payload = sent


def record_failure(session: Session, job_id: uuid.UUID, error: str, now: datetime,
                   retry_at: datetime | None, *, sent: bytes | None = None) -> PrintJob:
    """Not printed: queued again from `retry_at`, or failed when there is no retry. `sent` as for success."""
    job = get_job(session, job_id)
    if job.status != "printing":
        raise PrintJobConflict("the job is not being printed", status=job.status)
    _keep_sent(job, sent)
    job.last_error = error[:500]
    job.updated_at = now
    if retry_at is None:
        job.status = "failed"
    else:
        job.status, job.next_attempt_at = "queued", retry_at
    session.flush()
    return job


def report_result(session: Session, job_id: uuid.UUID, *, store_id: int, ok: bool, error: str | None,
                  retryable: bool, now: datetime, policy: RetryPolicy | None = None,
                  unavailable: bool = False) -> PrintJob:
    """A print agent's report on a job it claimed. A repeated success is answered as before. `unavailable`: the
    printer took none of it (off, unreachable, out of paper), so it is retried for as long as that lasts."""
    job = get_job(session, job_id, for_update=True)
    if job.store_id != store_id:
        raise Forbidden("another shop's print job", job_id=str(job_id))
    if ok:
        return record_success(session, job_id, now)
    retry_at = (policy or RetryPolicy()).next_attempt(job.attempts, now, retryable=retryable,
                                                      unavailable=unavailable)
    return record_failure(session, job_id, error or "the print agent reported a failure", now, retry_at)


def retry_job(session: Session, job_id: uuid.UUID, *, store_id: int | None, now: datetime) -> PrintJob:
    """A person sends a failed job again: queued now, with a fresh retry budget. Already queued: unchanged."""
    job = get_job(session, job_id, for_update=True)
    if store_id is not None and job.store_id != store_id:
        raise Forbidden("another shop's print job", job_id=str(job_id))
    if job.status == "queued":
        return job
    if job.status != "failed":
        raise PrintJobConflict("only a failed job can be retried", status=job.status)
    job.status, job.attempts, job.next_attempt_at, job.updated_at = "queued", 0, now, now
    job.claimed_by = job.claimed_at = None
    session.flush()
    event.listen(session, "after_commit", _wake_workers, once=True)
    return job


def get_job(session: Session, job_id: uuid.UUID, *, for_update: bool = False) -> PrintJob:
    job = session.get(PrintJob, job_id, with_for_update=for_update or None, populate_existing=True)
    if job is None:
        raise NotFound("print job not found", job_id=str(job_id))
    return job


def list_jobs(session: Session, store_id: int, status: str | None = None, limit: int = 50) -> list[PrintJob]:
    query = select(PrintJob).where(PrintJob.store_id == store_id)
    if status is not None:
        query = query.where(PrintJob.status == status)
    return list(session.scalars(query.order_by(PrintJob.created_at.desc(), PrintJob.id).limit(limit)))


def queue_summary(session: Session, store_id: int) -> dict[str, Any]:
    """Counts by status and the latest times: enough for the tablet to tell whether printing works."""
    counts = dict(session.execute(select(PrintJob.status, func.count()).where(PrintJob.store_id == store_id)
                                  .group_by(PrintJob.status)).all())
    last_printed = session.scalar(select(func.max(PrintJob.printed_at)).where(PrintJob.store_id == store_id))
    last_claimed = session.scalar(select(func.max(PrintJob.claimed_at)).where(PrintJob.store_id == store_id))
    last_failed = session.scalar(select(PrintJob).where(PrintJob.store_id == store_id,
                                                        PrintJob.last_error.is_not(None))
                                 .order_by(PrintJob.updated_at.desc()).limit(1))
    return {
        **{status: int(counts.get(status, 0)) for status in STATUSES},
        "last_printed_at": _iso(last_printed),
        "last_claimed_at": _iso(last_claimed),
        "last_error": last_failed.last_error if last_failed is not None else None,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def job_json(job: PrintJob, store_code: str, *, payload: bytes | None = None) -> dict[str, Any]:
    """The job as the API shows it; a claimed job also carries its bytes (`payload`) for the agent."""
    data: dict[str, Any] = {
        "job_id": str(job.id),
        "store": store_code,
        "kind": job.kind,
        "ref": job.ref,
        "status": job.status,
        "attempts": job.attempts,
        "last_error": job.last_error,
        "printer": job.printer,
        "size": len(job.payload) if job.payload is not None else None,  # a document's size is known once rendered
        "created_at": _iso(job.created_at),
        "updated_at": _iso(job.updated_at),
        "next_attempt_at": _iso(job.next_attempt_at) if job.status == "queued" else None,
        "printed_at": _iso(job.printed_at),
    }
    if payload is not None:
        data["size"] = len(payload)
        data["payload_base64"] = base64.b64encode(payload).decode("ascii")
    return data


def store_code(session: Session, store_id: int) -> str:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound("store not found", store_id=store_id)
    return store.code


def claim_rendered(uow: UnitOfWork, settings: PrintSettings, *, worker: str, now: datetime,
                   store_id: int | None = None, printer: str | None = None,
                   keep: bool = True) -> tuple[PrintJob, bytes] | None:
    """Claims the next due job in its own transaction, then renders it for `settings` outside any transaction (so
    rendering holds no lock). Returns the job (detached) and its bytes, or None when nothing is due. A document
    that cannot be rendered fails its own job, and the next one is claimed.

    `keep`: store the rendered bytes in `payload` now, in a transaction of their own (a print agent reports its
    outcome over HTTP later). The embedded worker passes False and keeps them with the outcome instead, which
    spares every receipt a write transaction (and its fsync) beside the sales."""
    while True:
        def work(session: Session) -> PrintJob | None:
            job = claim_next(session, worker=worker, now=now, store_id=store_id, printer=printer)
            if job is not None:
                session.expunge(job)
            return job

        job = uow.run(work)
        if job is None:
            return None
        try:
            payload = job_payload(job, settings)
        except Exception as exc:  # never expected: documents check themselves when they are built
            log.exception("print job %s: its document cannot be rendered", job.id)
            error = f"the document cannot be rendered: {short_error(exc)}"
            uow.run(lambda s, job_id=job.id, error=error: record_failure(s, job_id, error, now, None))
            continue
        if keep and job.document is not None:  # keep what goes to the printer (the last attempt's bytes)
            uow.run(lambda s, job_id=job.id, payload=payload: keep_payload(s, job_id, payload))
            job.payload = payload
        return job, payload


def keep_payload(session: Session, job_id: uuid.UUID, payload: bytes) -> None:
    """Stores the bytes a document was rendered to for the printer that claimed it, so `payload` always shows what
    was sent; the document stays, for the next attempt (perhaps another printer) and for reprints."""
    session.execute(update(PrintJob).where(PrintJob.id == job_id, PrintJob.status == "printing")
                    .values(payload=payload))


# --- the embedded worker --------------------------------------------------------------------------------------------


class DatabaseJobStore:
    """`printers.queue.JobStore` over the database: each call is its own short transaction."""

    def __init__(self, uow: UnitOfWork, *, settings: PrintSettings | None = None, store_id: int | None = None,
                 printer: str | None = None) -> None:
        self.uow = uow
        self.settings = settings or print_settings()  # the paper and options documents are rendered for
        self.store_id = store_id
        self.printer = printer

    def claim(self, worker: str, now: datetime) -> Job | None:
        if not self.uow.read(lambda s: has_work(s, now, store_id=self.store_id, printer=self.printer)):
            return None
        claimed = claim_rendered(self.uow, self.settings, worker=worker, now=now, store_id=self.store_id,
                                 printer=self.printer, keep=False)
        if claimed is None:
            return None
        job, payload = claimed
        return Job(id=str(job.id), kind=job.kind, payload=payload, attempts=job.attempts, ref=job.ref)

    def succeeded(self, job: Job, now: datetime) -> None:
        self.uow.run(lambda s: record_success(s, uuid.UUID(job.id), now, sent=job.payload))

    def failed(self, job: Job, error: str, now: datetime, retry_at: datetime | None, *,
               unavailable: bool = False) -> None:
        try:
            self.uow.run(lambda s: record_failure(s, uuid.UUID(job.id), error, now, retry_at, sent=job.payload))
        except PrintJobConflict:  # the lease ran out meanwhile and the job was already failed as interrupted
            log.warning("print job %s: failure reported after its lease ran out: %s", job.id, error)


_workers: set[PrintWorker] = set()
_workers_lock = threading.Lock()


def _wake_workers(_session: Session) -> None:
    with _workers_lock:
        for worker in _workers:
            worker.notify()


def worker_name(role: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{role}"


def start_print_worker(app: Flask, *, settings: PrintSettings | None = None) -> PrintWorker | None:
    """The embedded deployment's worker thread, printing every queued job to CREDITMART_PRINTER.

    None when the printer is dummy://: then no printer hangs off this machine, and the shops' print agents take
    the jobs over HTTP (a central server must not swallow them).
    """
    settings = settings or print_settings(app.config)
    if not settings.local_printer:
        log.info("CREDITMART_PRINTER is %s: no print worker here; print agents take the jobs", settings.printer)
        return None
    driver = open_driver(settings.printer)
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)
    worker = PrintWorker(DatabaseJobStore(uow, settings=settings, printer=settings.printer), driver,
                         name=worker_name("embedded"))
    with _workers_lock:
        _workers.add(worker)
    log.info("print worker started: %s, %d mm paper", settings.printer, settings.paper_width)
    return worker.start()


def stop_print_worker(worker: PrintWorker | None) -> None:
    if worker is None:
        return
    worker.stop()
    with _workers_lock:
        _workers.discard(worker)
