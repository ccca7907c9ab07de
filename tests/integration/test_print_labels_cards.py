"""Shelf labels and member cards to the receipt printer, over HTTP, on SQLite and PostgreSQL: the job is queued for
the shop with the right kind, a worker sends it to a fake TCP printer, and the bytes carry the product's name and
price or the member's name in GB18030. Refusals queue nothing."""

from __future__ import annotations

import html
import re
import uuid

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from pos.print_jobs import DatabaseJobStore, PrintJob
from printers.drivers import open_driver
from printers.queue import PrintWorker
from tests.escpos_decoder import FakePrinter, _job_data, assert_prints_well
from tests.support import Api, store_id

P = "/api/v1/products"
M = "/api/v1/members"
RICE = "6901234567892"


def uow_of(app: Flask) -> UnitOfWork:
    return UnitOfWork(app.extensions["creditmart.db"].session_factory)


def jobs(app: Flask) -> list[tuple[str, str, str | None, str]]:
    """Every print job as (shop code, kind, ref, status), oldest first."""
    def read(session: Session) -> list[tuple[str, str, str | None, str]]:
        codes = {store_id(session, code): code for code in ("DSC", "XHC")}
        rows = session.execute(select(PrintJob.store_id, PrintJob.kind, PrintJob.ref, PrintJob.status)
                               .order_by(PrintJob.created_at, PrintJob.id)).all()
        return [(codes[row[0]], row[1], row[2], row[3]) for row in rows]

    return uow_of(app).read(read)


def job_count(app: Flask) -> int:
    return uow_of(app).read(lambda s: s.scalar(select(func.count()).select_from(PrintJob)))


def print_all(app: Flask, printer: FakePrinter, count: int) -> list[bytes]:
    worker = PrintWorker(DatabaseJobStore(uow_of(app)), open_driver(printer.url), name="test")
    outcomes = worker.run_until_idle()
    assert [o.kind for o in outcomes] == ["printed"] * count + ["idle"]
    return [_job_data(job) for job in printer.wait_for_jobs(count)]  # without the driver's status requests


def add_rice(api: Api) -> None:
    created = api.as_("manager-dsc").post(P, json={"barcode": RICE, "name": "东北大米 5kg", "points_price": 35,
                                                   "unit": "袋", "category": "粮油"})
    assert created.status_code == 201, created.get_json()


def register(api: Api, name: str = "杨明", username: str = "clerk-dsc", store: str = "DSC") -> dict:
    answer = api.as_(username).post(M, json={"id": str(uuid.uuid4()), "name": name, "household": "DSC-007",
                                             "store": store, "consent": True})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_a_clerk_prints_shelf_labels_on_the_receipt_printer(app: Flask, api: Api) -> None:
    add_rice(api)
    answer = api.as_("clerk-dsc").post(f"{P}/{RICE}/label/print", json={"copies": 2})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["barcode"], body["store"], body["copies"], body["kind"], body["status"]) == (
        RICE, "DSC", 2, "label", "queued")
    assert len(body["jobs"]) == 2 and body["job_id"] == body["jobs"][0]["job_id"]
    assert jobs(app) == [("DSC", "label", RICE, "queued")] * 2
    listed = api.as_("clerk-dsc").get("/api/v1/print-jobs").get_json()["jobs"]
    assert {job["job_id"] for job in listed} == {job["job_id"] for job in body["jobs"]}

    with FakePrinter() as printer:
        printed = print_all(app, printer, 2)
    assert printed[0] == printed[1]
    assert "东北大米 5kg".encode("gb18030") in printed[0] and "35积分/袋".encode("gb18030") in printed[0]
    doc = assert_prints_well(printed[0], 58, expected=["东山村信用超市", "东北大米 5kg", "35积分/袋", "粮油", RICE])
    assert doc.images and doc.cuts == 1  # the barcode, as a raster image
    assert jobs(app) == [("DSC", "label", RICE, "printed")] * 2


def test_a_manager_prints_a_label_naming_the_shop_and_the_price_as_it_is_now(app: Flask, api: Api) -> None:
    add_rice(api)
    manager = api.as_("manager-xhc")
    assert manager.put(f"{P}/{RICE}/price", json={"points_price": 40}).status_code == 200
    answer = manager.post(f"{P}/{RICE}/label/print", json={"store": "XHC"})
    assert answer.status_code == 201 and answer.get_json()["copies"] == 1
    assert jobs(app) == [("XHC", "label", RICE, "queued")]
    with FakePrinter() as printer:
        [printed] = print_all(app, printer, 1)
    assert_prints_well(printed, 58, expected=["西河村信用超市", "东北大米 5kg", "40积分/袋"])
    assert "35积分".encode("gb18030") not in printed


def test_label_refusals_queue_nothing(app: Flask, api: Api) -> None:
    add_rice(api)
    clerk = api.as_("clerk-dsc")
    unknown = clerk.post(f"{P}/6920244418529/label/print", json={})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    assert clerk.post(f"{P}/6920244418528/label/print", json={}).status_code == 422  # bad check digit
    other_shop = clerk.post(f"{P}/{RICE}/label/print", json={"store": "XHC"})
    assert other_shop.status_code == 403
    assert clerk.post(f"{P}/{RICE}/label/print", json={"store": "NOPE"}).status_code == 404
    for copies in (0, 51, "2", 1.5):
        refused = clerk.post(f"{P}/{RICE}/label/print", json={"copies": copies})
        assert refused.get_json()["error"]["code"] == "validation_error", copies
    assert api.as_("coordinator-dsc").post(f"{P}/{RICE}/label/print", json={}).status_code == 403
    assert api.as_("admin").post(f"{P}/{RICE}/label/print", json={"store": "DSC"}).status_code == 403
    assert job_count(app) == 0


def test_a_clerk_prints_a_members_card_on_the_receipt_printer(app: Flask, api: Api) -> None:
    member = register(api)
    answer = api.as_("clerk-dsc").post(f"{M}/{member['member_id']}/card/print")
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["member_id"], body["card_number"], body["store"], body["kind"], body["status"]) == (
        member["member_id"], member["card_number"], "DSC", "card", "queued")
    assert [job["job_id"] for job in body["jobs"]] == [body["job_id"]]
    assert jobs(app) == [("DSC", "card", member["card_number"], "queued")]

    with FakePrinter() as printer:
        [printed] = print_all(app, printer, 1)
    assert "杨明".encode("gb18030") in printed
    doc = assert_prints_well(printed, 58, expected=["东山村信用超市", "会员卡 MEMBER CARD", "杨明", "DSC-007",
                                                    member["card_number"]])
    assert len(doc.images) == 2  # the card number as a barcode and as a QR code
    assert jobs(app) == [("DSC", "card", member["card_number"], "printed")]


def test_a_reissued_card_prints_the_new_number(app: Flask, api: Api) -> None:
    member = register(api)
    reissued = api.as_("manager-dsc").post(f"{M}/{member['member_id']}/cards", json={"id": str(uuid.uuid4())})
    new_card = reissued.get_json()["card_number"]
    answer = api.as_("manager-dsc").post(f"{M}/{member['member_id']}/card/print")
    assert answer.status_code == 201 and answer.get_json()["card_number"] == new_card
    with FakePrinter() as printer:
        [printed] = print_all(app, printer, 1)
    assert new_card.encode() in printed and member["card_number"].encode() not in printed


def test_card_refusals_queue_nothing(app: Flask, api: Api) -> None:
    member = register(api)
    other_shop = api.as_("clerk-xhc").post(f"{M}/{member['member_id']}/card/print")
    assert other_shop.status_code == 403
    assert api.as_("manager-xhc").post(f"{M}/{member['member_id']}/card/print").status_code == 403
    assert api.as_("clerk-dsc").post(f"{M}/{uuid.uuid4()}/card/print").status_code == 404
    assert api.as_("clerk-dsc").post(f"{M}/not-a-member/card/print").status_code == 404
    assert api.as_("coordinator-dsc").post(f"{M}/{member['member_id']}/card/print").status_code == 403
    assert api.as_("admin").post(f"{M}/{member['member_id']}/card/print").status_code == 403
    assert job_count(app) == 0


# --- the preview the tablet shows -------------------------------------------------------------------------------------

XSS = "<script>alert(1)</script>"


def shown_text(page: str) -> str:
    """What the preview reads as: tags dropped (each wide character sits in its own span), entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", page))


def test_a_card_preview_is_html_with_the_members_name_escaped(app: Flask, api: Api) -> None:
    member = register(api, name=XSS)
    job_id = api.as_("clerk-dsc").post(f"{M}/{member['member_id']}/card/print").get_json()["job_id"]
    preview = api.as_("clerk-dsc").get(f"/api/v1/print-jobs/{job_id}/preview")
    assert preview.status_code == 200 and preview.mimetype == "text/html"
    assert "default-src 'none'" in preview.headers["Content-Security-Policy"]
    assert preview.headers["Cache-Control"] == "no-store"
    page = preview.get_data(as_text=True)
    assert "<script" not in page and "&lt;script&gt;" in page
    text = shown_text(page)
    assert XSS in text and "会员卡 MEMBER CARD" in text and member["card_number"] in text
    assert 'data-paper="58"' in page and f"<title>会员卡 {member['card_number']}</title>" in page
    english = api.as_("clerk-dsc").get(f"/api/v1/print-jobs/{job_id}/preview", headers={"Accept-Language": "en"})
    assert f"<title>Member card {member['card_number']}</title>" in english.get_data(as_text=True)
    assert page.count('<img class="cm-img"') == 2 and 'src="data:image/png;base64,' in page
    assert jobs(app) == [("DSC", "card", member["card_number"], "queued")]  # looking prints nothing


def test_a_label_preview_follows_the_paper_and_stays_in_its_shop(app: Flask, api: Api) -> None:
    add_rice(api)
    job_id = api.as_("manager-dsc").post(f"{P}/{RICE}/label/print", json={}).get_json()["job_id"]
    clerk = api.as_("clerk-dsc")
    narrow = clerk.get(f"/api/v1/print-jobs/{job_id}/preview").get_data(as_text=True)
    assert 'data-paper="58"' in narrow and "--cm-cols:32" in narrow
    assert "东北大米 5kg" in shown_text(narrow) and "35积分/袋" in shown_text(narrow)
    wide = clerk.get(f"/api/v1/print-jobs/{job_id}/preview?paper_width=80").get_data(as_text=True)
    assert 'data-paper="80"' in wide and "--cm-cols:48" in wide
    app.config["PAPER_WIDTH"] = 80
    assert 'data-paper="80"' in clerk.get(f"/api/v1/print-jobs/{job_id}/preview").get_data(as_text=True)
    bad = clerk.get(f"/api/v1/print-jobs/{job_id}/preview?paper_width=76")
    assert bad.get_json()["error"]["code"] == "validation_error"
    assert api.as_("clerk-xhc").get(f"/api/v1/print-jobs/{job_id}/preview").status_code == 403
    assert clerk.get(f"/api/v1/print-jobs/{uuid.uuid4()}/preview").status_code == 404


def test_a_job_queued_as_bytes_has_no_preview(app: Flask, api: Api) -> None:
    from pos.print_jobs import enqueue

    job_id = uow_of(app).run(lambda s: str(enqueue(s, store_id(s, "DSC"), "receipt", b"\x1b@\x1c&x\n", "r").id))
    answer = api.as_("clerk-dsc").get(f"/api/v1/print-jobs/{job_id}/preview")
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "conflict"
