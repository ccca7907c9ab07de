"""The products and stock routes: flows, exactly-once POSTs, shop scoping, and error paths that change nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from inventory import stock
from inventory.errors import UnknownProduct
from inventory.models import Product, ProductPrice, StockLevel, StockMovement, StockSettings
from pos.idempotency import IdempotencyRecord
from tests.support import Api, store_id

OIL, RICE, SOAP = "6920244418529", "6982606870703", "96385074"


def uid() -> str:
    return str(uuid.uuid4())


def snapshot(uow: UnitOfWork) -> dict[str, object]:
    def work(session: Session) -> dict[str, object]:
        state: dict[str, object] = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Product, ProductPrice, StockMovement, IdempotencyRecord, StockSettings)}
        state["levels"] = sorted((lv.store_id, lv.product_id, lv.qty, lv.version, lv.reorder_level)
                                 for lv in session.scalars(select(StockLevel)))
        state["products"] = sorted((p.barcode, p.name, p.points_price, p.active)
                                   for p in session.scalars(select(Product)))
        return state
    return uow.read(work)


def error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()["error"]
    assert body["code"] == code and body["message"]
    return body["details"]


@pytest.fixture
def manager(api: Api) -> Api:
    return api.as_("manager-dsc")


@pytest.fixture
def goods(manager: Api) -> None:
    for code, name, price, unit in ((OIL, "大豆油 5L", 70, "桶"), (RICE, "东北大米 5kg", 35, "袋"),
                                    (SOAP, "肥皂", 5, "块")):
        assert manager.post("/api/v1/products", json={"barcode": code, "name": name, "points_price": price,
                                                      "unit": unit}).status_code == 201


def receive(manager: Api, lines: list[tuple[str, int]], store: str = "DSC"):  # type: ignore[no-untyped-def]
    return manager.post("/api/v1/stock/receipts", json={
        "id": uid(), "store": store, "lines": [{"barcode": b, "qty": q} for b, q in lines]})


# ---- products ----------------------------------------------------------------------------------------------

def test_create_a_product_exactly_once(manager: Api, uow: UnitOfWork) -> None:
    body = {"barcode": "６９２０２４４４１８５２９", "name": "大豆油 5L", "points_price": 70, "unit": "桶",
            "category": "粮油"}
    first = manager.post("/api/v1/products", json=body)
    assert first.status_code == 201
    product = first.get_json()
    assert (product["barcode"], product["name"], product["points_price"], product["active"],
            product["internal_code"]) == (OIL, "大豆油 5L", 70, True, False)
    again = manager.post("/api/v1/products", json=body)
    assert (again.status_code, again.get_json()) == (201, product)
    before = snapshot(uow)
    error(manager.post("/api/v1/products", json=body | {"points_price": 71}), 409, "idempotency_conflict")
    # The same barcode under a client id is a second creation, which the catalogue refuses.
    error(manager.post("/api/v1/products", json=body | {"id": uid()}), 422, "product_exists")
    assert snapshot(uow) == before


def test_goods_without_a_barcode_get_an_in_store_code(manager: Api) -> None:
    body = {"id": uid(), "name": "自制豆腐", "points_price": 3, "unit": "块"}
    created = manager.post("/api/v1/products", json=body)
    assert created.status_code == 201
    code = created.get_json()["barcode"]
    assert code.startswith("20") and len(code) == 13 and created.get_json()["internal_code"]
    assert manager.post("/api/v1/products", json=body).get_json()["barcode"] == code  # a retry, not a second one
    label = manager.get(f"/api/v1/products/{code}/label.svg")
    assert label.status_code == 200 and label.mimetype == "image/svg+xml"
    assert "自制豆腐" in label.get_data(as_text=True) and "3 积分" in label.get_data(as_text=True)
    png = manager.get(f"/api/v1/products/{code}/label.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")


@pytest.mark.parametrize(("body", "field"), [
    ({"barcode": OIL, "name": "油", "points_price": "70"}, "points_price"),  # a string is not a number
    ({"barcode": OIL, "name": "油", "points_price": 0}, "points_price"),
    ({"barcode": OIL, "name": "油", "points_price": 1.5}, "points_price"),
    ({"barcode": OIL, "name": "", "points_price": 5}, "name"),
    ({"barcode": OIL, "points_price": 5}, "name"),
    ({"barcode": OIL, "name": "油", "points_price": 5, "colour": "red"}, "colour"),
    ({"name": "油", "points_price": 5}, "id"),  # no barcode and no id: a retry could not be recognised
])
def test_bad_product_bodies_are_400_naming_the_field(manager: Api, uow: UnitOfWork, body: dict, field: str) -> None:
    before = snapshot(uow)
    assert field in error(manager.post("/api/v1/products", json=body), 400, "validation_error")
    assert snapshot(uow) == before


def test_a_bad_check_digit_is_422_with_the_reason(manager: Api, uow: UnitOfWork) -> None:
    before = snapshot(uow)
    details = error(manager.post("/api/v1/products", json={"barcode": "6920244418528", "name": "油",
                                                            "points_price": 5}), 422, "invalid_barcode")
    assert details == {"barcode": "6920244418528", "reason": "check_digit", "expected_check_digit": 9}
    english = manager.post("/api/v1/products", json={"barcode": "ABC", "name": "油", "points_price": 5},
                           headers={"Accept-Language": "en"})
    assert english.get_json()["error"]["message"] == "Invalid barcode"
    assert snapshot(uow) == before


@pytest.mark.usefixtures("goods")
def test_look_up_a_product_with_this_shops_stock(api: Api, manager: Api) -> None:
    assert receive(manager, [(OIL, 3)]).status_code == 201
    assert receive(api.as_("manager-xhc"), [(OIL, 9)], store="XHC").status_code == 201
    clerk = api.as_("clerk-dsc")
    found = clerk.get("/api/v1/products/６９２０２４４４１８５２９")  # as a Chinese keyboard typed it
    assert found.status_code == 200
    assert found.get_json()["stock"] == {"store": "DSC", "qty": 3, "reorder_level": 0, "low": False}
    assert clerk.get(f"/api/v1/products/{OIL}?store=DSC").get_json()["stock"]["qty"] == 3
    error(clerk.get(f"/api/v1/products/{OIL}?store=XHC"), 403, "forbidden")
    auditor = api.as_("auditor")
    assert auditor.get(f"/api/v1/products/{OIL}").get_json()["stock"] is None
    assert auditor.get(f"/api/v1/products/{OIL}?store=XHC").get_json()["stock"]["qty"] == 9
    assert error(clerk.get("/api/v1/products/4006381333931"), 404, "not_found") == {"barcode": "4006381333931"}
    assert error(clerk.get("/api/v1/products/12345"), 422, "invalid_barcode")["reason"] == "wrong_length"
    error(api.as_("coordinator-dsc").get(f"/api/v1/products/{OIL}"), 403, "forbidden")


@pytest.mark.usefixtures("goods")
def test_price_change_is_kept_as_history(api: Api, manager: Api, uow: UnitOfWork) -> None:
    changed = manager.put(f"/api/v1/products/{OIL}/price", json={"points_price": 75})
    assert changed.status_code == 200 and changed.get_json()["points_price"] == 75
    assert manager.put(f"/api/v1/products/{OIL}/price", json={"points_price": 75}).status_code == 200
    history = api.as_("auditor").get(f"/api/v1/products/{OIL}/prices").get_json()
    assert [row["points_price"] for row in history["history"]] == [70, 75]
    assert all(row["actor"] == "manager-dsc" for row in history["history"])
    before = snapshot(uow)
    error(manager.put(f"/api/v1/products/{OIL}/price", json={"points_price": -1}), 400, "validation_error")
    error(manager.put("/api/v1/products/4006381333931/price", json={"points_price": 9}), 404, "not_found")
    assert snapshot(uow) == before


@pytest.mark.usefixtures("goods")
def test_edit_and_take_a_product_off_sale(manager: Api, uow: UnitOfWork, api: Api) -> None:
    edited = manager._call("PATCH", f"/api/v1/products/{SOAP}", json={"name": "香皂", "active": False})
    assert edited.status_code == 200
    assert (edited.get_json()["name"], edited.get_json()["active"]) == ("香皂", False)
    error(manager._call("PATCH", f"/api/v1/products/{SOAP}", json={}), 400, "validation_error")
    error(api.as_("clerk-dsc")._call("PATCH", f"/api/v1/products/{SOAP}", json={"name": "x"}), 403, "forbidden")
    # Taken off sale: the counter can no longer sell it.
    assert receive(manager, [(SOAP, 2)]).status_code == 201
    with pytest.raises(UnknownProduct):
        uow.run(lambda s: stock.sell(s, store_id(s, "DSC"), [(SOAP, 1)], "sale:x", "clerk-dsc"))


# ---- stock -------------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("goods")
def test_receipt_exactly_once(manager: Api, uow: UnitOfWork) -> None:
    body = {"id": uid(), "store": "DSC", "lines": [{"barcode": OIL, "qty": 5}, {"barcode": SOAP, "qty": 20}],
            "note": "民政局配送"}
    first = manager.post("/api/v1/stock/receipts", json=body)
    assert first.status_code == 201
    answer = first.get_json()
    assert [(line["barcode"], line["kind"], line["qty_delta"], line["level_after"]) for line in answer["lines"]] == [
        (OIL, "receipt", 5, 5), (SOAP, "receipt", 20, 20)]
    assert answer["lines"][0]["ref"] == f"receipt:{body['id']}" and answer["lines"][0]["actor"] == "manager-dsc"
    before = snapshot(uow)
    replay = manager.post("/api/v1/stock/receipts", json=body)
    assert (replay.status_code, replay.get_json()) == (201, answer)
    error(manager.post("/api/v1/stock/receipts", json=body | {"note": "另一批"}), 409, "idempotency_conflict")
    assert snapshot(uow) == before


@pytest.mark.usefixtures("goods")
@pytest.mark.parametrize(("lines", "status", "code"), [
    ([{"barcode": OIL, "qty": 0}], 400, "validation_error"),
    ([{"barcode": OIL, "qty": 1.5}], 400, "validation_error"),
    ([{"barcode": OIL, "qty": "3"}], 400, "validation_error"),
    ([{"barcode": OIL, "qty": 1_000_000}], 400, "validation_error"),
    ([{"barcode": OIL}], 400, "validation_error"),
    ([], 400, "validation_error"),
    ([{"barcode": OIL, "qty": 1}, {"barcode": "6920244418528", "qty": 1}], 422, "invalid_barcode"),
    ([{"barcode": OIL, "qty": 1}, {"barcode": "4006381333931", "qty": 1}], 422, "unknown_product"),
])
def test_a_bad_receipt_writes_nothing_and_its_id_stays_free(manager: Api, uow: UnitOfWork, lines: list,
                                                             status: int, code: str) -> None:
    before = snapshot(uow)
    body = {"id": uid(), "store": "DSC", "lines": lines}
    details = error(manager.post("/api/v1/stock/receipts", json=body), status, code)
    if status == 400:
        assert any(key.startswith("lines") for key in details)
    assert snapshot(uow) == before
    # Nothing was kept under that id: the corrected request goes through with the same id.
    fixed = manager.post("/api/v1/stock/receipts", json=body | {"lines": [{"barcode": OIL, "qty": 1}]})
    assert fixed.status_code == 201


@pytest.mark.usefixtures("goods")
def test_a_manager_touches_only_their_own_shop(api: Api, manager: Api, uow: UnitOfWork) -> None:
    before = snapshot(uow)
    error(receive(manager, [(OIL, 1)], store="XHC"), 403, "forbidden")
    error(manager.post("/api/v1/stock/adjustments", json={"id": uid(), "store": "XHC", "barcode": OIL,
                                                          "qty_delta": 1, "reason": "found"}), 403, "forbidden")
    error(manager.post("/api/v1/stock/transfers", json={"id": uid(), "from_store": "XHC", "to_store": "DSC",
                                                        "lines": [{"barcode": OIL, "qty": 1}]}), 403, "forbidden")
    error(manager.get("/api/v1/stock?store=XHC"), 403, "forbidden")
    error(manager.put("/api/v1/stock/settings", json={"store": "XHC", "allow_negative": True}), 403, "forbidden")
    error(receive(manager, [(OIL, 1)], store="NOPE"), 404, "not_found")
    error(receive(api.as_("clerk-dsc"), [(OIL, 1)]), 403, "forbidden")
    assert snapshot(uow) == before
    # A manager's stock list defaults to their own shop; the bureau must name one.
    assert manager.get("/api/v1/stock").get_json()["store"] == "DSC"
    error(api.as_("auditor").get("/api/v1/stock"), 400, "validation_error")


@pytest.mark.usefixtures("goods")
def test_adjustments_stocktakes_and_the_levels_list(api: Api, manager: Api, uow: UnitOfWork) -> None:
    assert receive(manager, [(OIL, 10), (RICE, 4)]).status_code == 201
    adjusted = manager.post("/api/v1/stock/adjustments", json={"id": uid(), "store": "DSC", "barcode": OIL,
                                                               "qty_delta": -2, "reason": "damaged", "note": "漏油"})
    assert adjusted.status_code == 201
    movement = adjusted.get_json()["movement"]
    assert (movement["kind"], movement["reason"], movement["qty_delta"], movement["level_after"]) == (
        "adjustment", "damaged", -2, 8)

    before = snapshot(uow)
    for body, status, code in (
        ({"qty_delta": 2, "reason": "damaged"}, 400, "validation_error"),  # damage does not add goods
        ({"qty_delta": -1, "reason": "stolen"}, 400, "validation_error"),
        ({"qty_delta": 0, "reason": "correction"}, 400, "validation_error"),
        ({"qty_delta": -9, "reason": "lost"}, 422, "out_of_stock"),
    ):
        details = error(manager.post("/api/v1/stock/adjustments", json={"id": uid(), "store": "DSC",
                                                                        "barcode": OIL, **body}), status, code)
        if code == "out_of_stock":
            assert details["lines"] == [{"store_id": details["lines"][0]["store_id"], "barcode": OIL,
                                         "name": "大豆油 5L", "requested": 9, "available": 8, "short": 1}]
    assert snapshot(uow) == before

    counted = manager.post("/api/v1/stock/stocktakes", json={"id": uid(), "store": "DSC", "counts": [
        {"barcode": OIL, "counted": 8}, {"barcode": RICE, "counted": 1}, {"barcode": SOAP, "counted": 6}]})
    assert counted.status_code == 201
    assert counted.get_json()["differences"] == 2
    assert [(x["barcode"], x["expected"], x["counted"], x["difference"]) for x in counted.get_json()["lines"]] == [
        (OIL, 8, 8, 0), (RICE, 4, 1, -3), (SOAP, 0, 6, 6)]

    assert manager.put("/api/v1/stock/reorder-levels", json={"store": "DSC", "barcode": RICE,
                                                             "reorder_level": 5}).status_code == 200
    listed = api.as_("auditor").get("/api/v1/stock?store=DSC").get_json()
    assert {x["barcode"]: (x["qty"], x["reorder_level"], x["low"]) for x in listed["levels"]} == {
        OIL: (8, 0, False), RICE: (1, 5, True), SOAP: (6, 0, False)}
    assert listed["allow_negative"] is False
    low = manager.get("/api/v1/stock?low=true").get_json()["levels"]
    assert [x["barcode"] for x in low] == [RICE]
    page = manager.get("/api/v1/stock?limit=2").get_json()
    assert len(page["levels"]) == 2 and page["next_after"] == page["levels"][-1]["barcode"]
    rest = manager.get(f"/api/v1/stock?limit=2&after={page['next_after']}").get_json()
    assert len(rest["levels"]) == 1 and rest["next_after"] is None

    value = manager.get("/api/v1/stock/value").get_json()
    assert (value["points"], value["units"], value["products"]) == (8 * 70 + 1 * 35 + 6 * 5, 15, 3)
    history = manager.get(f"/api/v1/stock/movements?barcode={RICE}").get_json()["movements"]
    assert [(m["kind"], m["qty_delta"]) for m in history] == [("stocktake", -3), ("receipt", 4)]
    assert api.as_("admin").get("/api/v1/stock/check?store=DSC").get_json() == {"store": "DSC", "ok": True,
                                                                                  "problems": []}


@pytest.mark.usefixtures("goods")
def test_transfer_between_shops(api: Api, manager: Api, uow: UnitOfWork) -> None:
    assert receive(manager, [(OIL, 5), (RICE, 1)]).status_code == 201
    body = {"id": uid(), "from_store": "DSC", "to_store": "XHC", "lines": [{"barcode": OIL, "qty": 2}]}
    moved = manager.post("/api/v1/stock/transfers", json=body)
    assert moved.status_code == 201
    assert moved.get_json()["lines"] == [{"barcode": OIL, "name": "大豆油 5L", "qty": 2, "from_level_after": 3,
                                          "to_level_after": 2}]
    assert manager.post("/api/v1/stock/transfers", json=body).get_json() == moved.get_json()  # replay
    before = snapshot(uow)
    short = body | {"id": uid(), "lines": [{"barcode": OIL, "qty": 1}, {"barcode": RICE, "qty": 3}]}
    details = error(manager.post("/api/v1/stock/transfers", json=short), 422, "out_of_stock")
    assert [(x["barcode"], x["short"]) for x in details["lines"]] == [(RICE, 2)]
    error(manager.post("/api/v1/stock/transfers", json=body | {"id": uid(), "to_store": "DSC"}), 400,
          "validation_error")
    error(manager.post("/api/v1/stock/transfers", json=body | {"id": uid(), "to_store": "NOPE"}), 404, "not_found")
    assert snapshot(uow) == before
    xhc = api.as_("manager-xhc").get("/api/v1/stock").get_json()
    assert [(x["barcode"], x["qty"]) for x in xhc["levels"]] == [(OIL, 2)]


@pytest.mark.usefixtures("goods")
def test_negative_stock_setting(api: Api, manager: Api) -> None:
    adjust = {"store": "DSC", "barcode": OIL, "qty_delta": -1, "reason": "correction"}
    error(manager.post("/api/v1/stock/adjustments", json={"id": uid(), **adjust}), 422, "out_of_stock")
    assert api.as_("admin").put("/api/v1/stock/settings", json={"store": "DSC", "allow_negative": True}
                                ).get_json() == {"store": "DSC", "allow_negative": True}
    went = manager.post("/api/v1/stock/adjustments", json={"id": uid(), **adjust})
    assert went.status_code == 201 and went.get_json()["movement"]["level_after"] == -1
    error(manager.put("/api/v1/stock/settings", json={"store": "DSC", "allow_negative": "yes"}), 400,
          "validation_error")
