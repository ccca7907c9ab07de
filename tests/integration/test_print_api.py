"""The print-job routes: the tablet lists, retries and prints a test page; the shop's agent claims and reports."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from pos.print_jobs import PrintJob, enqueue
from tests.escpos_decoder import FakePrinter, assert_prints_well, free_port
from tests.support import Api, store_id

NOW = datetime(2000, 1, 1, tzinfo=UTC)  # long past: due at once
PAYLOAD = b"\x1b@\x1c&" + "小票\n".encode("gb18030")


def add_jobs(app: Flask, code: str, count: int = 1, kind: str = "receipt") -> list[str]:
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)

    def work(session: Session) -> list[str]:
        store = store_id(session, code)
        return [str(enqueue(session, store, kind, PAYLOAD + str(i).encode(), f"ref-{i}").id) for i in range(count)]

    return uow.run(work)


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_json()["error"]["code"]


def test_clerk_lists_own_shop_jobs_only(app: Flask, api: Api) -> None:
    add_jobs(app, "DSC", 3)
    add_jobs(app, "XHC", 1)
    clerk = api.as_("clerk-dsc")
    listed = clerk.get("/api/v1/print-jobs").get_json()
    assert listed["store"] == "DSC" and len(listed["jobs"]) == 3
    first = listed["jobs"][0]
    assert first["status"] == "queued" and first["kind"] == "receipt" and first["size"] > 0
    assert "payload_base64" not in first
    assert clerk.get("/api/v1/print-jobs?store=DSC&status=printed").get_json()["jobs"] == []
    assert len(clerk.get("/api/v1/print-jobs?limit=2").get_json()["jobs"]) == 2
    assert clerk.get("/api/v1/print-jobs?store=XHC").status_code == 403
    assert error_code(clerk.get("/api/v1/print-jobs?status=lost")) == "validation_error"
    assert error_code(clerk.get("/api/v1/print-jobs?limit=0")) == "validation_error"
    assert clerk.get("/api/v1/print-jobs?store=NOPE").status_code == 404


def test_agent_claims_its_shops_jobs_and_reports_the_outcomes(app: Flask, api: Api) -> None:
    first, second = add_jobs(app, "DSC", 2)
    add_jobs(app, "XHC", 1)
    agent = api.as_("agent-dsc")
    claimed = agent.post("/api/v1/print-jobs/claim", json={"agent": "counter-pc"}).get_json()["job"]
    assert claimed["job_id"] == first and claimed["status"] == "printing" and claimed["attempts"] == 1
    assert base64.b64decode(claimed["payload_base64"]) == PAYLOAD + b"0"
    assert agent.post("/api/v1/print-jobs/claim", json={}).get_json()["job"]["job_id"] == second
    assert agent.post("/api/v1/print-jobs/claim", json={}).get_json()["job"] is None  # XHC's job is not ours

    done = agent.post(f"/api/v1/print-jobs/{first}/result", json={"ok": True})
    assert done.status_code == 200 and done.get_json()["status"] == "printed" and done.get_json()["printed_at"]
    assert agent.post(f"/api/v1/print-jobs/{first}/result", json={"ok": True}).get_json()["status"] == "printed"

    failed = agent.post(f"/api/v1/print-jobs/{second}/result", json={"ok": False, "error": "paper out"}).get_json()
    assert (failed["status"], failed["last_error"], failed["attempts"]) == ("queued", "paper out", 1)
    assert failed["next_attempt_at"] > failed["updated_at"]  # backing off
    again = agent.post(f"/api/v1/print-jobs/{second}/result", json={"ok": False})
    assert again.status_code == 409  # not being printed any more


def test_agent_reports_a_job_that_may_have_printed(app: Flask, api: Api) -> None:
    [job_id] = add_jobs(app, "DSC")
    agent = api.as_("agent-dsc")
    agent.post("/api/v1/print-jobs/claim", json={})
    answer = agent.post(f"/api/v1/print-jobs/{job_id}/result",
                        json={"ok": False, "error": "went offline", "retryable": False}).get_json()
    assert answer["status"] == "failed"


def test_an_agent_whose_printer_is_off_keeps_the_job_queued_past_the_retry_budget(app: Flask, api: Api) -> None:
    """The agent says the printer took nothing (unavailable): the job is tried every minute for as long as that
    lasts. Any other failure still fails the job once the budget (10 attempts) is spent."""
    waiting, jammed = add_jobs(app, "DSC", 2)
    agent = api.as_("agent-dsc")
    for attempt in range(1, 13):
        for job_id, body in ((waiting, {"ok": False, "error": "cannot connect", "unavailable": True}),
                             (jammed, {"ok": False, "error": "jammed"})):
            uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)
            uow.run(lambda s, j=job_id: s.get(PrintJob, uuid.UUID(j)).__setattr__("next_attempt_at", NOW))
            if attempt > 10 and job_id == jammed:
                continue
            claimed = agent.post("/api/v1/print-jobs/claim", json={}).get_json()["job"]
            assert claimed["job_id"] == job_id and claimed["attempts"] == attempt
            answer = agent.post(f"/api/v1/print-jobs/{job_id}/result", json=body).get_json()
            expected = "failed" if job_id == jammed and attempt == 10 else "queued"
            assert answer["status"] == expected, (job_id == jammed, attempt)
    assert answer["attempts"] == 12 and answer["next_attempt_at"] is not None
    wait = datetime.fromisoformat(answer["next_attempt_at"]) - datetime.fromisoformat(answer["updated_at"])
    assert wait.total_seconds() == 60


def test_another_shops_agent_cannot_report_on_a_job(app: Flask, api: Api) -> None:
    [job_id] = add_jobs(app, "DSC")
    api.as_("agent-dsc").post("/api/v1/print-jobs/claim", json={})
    other = api.as_("agent-xhc").post(f"/api/v1/print-jobs/{job_id}/result", json={"ok": True})
    assert other.status_code == 403
    assert api.as_("agent-dsc").post("/api/v1/print-jobs/not-a-uuid/result", json={"ok": True}).status_code == 404
    bad = api.as_("agent-dsc").post(f"/api/v1/print-jobs/{job_id}/result", json={"ok": "sometimes"})
    assert error_code(bad) == "validation_error"
    assert error_code(api.as_("agent-dsc").post("/api/v1/print-jobs/claim", json={"agent": "a b"})) == (
        "validation_error")


def test_clerk_retries_a_failed_job(app: Flask, api: Api) -> None:
    [job_id] = add_jobs(app, "DSC")
    agent, clerk = api.as_("agent-dsc"), api.as_("clerk-dsc")
    assert clerk.post(f"/api/v1/print-jobs/{job_id}/retry").get_json()["status"] == "queued"  # already queued
    agent.post("/api/v1/print-jobs/claim", json={})
    assert clerk.post(f"/api/v1/print-jobs/{job_id}/retry").status_code == 409  # printing
    agent.post(f"/api/v1/print-jobs/{job_id}/result", json={"ok": False, "error": "jam", "retryable": False})
    retried = clerk.post(f"/api/v1/print-jobs/{job_id}/retry").get_json()
    assert (retried["status"], retried["attempts"]) == ("queued", 0)
    assert api.as_("clerk-xhc").post(f"/api/v1/print-jobs/{job_id}/retry").status_code == 403
    assert clerk.post(f"/api/v1/print-jobs/{uuid.uuid4()}/retry").status_code == 404
    agent.post("/api/v1/print-jobs/claim", json={})
    agent.post(f"/api/v1/print-jobs/{job_id}/result", json={"ok": True})
    assert error_code(clerk.post(f"/api/v1/print-jobs/{job_id}/retry")) == "conflict"  # printed: reprint instead


def test_manager_queues_a_chinese_test_page_once_per_id(app: Flask, api: Api) -> None:
    manager = api.as_("manager-dsc")
    body = {"id": str(uuid.uuid4())}
    first = manager.post("/api/v1/print-jobs/test-page", json=body)
    assert first.status_code == 201 and first.get_json()["status"] == "queued"
    again = manager.post("/api/v1/print-jobs/test-page", json=body)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert len(manager.get("/api/v1/print-jobs").get_json()["jobs"]) == 1
    claimed = api.as_("agent-dsc").post("/api/v1/print-jobs/claim", json={}).get_json()["job"]
    assert claimed["kind"] == "test_page"
    assert_prints_well(base64.b64decode(claimed["payload_base64"]), 58, expected=["打印测试页", "东山村信用超市"])
    assert error_code(manager.post("/api/v1/print-jobs/test-page", json={"id": "nope"})) == "validation_error"


def test_test_page_follows_the_configured_paper_width(app: Flask, api: Api) -> None:
    app.config["PAPER_WIDTH"] = 80
    api.as_("manager-dsc").post("/api/v1/print-jobs/test-page", json={"id": str(uuid.uuid4())})
    claimed = api.as_("agent-dsc").post("/api/v1/print-jobs/claim", json={}).get_json()["job"]
    doc = assert_prints_well(base64.b64decode(claimed["payload_base64"]), 80)
    assert any(line.columns == 48 for line in doc.lines)


def test_each_agent_gets_the_job_rendered_for_its_own_printer(app: Flask, api: Api) -> None:
    """The job keeps its document: an agent with 80 mm paper gets 80 mm bytes from a server set for 58 mm, and
    one whose printer takes native QR commands gets GS ( k instead of a raster image."""
    manager, agent = api.as_("manager-dsc"), api.as_("agent-dsc")
    for _ in range(3):
        manager.post("/api/v1/print-jobs/test-page", json={"id": str(uuid.uuid4())})
    listed = manager.get("/api/v1/print-jobs?status=queued").get_json()["jobs"]
    assert [job["size"] for job in listed] == [None] * 3  # not rendered yet: no bytes to count

    def claim(body: dict) -> bytes:
        job = agent.post("/api/v1/print-jobs/claim", json=body).get_json()["job"]
        assert job["size"] == len(base64.b64decode(job["payload_base64"]))
        return base64.b64decode(job["payload_base64"])

    wide_bytes = claim({"paper_width": 80})
    wide = assert_prints_well(wide_bytes, 80)
    assert any(line.columns == 48 for line in wide.lines)
    narrow = claim({})
    assert max(line.columns for line in assert_prints_well(narrow, 58).lines) <= 32
    native = claim({"native_qr": True})
    assert b"\x1d(k" in native and b"\x1d(k" not in narrow  # GS ( k: the printer draws the QR code itself
    assert error_code(agent.post("/api/v1/print-jobs/claim", json={"paper_width": 76})) == "validation_error"
    # Each job now keeps the bytes its agent was sent, and the listing shows their size.
    sizes = sorted(job["size"] for job in manager.get("/api/v1/print-jobs").get_json()["jobs"])
    assert sizes == sorted([len(wide_bytes), len(narrow), len(native)])


def test_printer_status_reads_the_printer_and_the_queue(app: Flask, api: Api) -> None:
    clerk = api.as_("clerk-dsc")
    unknown = clerk.get("/api/v1/printer/status").get_json()
    assert unknown["printer"]["state"] == "unknown" and unknown["printer"]["online"] is None  # dummy://: no answer
    assert unknown["printer"]["local"] is False and unknown["queue"]["queued"] == 0
    add_jobs(app, "DSC", 2)
    with FakePrinter(paper="low") as printer:
        app.config["PRINTER"] = printer.url
        answer = clerk.get("/api/v1/printer/status").get_json()
    assert (answer["printer"]["online"], answer["printer"]["paper"], answer["printer"]["state"]) == (
        True, "low", "paper_low")
    assert answer["queue"]["queued"] == 2 and answer["printer"]["paper_width"] == 58
    app.config["PRINTER"] = f"tcp://127.0.0.1:{free_port()}"
    assert clerk.get("/api/v1/printer/status").get_json()["printer"]["state"] == "offline"


def test_print_job_times_are_iso_with_offset(app: Flask, api: Api) -> None:
    add_jobs(app, "DSC")
    job = api.as_("manager-dsc").get("/api/v1/print-jobs").get_json()["jobs"][0]
    created = datetime.fromisoformat(job["created_at"])
    assert created.tzinfo is not None and abs((datetime.now(UTC) - created).total_seconds()) < 60
