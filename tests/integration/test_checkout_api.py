"""Checkout over HTTP with the test client, on SQLite and PostgreSQL: the whole flow (register a member, give
points, receive stock, quote, sell, read, list, reprint, void, close the shift), every refusal leaving the database
exactly as it was, exactly-once sales and closes, voids once, late voids on the next Z report, and the receipt's
bytes as a printer reads them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import Base, UnitOfWork
from inventory.models import StockLevel, StockMovement
from inventory.stock import check_levels
from ledger.accounts import programme_account
from ledger.members import Member
from ledger.models import REDEMPTION, REVERSAL, VOLUNTEER_HOURS, Account, Transfer
from ledger.posting import NewTransfer, post
from ledger.verify import verify
from pos.idempotency import IdempotencyRecord
from pos.print_jobs import PrintJob, PrintSettings, job_payload
from pos.sales import Sale, SaleLine, Shift
from printers.render import PrinterOptions
from tests.escpos_decoder import decode
from tests.support import Api

OIL, PEANUT_OIL, RICE, FLOUR = "6920244418529", "6986726428486", "6982606870703", "6972449445466"
CATALOGUE = {OIL: ("大豆油 5L", 70), PEANUT_OIL: ("花生油 1.8L", 45), RICE: ("东北大米 5kg", 35),
             FLOUR: ("小麦粉 5kg", 25)}
NOT_IN_CATALOGUE = "6901234567892"  # valid check digit, never added
BAD_CHECK_DIGIT = "6920244418520"
UNISSUED_CARD = "1000000000000002"  # valid check digit, never issued

SETTINGS_58 = PrintSettings("dummy://", 58, PrinterOptions())


# ---------------------------------------------------------------------------------------------- helpers


def add_goods(api: Api, store: str = "DSC", stock: dict[str, int] | None = None) -> None:
    manager = api.as_(f"manager-{store.lower()}")
    for barcode, (name, price) in CATALOGUE.items():
        response = manager.post("/api/v1/products", json={"barcode": barcode, "name": name, "points_price": price})
        assert response.status_code in (201, 200), response.get_json()
    lines = [{"barcode": b, "qty": q} for b, q in (stock or {OIL: 10, PEANUT_OIL: 10, RICE: 20, FLOUR: 5}).items()]
    response = manager.post("/api/v1/stock/receipts", json={"id": str(uuid.uuid4()), "store": store, "lines": lines})
    assert response.status_code == 201, response.get_json()


def register_member(api: Api, store: str = "DSC", name: str = "杨明") -> dict[str, Any]:
    response = api.as_(f"clerk-{store.lower()}").post("/api/v1/members", json={
        "id": str(uuid.uuid4()), "name": name, "store": store, "consent": True, "household": f"{store}-018"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def give_points(uow: UnitOfWork, member_id: str, amount: int) -> None:
    """Volunteer hours credited straight through the ledger (earning and its approvals are another issue)."""
    def work(session: Session) -> None:
        account_id = session.get(Member, uuid.UUID(member_id)).account_id
        post(session, NewTransfer(id=uuid.uuid4(), debit=programme_account(session).id, credit=account_id,
                                  amount=amount, code=VOLUNTEER_HOURS, ref="test:hours", actor="manager-dsc"))

    uow.run(work)


def sale_body(card: str, lines: list[tuple[str, int]], **changes: Any) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "card_number": card, "lines": [{"barcode": b, "qty": q} for b, q in lines]}
    body.update(changes)
    return body


# Every table a sale, a quote, a void, a reprint or a shift close could write, compared row for row (not only
# counted): a refused void must not flip a sale's status, close or open a shift, or queue a print job.
SNAPSHOT_TABLES = ("ledger_accounts", "ledger_transfers", "ledger_chain_head", "stock_levels", "stock_movements",
                   "sales", "sale_lines", "shifts", "print_jobs", "idempotency_records")


def snapshot(uow: UnitOfWork) -> dict[str, Any]:
    """Everything a sale could touch: balances, stock, the journal, sales, shifts, print jobs, idempotency."""
    def read(session: Session) -> dict[str, Any]:
        def count(model: Any) -> int:
            return session.scalar(select(func.count()).select_from(model))

        def rows(name: str) -> list[tuple[Any, ...]]:
            table = Base.metadata.tables[name]
            return [tuple(row) for row in session.execute(select(table).order_by(*table.primary_key.columns))]

        return {
            "balances": sorted(session.execute(select(Account.id, Account.balance, Account.version)).all()),
            "stock": sorted(session.execute(select(StockLevel.store_id, StockLevel.product_id, StockLevel.qty,
                                                   StockLevel.version)).all()),
            "counts": {m.__name__: count(m) for m in (Transfer, StockMovement, Sale, SaleLine, Shift,
                                                       PrintJob, IdempotencyRecord, Account)},
            **{f"rows of {name}": rows(name) for name in SNAPSHOT_TABLES},  # a diff names the table
        }

    return uow.read(read)


@pytest.fixture
def shop(api: Api, uow: UnitOfWork) -> dict[str, Any]:
    """DSC with goods in stock and a member holding 300 points."""
    add_goods(api)
    member = register_member(api)
    give_points(uow, member["member_id"], 300)
    return member


# ---------------------------------------------------------------------------------------------- the whole flow


def test_the_whole_counter_flow(api: Api, uow: UnitOfWork, shop: dict[str, Any]) -> None:
    clerk, manager = api.as_("clerk-dsc"), api.as_("manager-dsc")
    card = shop["card_number"]
    assert clerk.get("/api/v1/shifts/current").get_json() == {"shift": None}

    # The tablet quotes first: nothing is written.
    before = snapshot(uow)
    full_width_rice = RICE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    lines = [(RICE, 2), (OIL, 1), (FLOUR, 1), (f" {full_width_rice}\n", 1)]  # rice again, scanned through an IME
    quoted = clerk.post("/api/v1/sales/quote", json=sale_body(card, lines)).get_json()
    assert snapshot(uow) == before
    assert quoted["ok"] is True and quoted["balance"] == 300 and quoted["points_total"] == 3 * 35 + 70 + 25
    assert quoted["balance_after"] == 300 - 200 and quoted["points_shortfall"] == 0
    assert [(line["barcode"], line["qty"], line["available"], line["short"]) for line in quoted["lines"]] == [
        (RICE, 3, 20, 0), (OIL, 1, 10, 0), (FLOUR, 1, 5, 0)]

    body = sale_body(card, lines)
    response = clerk.post("/api/v1/sales", json=body)
    assert response.status_code == 201, response.get_json()
    sale = response.get_json()
    assert sale["sale_id"] == body["id"] and sale["status"] == "completed"
    assert (sale["points_total"], sale["balance_before"], sale["balance_after"]) == (200, 300, 100)
    assert sale["member"] == {"member_id": shop["member_id"], "name": "杨明", "card_number": card}
    assert [(line["line"], line["barcode"], line["name"], line["qty"], line["points_price"], line["points"])
            for line in sale["lines"]] == [(0, RICE, "东北大米 5kg", 3, 35, 105), (1, OIL, "大豆油 5L", 1, 70, 70),
                                           (2, FLOUR, "小麦粉 5kg", 1, 25, 25)]
    assert sale["receipt"]["status"] == "queued" and uuid.UUID(sale["receipt"]["job_id"])
    assert isinstance(sale["transfer_seq"], int)

    # The member's card and statement agree; the stock moved.
    assert clerk.get(f"/api/v1/cards/{card}").get_json()["balance"] == 100
    entry = clerk.get(f"/api/v1/members/{shop['member_id']}/statement").get_json()["entries"][0]
    assert (entry["code"], entry["amount"], entry["ref"], entry["seq"]) == (
        REDEMPTION, -200, f"sale:{body['id']}", sale["transfer_seq"])
    levels = {row["barcode"]: row["qty"] for row in manager.get("/api/v1/stock?store=DSC").get_json()["levels"]}
    assert (levels[RICE], levels[OIL], levels[FLOUR]) == (17, 9, 4)

    # Read it back, as the clerk, the manager and the bureau.
    for reader in ("clerk-dsc", "manager-dsc", "auditor", "admin"):
        read = api.as_(reader).get(f"/api/v1/sales/{body['id']}")
        assert read.status_code == 200, reader
    read = read.get_json()
    assert read["status"] == "completed" and read["transfer_seqs"] == [sale["transfer_seq"]]
    assert read["lines"] == sale["lines"] and read["balance_after"] == 100 and read["void"] is None
    assert read["receipt"]["job_id"] == sale["receipt"]["job_id"]
    listed = clerk.get("/api/v1/sales").get_json()["sales"]
    assert [s["sale_id"] for s in listed] == [body["id"]]

    # A second sale in the same shift, then a reprint of the first.
    second = clerk.post("/api/v1/sales", json=sale_body(card, [(PEANUT_OIL, 1)])).get_json()
    assert second["balance_after"] == 55 and second["shift_id"] == sale["shift_id"]
    reprinted = clerk.post(f"/api/v1/sales/{body['id']}/reprint")
    assert reprinted.status_code == 201
    job = reprinted.get_json()
    assert job["kind"] == "reprint" and job["job_id"] != sale["receipt"]["job_id"]
    jobs = clerk.get("/api/v1/print-jobs").get_json()["jobs"]
    assert {(j["kind"], j["ref"]) for j in jobs} >= {("receipt", body["id"]), ("reprint", body["id"])}

    current = clerk.get("/api/v1/shifts/current").get_json()["shift"]
    assert current["shift_id"] == sale["shift_id"] and current["status"] == "open"
    assert (current["sales_count"], current["points_redeemed"]) == (2, 245)
    assert current["ledger"]["ok"] is True

    # The manager voids the first sale: points and goods come back by new entries.
    voided = manager.post(f"/api/v1/sales/{body['id']}/void", json={"reason": "顾客不要了"})
    assert voided.status_code == 200, voided.get_json()
    assert voided.get_json()["status"] == "voided" and voided.get_json()["balance_after"] == 255
    assert voided.get_json()["late"] is False and voided.get_json()["void_shift_id"] == sale["shift_id"]
    again = manager.post(f"/api/v1/sales/{body['id']}/void", json={"reason": "again"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_voided"
    read = clerk.get(f"/api/v1/sales/{body['id']}").get_json()
    assert read["status"] == "voided" and len(read["transfer_seqs"]) == 2
    assert read["void"]["reason"] == "顾客不要了" and read["void"]["voided_by"] == "manager-dsc"
    levels = {row["barcode"]: row["qty"] for row in manager.get("/api/v1/stock?store=DSC").get_json()["levels"]}
    assert (levels[RICE], levels[OIL], levels[FLOUR], levels[PEANUT_OIL]) == (20, 10, 5, 9)
    codes = [e["code"] for e in clerk.get(f"/api/v1/members/{shop['member_id']}/statement").get_json()["entries"]]
    assert codes == [REVERSAL, REDEMPTION, REDEMPTION, VOLUNTEER_HOURS]
    assert [s["status"] for s in clerk.get("/api/v1/sales?status=voided").get_json()["sales"]] == ["voided"]

    # Close the shift: the Z report, its print job, and the ledger agrees.
    close_id = str(uuid.uuid4())
    closed = clerk.post("/api/v1/shifts/close", json={"id": close_id})
    assert closed.status_code == 201, closed.get_json()
    report = closed.get_json()
    assert (report["sales_count"], report["voids_count"], report["points_redeemed"], report["points_returned"],
            report["net_points"]) == (2, 1, 245, 200, 45)
    assert report["items"] == [{"barcode": PEANUT_OIL, "name": "花生油 1.8L", "qty": 1, "points": 45}]
    assert report["first_sale_at"] == sale["created_at"] and report["last_sale_at"] == second["created_at"]
    assert report["ledger"]["ok"] is True
    assert (report["ledger"]["redeemed"], report["ledger"]["reversed"], report["ledger"]["net"]) == (245, 200, 45)
    assert report["late_voids_count"] == 0 and report["voids"][0]["sale_id"] == body["id"]
    assert report["print_job"]["status"] == "queued"
    assert clerk.post("/api/v1/shifts/close", json={"id": close_id}).get_json() == report  # replay
    nothing = clerk.post("/api/v1/shifts/close", json={"id": str(uuid.uuid4())})
    assert nothing.status_code == 422 and nothing.get_json()["error"]["code"] == "no_open_shift"
    assert nothing.get_json()["error"]["details"]["last_shift_id"] == report["shift_id"]
    assert clerk.get(f"/api/v1/shifts/{report['shift_id']}").get_json() == report
    assert clerk.get("/api/v1/shifts/current").get_json() == {"shift": None}
    assert [s["shift_id"] for s in manager.get("/api/v1/shifts?status=closed").get_json()["shifts"]] == [
        report["shift_id"]]

    z_text = decode(_payload(uow, report["print_job"]["job_id"])).text
    assert "交班报表" in z_text and "兑换笔数" in z_text and "花生油 1.8L" in z_text and "正常 OK" in z_text

    with_ledger = uow.read(lambda session: (verify(session).ok, check_levels(session)))
    assert with_ledger == (True, [])


def _payload(uow: UnitOfWork, job_id: str) -> bytes:
    """The job's bytes as the shop's 58 mm printer gets them when its worker claims the job."""
    return uow.read(lambda session: job_payload(session.get(PrintJob, uuid.UUID(job_id)), SETTINGS_58))


def test_the_receipt_prints_the_member_the_items_and_the_total(api: Api, uow: UnitOfWork,
                                                               shop: dict[str, Any]) -> None:
    sale = api.as_("clerk-dsc").post("/api/v1/sales", json=sale_body(shop["card_number"],
                                                                     [(RICE, 2), (OIL, 1)])).get_json()
    decoded = decode(_payload(uow, sale["receipt"]["job_id"]))
    assert not decoded.problems and not decoded.overflowing(58)
    text = decoded.text
    assert "会员：杨明" in text and "东山村信用超市" in text and "店员：clerk-dsc" in text
    assert "东北大米 5kg" in text and "大豆油 5L" in text
    assert any(line.startswith("  2×35") and line.endswith("70") for line in decoded.text_lines())
    assert any(line.startswith("合计积分：") and line.endswith("140") for line in decoded.text_lines())
    assert any(line.startswith("兑换后余额：") and line.endswith("160") for line in decoded.text_lines())
    assert "****" + shop["card_number"][-4:] in text and shop["card_number"] not in text
    assert sale["sale_id"] in text

    reprint = api.as_("manager-dsc").post(f"/api/v1/sales/{sale['sale_id']}/reprint").get_json()
    again = decode(_payload(uow, reprint["job_id"])).text
    assert "重印" in again and "会员：杨明" in again


# ---------------------------------------------------------------------------------------------- refusals


def _block_card(api: Api, shop: dict[str, Any]) -> str:
    response = api.as_("manager-dsc").post(f"/api/v1/members/{shop['member_id']}/cards",
                                           json={"id": str(uuid.uuid4())})
    assert response.status_code == 201
    return shop["card_number"]  # the old card, now blocked


def _take_off_sale(api: Api, shop: dict[str, Any]) -> str:
    assert api.as_("manager-dsc")._call("PATCH", f"/api/v1/products/{FLOUR}",
                                         json={"active": False}).status_code == 200
    return shop["card_number"]


REFUSALS: list[tuple[str, Any, list[tuple[Any, Any]], int, str, dict[str, Any]]] = [
    # (id, card (or a function preparing one), lines, status, code, details that must be there)
    ("unknown card", UNISSUED_CARD, [(RICE, 1)], 422, "unknown_card", {"reason": "not_issued"}),
    ("not a card", "12345", [(RICE, 1)], 422, "unknown_card", {"reason": "not_a_card_number"}),
    ("blocked card", _block_card, [(RICE, 1)], 422, "card_blocked", {"replaced": True, "name": "杨明"}),
    ("unknown product", None, [(RICE, 1), (NOT_IN_CATALOGUE, 1)], 422, "unknown_product",
     {"line": 1, "barcode": NOT_IN_CATALOGUE, "reason": "unknown", "balance": 300}),
    ("inactive product", _take_off_sale, [(FLOUR, 1)], 422, "unknown_product",
     {"line": 0, "barcode": FLOUR, "reason": "inactive"}),
    ("bad check digit", None, [(RICE, 1), (OIL, 1), (BAD_CHECK_DIGIT, 1)], 422, "invalid_barcode",
     {"line": 2, "barcode": BAD_CHECK_DIGIT, "reason": "check_digit"}),
    ("letters for a barcode", None, [("abc", 1)], 422, "invalid_barcode", {"line": 0, "reason": "not_digits"}),
    ("qty 0", None, [(RICE, 0)], 400, "validation_error", {}),
    ("qty 1000", None, [(RICE, 1000)], 400, "validation_error", {}),
    ("qty as text", None, [(RICE, "2")], 400, "validation_error", {}),
    ("qty fractional", None, [(RICE, 1.5)], 400, "validation_error", {}),
    ("qty true", None, [(RICE, True)], 400, "validation_error", {}),
    ("merged qty over 999", None, [(RICE, 999), (RICE, 1)], 400, "validation_error", {"lines.1.qty": ...}),
    ("no lines", None, [], 400, "validation_error", {"lines": ...}),
    ("101 lines", None, [(RICE, 1)] * 101, 400, "validation_error", {"lines": ...}),
    ("insufficient points", None, [(OIL, 4), (PEANUT_OIL, 1)], 422, "insufficient_points",
     {"balance": 300, "points_total": 325, "shortfall": 25}),
    ("out of stock", None, [(RICE, 1), (FLOUR, 6)], 422, "out_of_stock", {"balance": 300, "points_shortfall": 0}),
]


@pytest.mark.parametrize("card, lines, status, code, details", [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_a_refused_sale_changes_nothing(api: Api, uow: UnitOfWork, shop: dict[str, Any], card: Any,
                                        lines: list[tuple[Any, Any]], status: int, code: str,
                                        details: dict[str, Any]) -> None:
    card = card(api, shop) if callable(card) else (card or shop["card_number"])
    before = snapshot(uow)
    response = api.as_("clerk-dsc").post("/api/v1/sales", json=sale_body(card, lines))
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    for key, value in details.items():
        assert key in error["details"], (key, error)
        if value is not ...:
            assert error["details"][key] == value, (key, error)
    assert snapshot(uow) == before
    if code in ("insufficient_points", "out_of_stock", "unknown_product", "invalid_barcode"):
        quoted = api.as_("clerk-dsc").post("/api/v1/sales/quote", json=sale_body(card, lines))
        assert quoted.status_code == (200 if code in ("insufficient_points", "out_of_stock") else 422)
        assert snapshot(uow) == before


def test_the_shortfalls_are_named(api: Api, uow: UnitOfWork, shop: dict[str, Any]) -> None:
    clerk = api.as_("clerk-dsc")
    out = clerk.post("/api/v1/sales", json=sale_body(shop["card_number"], [(RICE, 1), (FLOUR, 6), (OIL, 11)]))
    details = out.get_json()["error"]["details"]
    assert [(s["line"], s["barcode"], s["requested"], s["available"], s["short"]) for s in details["lines"]] == [
        (1, FLOUR, 6, 5, 1), (2, OIL, 11, 10, 1)]
    assert details["points_total"] == 35 + 150 + 770 and details["points_shortfall"] == 955 - 300

    quoted = clerk.post("/api/v1/sales/quote", json=sale_body(shop["card_number"], [(RICE, 1), (FLOUR, 6),
                                                                                     (OIL, 11)])).get_json()
    assert quoted["ok"] is False and quoted["points_shortfall"] == 655 and quoted["balance_after"] is None
    assert [(line["barcode"], line["short"]) for line in quoted["out_of_stock"]] == [(FLOUR, 1), (OIL, 1)]

    points = clerk.post("/api/v1/sales", json=sale_body(shop["card_number"], [(OIL, 5)])).get_json()["error"]
    assert points["code"] == "insufficient_points"
    assert (points["details"]["balance"], points["details"]["shortfall"]) == (300, 50)


def test_another_shops_member_store_and_sale_are_refused(api: Api, uow: UnitOfWork, shop: dict[str, Any]) -> None:
    add_goods(api, "XHC")
    before = snapshot(uow)
    xhc = api.as_("clerk-xhc")
    response = xhc.post("/api/v1/sales", json=sale_body(shop["card_number"], [(RICE, 1)]))
    assert response.status_code == 403 and response.get_json()["error"]["details"] == {"reason": "other_store"}
    assert xhc.post("/api/v1/sales/quote", json=sale_body(shop["card_number"], [(RICE, 1)])).status_code == 403
    named = api.as_("clerk-dsc").post("/api/v1/sales", json=sale_body(shop["card_number"], [(RICE, 1)], store="XHC"))
    assert named.status_code == 403
    assert snapshot(uow) == before

    sale = api.as_("clerk-dsc").post("/api/v1/sales", json=sale_body(shop["card_number"], [(RICE, 1)])).get_json()
    for path in (f"/api/v1/sales/{sale['sale_id']}", f"/api/v1/shifts/{sale['shift_id']}"):
        assert xhc.get(path).status_code == 403
        assert api.as_("manager-xhc").get(path).status_code == 403
    assert api.as_("manager-xhc").post(f"/api/v1/sales/{sale['sale_id']}/void", json={"reason": "x"}).status_code == 403
    assert xhc.post(f"/api/v1/sales/{sale['sale_id']}/reprint").status_code == 403
    assert xhc.get("/api/v1/sales?store=DSC").status_code == 403
    assert xhc.get("/api/v1/sales").get_json()["sales"] == []
    assert api.as_("auditor").get("/api/v1/sales?store=DSC").get_json()["sales"][0]["sale_id"] == sale["sale_id"]
    # A clerk does not void; a manager does not close another shop's clerk's shift.
    assert api.as_("clerk-dsc").post(f"/api/v1/sales/{sale['sale_id']}/void", json={"reason": "x"}).status_code == 403
    closing = api.as_("manager-xhc").post("/api/v1/shifts/close", json={"id": str(uuid.uuid4()), "clerk": "clerk-dsc"})
    assert closing.status_code == 403
    assert api.as_("clerk-dsc").post("/api/v1/shifts/close", json={"id": str(uuid.uuid4()),
                                                                    "clerk": "manager-dsc"}).status_code == 403


def test_unknown_sales_and_shifts_are_404(api: Api, shop: dict[str, Any]) -> None:
    manager = api.as_("manager-dsc")
    for path in ("/api/v1/sales/not-a-uuid", f"/api/v1/sales/{uuid.uuid4()}", f"/api/v1/shifts/{uuid.uuid4()}",
                 "/api/v1/shifts/nope"):
        assert manager.get(path).status_code == 404, path
    assert manager.post(f"/api/v1/sales/{uuid.uuid4()}/void", json={"reason": "x"}).status_code == 404
    assert manager.post(f"/api/v1/sales/{uuid.uuid4()}/reprint").status_code == 404
    blank = manager.post(f"/api/v1/sales/{uuid.uuid4()}/void", json={"reason": "  "})
    assert blank.status_code == 400 and "reason" in blank.get_json()["error"]["details"]


@pytest.fixture
def counter(api: Api, uow: UnitOfWork, shop: dict[str, Any]) -> dict[str, str]:
    """The counter after some trade: the clerk sold and closed their shift (so a void of that sale would open
    their next one), the manager sold twice in their still open shift and voided the second sale."""
    card = shop["card_number"]
    clerk, manager = api.as_("clerk-dsc"), api.as_("manager-dsc")
    closed_sale = clerk.post("/api/v1/sales", json=sale_body(card, [(RICE, 1)])).get_json()
    close_id = str(uuid.uuid4())
    assert clerk.post("/api/v1/shifts/close", json={"id": close_id}).status_code == 201
    open_sale = manager.post("/api/v1/sales", json=sale_body(card, [(OIL, 1)])).get_json()
    voided_sale = manager.post("/api/v1/sales", json=sale_body(card, [(FLOUR, 1)])).get_json()
    voided = manager.post(f"/api/v1/sales/{voided_sale['sale_id']}/void", json={"reason": "顾客不要了"})
    assert voided.status_code == 200, voided.get_json()
    assert api.as_("clerk-dsc").get("/api/v1/shifts/current").get_json() == {"shift": None}
    return {"closed_sale": closed_sale["sale_id"], "open_sale": open_sale["sale_id"],
            "voided_sale": voided_sale["sale_id"], "close_id": close_id, "unknown_sale": str(uuid.uuid4()),
            "manager_shift": open_sale["shift_id"]}


NEW_ID = "{new_id}"  # a fresh UUID for each request
VOID, REPRINT, CLOSE = "/api/v1/sales/{sale}/void", "/api/v1/sales/{sale}/reprint", "/api/v1/shifts/close"

COUNTER_REFUSALS: list[tuple[str, str, str, str, Any, int, str, dict[str, Any]]] = [
    # (id, who, path, sale (a key of `counter`, or a literal id), body, status, code, details that must be there)
    ("void twice", "manager-dsc", VOID, "voided_sale", {"reason": "again"}, 409, "already_voided",
     {"voided_by": "manager-dsc"}),
    ("void twice by another manager", "manager2-dsc", VOID, "voided_sale", {"reason": "again"}, 409,
     "already_voided", {"voided_by": "manager-dsc"}),
    ("void twice with a blank reason", "manager-dsc", VOID, "voided_sale", {"reason": " "}, 400,
     "validation_error", {"reason": ...}),
    ("clerk voids", "clerk-dsc", VOID, "closed_sale", {"reason": "x"}, 403, "forbidden", {}),
    ("clerk voids in an open shift", "clerk-dsc", VOID, "open_sale", {"reason": "x"}, 403, "forbidden", {}),
    ("coordinator voids", "coordinator-dsc", VOID, "open_sale", {"reason": "x"}, 403, "forbidden", {}),
    ("auditor voids", "auditor", VOID, "open_sale", {"reason": "x"}, 403, "forbidden", {}),
    ("admin voids", "admin", VOID, "open_sale", {"reason": "x"}, 403, "forbidden", {}),
    ("another shop's manager voids", "manager-xhc", VOID, "closed_sale", {"reason": "x"}, 403, "forbidden", {}),
    ("another shop's manager voids a voided sale", "manager-xhc", VOID, "voided_sale", {"reason": "x"}, 403,
     "forbidden", {}),
    ("void an unknown sale", "manager-dsc", VOID, "unknown_sale", {"reason": "x"}, 404, "not_found", {}),
    ("void a malformed sale id", "manager-dsc", VOID, "not-a-uuid", {"reason": "x"}, 404, "not_found", {}),
    ("void a sale id of digits", "manager-dsc", VOID, "12345", {"reason": "x"}, 404, "not_found", {}),
    ("void with a blank reason", "manager-dsc", VOID, "closed_sale", {"reason": "  \t "}, 400, "validation_error",
     {"reason": ...}),
    ("void with an empty reason", "manager-dsc", VOID, "open_sale", {"reason": ""}, 400, "validation_error",
     {"reason": ...}),
    ("void with a reason too long", "manager-dsc", VOID, "closed_sale", {"reason": "退" * 201}, 400,
     "validation_error", {"reason": ...}),
    ("void with no reason", "manager-dsc", VOID, "open_sale", {}, 400, "validation_error", {"reason": ...}),
    ("void with a number for a reason", "manager-dsc", VOID, "open_sale", {"reason": 5}, 400, "validation_error",
     {"reason": ...}),
    ("void with no body", "manager-dsc", VOID, "open_sale", None, 400, "validation_error", {}),
    ("reprint an unknown sale", "clerk-dsc", REPRINT, "unknown_sale", None, 404, "not_found", {}),
    ("reprint a malformed sale id", "manager-dsc", REPRINT, "not-a-uuid", None, 404, "not_found", {}),
    ("another shop's clerk reprints", "clerk-xhc", REPRINT, "closed_sale", None, 403, "forbidden", {}),
    ("another shop's manager reprints", "manager-xhc", REPRINT, "open_sale", None, 403, "forbidden", {}),
    ("auditor reprints", "auditor", REPRINT, "open_sale", None, 403, "forbidden", {}),
    ("coordinator reprints", "coordinator-dsc", REPRINT, "open_sale", None, 403, "forbidden", {}),
    ("close with no open shift", "clerk-dsc", CLOSE, "", {"id": NEW_ID}, 422, "no_open_shift",
     {"clerk": "clerk-dsc", "last_shift_id": ...}),
    ("manager closes a clerk with no open shift", "manager-dsc", CLOSE, "", {"id": NEW_ID, "clerk": "clerk-dsc"},
     422, "no_open_shift", {"clerk": "clerk-dsc"}),
    ("clerk closes the manager's shift", "clerk-dsc", CLOSE, "", {"id": NEW_ID, "clerk": "manager-dsc"}, 403,
     "forbidden", {}),
    ("another shop's manager closes a shift", "manager-xhc", CLOSE, "", {"id": NEW_ID, "clerk": "manager-dsc"}, 403,
     "forbidden", {}),
    ("another shop's clerk closes a shift", "clerk-xhc", CLOSE, "", {"id": NEW_ID, "clerk": "manager-dsc"}, 403,
     "forbidden", {}),
    ("manager closes another shop's clerk", "manager-dsc", CLOSE, "", {"id": NEW_ID, "clerk": "clerk-xhc"}, 403,
     "forbidden", {}),
    ("manager closes an unknown user", "manager-dsc", CLOSE, "", {"id": NEW_ID, "clerk": "nobody"}, 403,
     "forbidden", {}),
    ("auditor closes", "auditor", CLOSE, "", {"id": NEW_ID, "clerk": "manager-dsc"}, 403, "forbidden", {}),
    ("coordinator closes", "coordinator-dsc", CLOSE, "", {"id": NEW_ID}, 403, "forbidden", {}),
    ("close with another close's id", "manager-dsc", CLOSE, "", {"id": "{close_id}"}, 409, "idempotency_conflict",
     {}),
    ("close with a malformed id", "manager-dsc", CLOSE, "", {"id": "not-a-uuid"}, 400, "validation_error",
     {"id": ...}),
    ("close with no id", "manager-dsc", CLOSE, "", {}, 400, "validation_error", {"id": ...}),
    ("close naming a malformed user", "manager-dsc", CLOSE, "", {"id": NEW_ID, "clerk": "<b>x</b>"}, 400,
     "validation_error", {"clerk": ...}),
]


@pytest.mark.parametrize("who, path, sale, body, status, code, details", [r[1:] for r in COUNTER_REFUSALS],
                         ids=[r[0] for r in COUNTER_REFUSALS])
def test_a_refused_void_reprint_or_close_changes_nothing(api: Api, uow: UnitOfWork, counter: dict[str, str],
                                                         who: str, path: str, sale: str, body: Any, status: int,
                                                         code: str, details: dict[str, Any]) -> None:
    def fill(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            return str(uuid.uuid4()) if value == NEW_ID else counter[value[1:-1]]
        return value

    url = path.format(sale=counter.get(sale, sale))
    sent = {key: fill(value) for key, value in body.items()} if body is not None else None
    before = snapshot(uow)
    response = api.as_(who).post(url, json=sent) if sent is not None else api.as_(who).post(url)
    assert response.status_code == status, response.get_json()
    answer = response.get_json()
    assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message", "details"}, answer
    error = answer["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"].strip()
    assert isinstance(error["details"], dict)
    for key, value in details.items():
        assert key in error["details"], (key, error)
        if value is not ...:
            assert error["details"][key] == value, (key, error)
    assert snapshot(uow) == before

    # The sales and shifts read back as they were: nothing voided, closed or opened by the refusal.
    manager = api.as_("manager-dsc")
    for key, status_now in (("closed_sale", "completed"), ("open_sale", "completed"), ("voided_sale", "voided")):
        assert manager.get(f"/api/v1/sales/{counter[key]}").get_json()["status"] == status_now, key
    assert api.as_("clerk-dsc").get("/api/v1/shifts/current").get_json() == {"shift": None}
    assert manager.get("/api/v1/shifts/current").get_json()["shift"]["shift_id"] == counter["manager_shift"]


# ---------------------------------------------------------------------------------------------- exactly once


def test_a_replayed_sale_sells_once_and_another_body_is_a_conflict(api: Api, uow: UnitOfWork,
                                                                   shop: dict[str, Any]) -> None:
    clerk = api.as_("clerk-dsc")
    body = sale_body(shop["card_number"], [(RICE, 2)])
    first = clerk.post("/api/v1/sales", json=body)
    after_first = snapshot(uow)
    replay = clerk.post("/api/v1/sales", json=body)
    assert (replay.status_code, replay.get_json()) == (201, first.get_json())
    assert snapshot(uow) == after_first

    changed = clerk.post("/api/v1/sales", json={**body, "lines": [{"barcode": RICE, "qty": 3}]})
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "idempotency_conflict"
    elsewhere = api.as_("clerk-xhc").post("/api/v1/sales", json=body)
    assert elsewhere.status_code == 409  # the same id from another shop never sees this shop's sale
    assert snapshot(uow) == after_first


# ---------------------------------------------------------------------------------------------- shifts


def test_a_void_after_the_shift_closed_is_marked_on_the_next_report(api: Api, uow: UnitOfWork,
                                                                    shop: dict[str, Any]) -> None:
    clerk, manager = api.as_("clerk-dsc"), api.as_("manager-dsc")
    card = shop["card_number"]
    early = clerk.post("/api/v1/sales", json=sale_body(card, [(RICE, 2)])).get_json()
    first = clerk.post("/api/v1/shifts/close", json={"id": str(uuid.uuid4())}).get_json()
    assert (first["sales_count"], first["points_redeemed"], first["voids_count"]) == (1, 70, 0)

    # The manager voids the closed shift's sale before the clerk sells again: the void opens the clerk's next
    # shift, which their next sale joins.
    voided = manager.post(f"/api/v1/sales/{early['sale_id']}/void", json={"reason": "退货"}).get_json()
    assert voided["late"] is True and voided["void_shift_id"] != first["shift_id"]
    later = clerk.post("/api/v1/sales", json=sale_body(card, [(OIL, 1)])).get_json()
    assert later["shift_id"] == voided["void_shift_id"]

    # The closed report does not change; the next one carries the late void.
    assert clerk.get(f"/api/v1/shifts/{first['shift_id']}").get_json() == first
    second = clerk.post("/api/v1/shifts/close", json={"id": str(uuid.uuid4())}).get_json()
    assert second["shift_id"] == voided["void_shift_id"]
    assert (second["sales_count"], second["points_redeemed"], second["voids_count"], second["points_returned"],
            second["net_points"]) == (1, 70, 1, 70, 0)
    assert second["late_voids_count"] == 1 and second["late_points_returned"] == 70
    [void] = second["voids"]
    assert (void["sale_id"], void["sale_shift_id"], void["late"], void["reason"]) == (
        early["sale_id"], first["shift_id"], True, "退货")
    assert {i["barcode"]: i["qty"] for i in second["items"]} == {OIL: 1, RICE: -2}
    assert second["ledger"]["ok"] is True and second["ledger"]["from_seq"] == first["ledger"]["to_seq"] + 1
    assert (second["ledger"]["redemptions"], second["ledger"]["reversals"]) == (1, 1)
    z_text = decode(_payload(uow, second["print_job"]["job_id"])).text
    assert "前班" in z_text and "东北大米 5kg" in z_text


def test_a_manager_closes_a_clerks_shift_and_shifts_are_per_clerk(api: Api, uow: UnitOfWork,
                                                                  shop: dict[str, Any]) -> None:
    card = shop["card_number"]
    by_clerk = api.as_("clerk-dsc").post("/api/v1/sales", json=sale_body(card, [(RICE, 1)])).get_json()
    by_manager = api.as_("manager-dsc").post("/api/v1/sales", json=sale_body(card, [(FLOUR, 1)])).get_json()
    assert by_clerk["shift_id"] != by_manager["shift_id"]

    closed = api.as_("manager-dsc").post("/api/v1/shifts/close", json={"id": str(uuid.uuid4()), "clerk": "clerk-dsc"})
    report = closed.get_json()
    assert closed.status_code == 201 and report["clerk"] == "clerk-dsc" and report["closed_by"] == "manager-dsc"
    assert (report["sales_count"], report["points_redeemed"], report["ledger"]["ok"]) == (1, 35, True)
    # The manager's own shift is still open and counts only their sale.
    own = api.as_("manager-dsc").get("/api/v1/shifts/current").get_json()["shift"]
    assert own["shift_id"] == by_manager["shift_id"] and own["points_redeemed"] == 25 and own["ledger"]["ok"]
    by_shift = api.as_("manager-dsc").get(f"/api/v1/sales?shift={by_clerk['shift_id']}").get_json()["sales"]
    assert [s["sale_id"] for s in by_shift] == [by_clerk["sale_id"]]


def test_an_empty_close_and_a_close_replayed_with_another_body(api: Api, uow: UnitOfWork,
                                                               shop: dict[str, Any]) -> None:
    clerk = api.as_("clerk-dsc")
    before = snapshot(uow)
    nothing = clerk.post("/api/v1/shifts/close", json={"id": str(uuid.uuid4())})
    assert nothing.status_code == 422 and nothing.get_json()["error"]["code"] == "no_open_shift"
    assert nothing.get_json()["error"]["details"]["last_shift_id"] is None
    assert snapshot(uow) == before

    clerk.post("/api/v1/sales", json=sale_body(shop["card_number"], [(RICE, 1)]))
    close_id = str(uuid.uuid4())
    assert clerk.post("/api/v1/shifts/close", json={"id": close_id}).status_code == 201
    other = api.as_("manager-dsc").post("/api/v1/shifts/close", json={"id": close_id})
    assert other.status_code == 409
