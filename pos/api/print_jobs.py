"""Print jobs over HTTP: the tablet lists and retries them, a shop's print agent claims them and reports back."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from flask import Blueprint, Response
from pydantic import AfterValidator, Field
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Forbidden
from core.stores import Store, get_store_by_code
from pos import db
from pos.api.common import Schema, endpoint
from pos.auth import current_principal
from pos.errors import request_language
from pos.idempotency import create_once
from pos.print_jobs import (
    PrintSettings,
    claim_rendered,
    enqueue_document,
    job_json,
    job_preview,
    list_jobs,
    print_settings,
    queue_summary,
    report_result,
    retry_job,
    store_code,
)
from printers.documents import TestPage
from printers.drivers import printer_status
from printers.render import PrinterOptions

bp = Blueprint("print_jobs", __name__)
STATUS_TIMEOUT = 2.0  # seconds: the tablet waits for this answer


class JobsQuery(Schema):
    store: str | None = Field(default=None, pattern=r"^[A-Z0-9]{2,16}$")
    status: Literal["queued", "printing", "printed", "failed"] | None = None
    limit: int = Field(default=50, ge=1, le=200)


class ClaimIn(Schema):
    agent: str | None = Field(default=None, max_length=60, pattern=r"^[\w.:@-]+$",
                              description="the agent instance's name, recorded as the job's claimant")
    paper_width: Literal[58, 80] | None = Field(default=None, description="the agent's paper (default: the server's)")
    native_qr: bool | None = Field(default=None, description="the agent's printer takes GS ( k QR commands")
    native_barcode: bool | None = Field(default=None, description="the agent's printer takes GS k barcodes")

    def settings(self, server: PrintSettings) -> PrintSettings:
        """The server's print settings with what the agent says of its own printer."""
        options = PrinterOptions(
            native_qr=server.options.native_qr if self.native_qr is None else self.native_qr,
            native_barcode=server.options.native_barcode if self.native_barcode is None else self.native_barcode)
        return PrintSettings(server.printer, self.paper_width or server.paper_width, options)


class ResultIn(Schema):
    ok: bool
    error: str | None = Field(default=None, max_length=500)
    retryable: bool = Field(default=True, description="false when the job may have printed in part")
    unavailable: bool = Field(default=False, description="nothing of the job reached the printer (off, unreachable, "
                              "out of paper): it is retried every minute at most, for as long as that lasts")


def _paper(width: int) -> int:
    if width not in (58, 80):
        raise ValueError("58 or 80")
    return width


class PreviewQuery(Schema):
    paper_width: Annotated[int, AfterValidator(_paper)] | None = Field(
        default=None, description="58 or 80 (mm); default: the shop's printer's paper")


PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class TestPageIn(Schema):
    id: uuid.UUID


def _own_store_id() -> int:
    principal = current_principal()
    if principal.store_id is None:
        raise Forbidden("a shop's user is needed", role=principal.role)
    return principal.store_id


@bp.get("/print-jobs")
@endpoint(roles=("clerk", "manager", "print_agent"), query=JobsQuery, summary="List a shop's print jobs, newest first")
def list_print_jobs(query: JobsQuery):
    principal = current_principal()
    session = db.session()
    store: Store | None = get_store_by_code(session, query.store) if query.store else None
    store_id = store.id if store is not None else _own_store_id()
    principal.require_store(store_id)
    code = store.code if store is not None else store_code(session, store_id)
    return {"store": code, "jobs": [job_json(job, code) for job in list_jobs(session, store_id, query.status,
                                                                              query.limit)]}


@bp.post("/print-jobs/claim")
@endpoint(roles=("print_agent",), body=ClaimIn, summary="Claim the next queued job of the agent's shop")
def claim(body: ClaimIn):
    principal = current_principal()
    store_id = _own_store_id()
    worker = f"{principal.username}/{body.agent}" if body.agent else principal.username
    claimed = claim_rendered(db.unit_of_work(), body.settings(print_settings()), worker=worker, now=utcnow(),
                             store_id=store_id)
    if claimed is None:
        return {"job": None}
    job, payload = claimed
    return {"job": job_json(job, str(principal.store_code), payload=payload)}


@bp.post("/print-jobs/<uuid:job_id>/result")
@endpoint(roles=("print_agent",), body=ResultIn, summary="Report whether a claimed job printed")
def result(job_id: uuid.UUID, body: ResultIn):
    store_id = _own_store_id()

    def work(session: Session):
        job = report_result(session, job_id, store_id=store_id, ok=body.ok, error=body.error,
                            retryable=body.retryable, unavailable=body.unavailable, now=utcnow())
        return job_json(job, store_code(session, store_id))

    return db.unit_of_work().run(work)


@bp.post("/print-jobs/<uuid:job_id>/retry")
@endpoint(roles=("clerk", "manager"), summary="Send a failed print job again")
def retry(job_id: uuid.UUID):
    store_id = _own_store_id()

    def work(session: Session):
        return job_json(retry_job(session, job_id, store_id=store_id, now=utcnow()), store_code(session, store_id))

    return db.unit_of_work().run(work)


@bp.get("/print-jobs/<uuid:job_id>/preview")
@endpoint(roles=("clerk", "manager"), query=PreviewQuery,
          summary="The job's document as an HTML page, as it prints (text/html; all text escaped)")
def preview(job_id: uuid.UUID, query: PreviewQuery):
    store_id = _own_store_id()
    width = query.paper_width or print_settings().paper_width
    lang = request_language()
    page = db.unit_of_work().read(lambda session: job_preview(session, job_id, store_id=store_id, paper_width=width,
                                                              lang=lang))
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP  # no script, nothing from outside: data: images only
    response.headers["Cache-Control"] = "no-store"  # it may carry a member's name
    return response


@bp.post("/print-jobs/test-page")
@endpoint(roles=("manager",), body=TestPageIn, summary="Queue a Chinese test page for the shop's printer")
def test_page(body: TestPageIn):
    store_id = _own_store_id()
    settings = print_settings()

    def work(session: Session):
        store = session.get(Store, store_id)
        assert store is not None
        now = utcnow()
        printer = settings.printer.split("?")[0] if settings.local_printer else "打印代理 print agent"
        page = TestPage(printed_at=now, printer=printer, store_name=store.name)
        job = enqueue_document(session, store_id, page, now=now)
        return {"job_id": str(job.id), "status": job.status}, 201

    return create_once(db.unit_of_work(), "print_test_page", str(body.id), body, work)


@bp.get("/printer/status")
@endpoint(roles=("clerk", "manager"), summary="The shop's printer (online, paper) and its print queue")
def status():
    store_id = _own_store_id()
    settings = print_settings()
    answer = printer_status(settings.printer, timeout=STATUS_TIMEOUT).as_dict()
    answer["paper_width"] = settings.paper_width
    answer["local"] = settings.local_printer
    return {"printer": answer, "queue": queue_summary(db.session(), store_id)}
