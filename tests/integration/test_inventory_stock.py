"""Stock per shop on SQLite and PostgreSQL: movements are the truth, levels their cache, refusals write nothing."""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import partial
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.db import UnitOfWork, make_engine, make_session_factory, utcnow
from core.errors import NotFound, ValidationFailed
from inventory import products, stock
from inventory.errors import AlreadyReturned, InvalidBarcode, OutOfStock, ProductExists, UnknownProduct
from inventory.models import Product, StockLevel, StockMovement
from tests.support import store_id

OIL, RICE, SOAP = "6920244418529", "6982606870703", "96385074"
_serial = count(1)


@pytest.fixture
def shops(uow: UnitOfWork) -> tuple[int, int]:
    return uow.read(lambda s: (store_id(s, "DSC"), store_id(s, "XHC")))


@pytest.fixture
def goods(uow: UnitOfWork) -> None:
    def work(session: Session) -> None:
        products.create_product(session, barcode=OIL, name="大豆油 5L", points_price=70, unit="桶", category="粮油",
                                actor="test")
        products.create_product(session, barcode=RICE, name="东北大米 5kg", points_price=35, unit="袋", actor="test")
        products.create_product(session, barcode=SOAP, name="肥皂", points_price=5, actor="test")

    uow.run(work)


def snapshot(uow: UnitOfWork) -> dict[str, object]:
    """Everything stock-related, to prove a refusal changed nothing."""
    def work(session: Session) -> dict[str, object]:
        return {
            "movements": session.scalar(select(func.count()).select_from(StockMovement)),
            "levels": sorted((lv.store_id, lv.product_id, lv.qty, lv.version, lv.reorder_level)
                             for lv in session.scalars(select(StockLevel))),
        }
    return uow.read(work)


def qty(uow: UnitOfWork, shop: int, code: str) -> int:
    return uow.read(lambda s: stock.level_of(s, shop, products.get_product(s, code).id)[0])


def new_product(uow: UnitOfWork, price: int = 10) -> str:
    """A fresh product (in-store code), so hypothesis examples do not share stock."""
    return uow.run(lambda s: products.create_product(s, name=f"测试{next(_serial)}", points_price=price,
                                                     actor="test").barcode)


# ---- operations --------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("goods")
def test_receive_sell_and_return(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, _ = shops
    moved = uow.run(lambda s: stock.receive(s, dsc, [stock.Line(OIL, 5), (RICE, 2)], ref="receipt:1", actor="mgr"))
    assert [(m.barcode, m.kind, m.qty_delta, m.level_after) for m in moved] == [
        (OIL, "receipt", 5, 5), (RICE, "receipt", 2, 2)]

    sold = uow.run(lambda s: stock.sell(s, dsc, [(OIL, 1), (RICE, 1), ("６９２０２４４４１８５２９\n", 2)],
                                        "sale:a", "clerk"))
    # The same product scanned twice is one line; each line carries the price it sold at.
    assert [(x.barcode, x.qty, x.points_price, x.points, x.level_after) for x in sold] == [
        (OIL, 3, 70, 210, 2), (RICE, 1, 35, 35, 1)]

    returned = uow.run(lambda s: stock.return_sale(s, "sale:a", "void:a", "mgr"))
    assert [(m.barcode, m.kind, m.qty_delta) for m in returned] == [(OIL, "void_return", 3), (RICE, "void_return", 1)]
    assert qty(uow, dsc, OIL) == 5 and qty(uow, dsc, RICE) == 2
    with pytest.raises(AlreadyReturned):
        uow.run(lambda s: stock.return_sale(s, "sale:a", "void:a", "mgr"))
    with pytest.raises(NotFound):
        uow.run(lambda s: stock.return_sale(s, "sale:none", "void:none", "mgr"))
    uow.run(lambda s: stock.return_stock(s, dsc, [(SOAP, 1)], "void:b", "mgr"))
    assert qty(uow, dsc, SOAP) == 1
    assert uow.read(lambda s: stock.check_levels(s)) == []


@pytest.mark.usefixtures("goods")
def test_a_short_sale_names_every_short_line_and_writes_nothing(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, _ = shops
    uow.run(lambda s: stock.receive(s, dsc, [(OIL, 2), (SOAP, 9)], ref="receipt:1", actor="mgr"))
    before = snapshot(uow)
    with pytest.raises(OutOfStock) as refused:
        uow.run(lambda s: stock.sell(s, dsc, [(OIL, 3), (SOAP, 1), (RICE, 4)], "sale:x", "clerk"))
    assert refused.value.code == "out_of_stock"
    assert [(line["barcode"], line["requested"], line["available"], line["short"])
            for line in refused.value.details["lines"]] == [(OIL, 3, 2, 1), (RICE, 4, 0, 4)]
    assert snapshot(uow) == before  # not even a level row for the rice


@pytest.mark.usefixtures("goods")
def test_sell_refuses_unknown_invalid_and_delisted_goods(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, _ = shops
    uow.run(lambda s: stock.receive(s, dsc, [(OIL, 2)], ref="receipt:1", actor="mgr"))
    with pytest.raises(UnknownProduct) as unknown:
        uow.run(lambda s: stock.sell(s, dsc, [(OIL, 1), ("4006381333931", 1)], "sale:x", "clerk"))
    assert unknown.value.details["barcodes"] == ["4006381333931"]
    with pytest.raises(InvalidBarcode):
        uow.run(lambda s: stock.sell(s, dsc, [("6920244418528", 1)], "sale:x", "clerk"))
    with pytest.raises(ValidationFailed):
        uow.run(lambda s: stock.sell(s, dsc, [(OIL, 0)], "sale:x", "clerk"))
    with pytest.raises(ValidationFailed):
        uow.run(lambda s: stock.sell(s, dsc, [], "sale:x", "clerk"))
    uow.run(lambda s: products.update_product(s, OIL, active=False))
    with pytest.raises(UnknownProduct) as delisted:
        uow.run(lambda s: stock.sell(s, dsc, [(OIL, 1)], "sale:x", "clerk"))
    assert delisted.value.details["inactive"] == [OIL]
    assert qty(uow, dsc, OIL) == 2


@pytest.mark.usefixtures("goods")
def test_a_price_change_is_history_and_a_sale_keeps_its_price(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, _ = shops
    uow.run(lambda s: stock.receive(s, dsc, [(OIL, 5)], ref="receipt:1", actor="mgr"))
    [first] = uow.run(lambda s: stock.sell(s, dsc, [(OIL, 1)], "sale:1", "clerk"))
    before_change = utcnow()
    uow.run(lambda s: products.change_price(s, OIL, 80, actor="mgr", at=before_change + timedelta(seconds=1)))
    uow.run(lambda s: products.change_price(s, OIL, 80, actor="mgr"))  # the same price again: no new row
    [second] = uow.run(lambda s: stock.sell(s, dsc, [(OIL, 1)], "sale:2", "clerk"))
    assert (first.points_price, second.points_price) == (70, 80)

    def prices(session: Session) -> tuple[list[int], int, int]:
        product = products.get_product(session, OIL)
        return ([row.points_price for row in products.price_history(session, product.id)],
                products.current_price(session, product.id),
                products.current_price(session, product.id, at=before_change))

    assert uow.read(prices) == ([70, 80], 80, 70)


@pytest.mark.usefixtures("goods")
def test_adjustments_follow_their_reasons(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, _ = shops
    uow.run(lambda s: stock.receive(s, dsc, [(SOAP, 10)], ref="receipt:1", actor="mgr"))
    for reason, delta in (("damaged", -2), ("expired", -1), ("lost", -1), ("found", 3), ("correction", -4)):
        moved = uow.run(lambda s, r=reason, d=delta: stock.adjust(s, dsc, SOAP, d, r, ref=f"adj:{r}", actor="mgr",
                                                                  note="货架检查"))
        assert (moved.kind, moved.reason, moved.qty_delta) == ("adjustment", reason, delta)
    assert qty(uow, dsc, SOAP) == 5
    for reason, delta in (("damaged", 2), ("found", -1), ("stolen", -1), ("correction", 0)):
        with pytest.raises(ValidationFailed):
            uow.run(lambda s, r=reason, d=delta: stock.adjust(s, dsc, SOAP, d, r, ref="adj:x", actor="mgr"))
    with pytest.raises(OutOfStock):
        uow.run(lambda s: stock.adjust(s, dsc, SOAP, -6, "damaged", ref="adj:y", actor="mgr"))
    assert qty(uow, dsc, SOAP) == 5


@pytest.mark.usefixtures("goods")
def test_stocktake_turns_differences_into_movements(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, _ = shops
    uow.run(lambda s: stock.receive(s, dsc, [(OIL, 5), (RICE, 5)], ref="receipt:1", actor="mgr"))
    lines = uow.run(lambda s: stock.stocktake(s, dsc, [stock.Count(OIL, 3), (RICE, 5), (SOAP, 2)],
                                              ref="stocktake:1", actor="mgr"))
    assert [(x.barcode, x.expected, x.counted, x.difference) for x in lines] == [
        (OIL, 5, 3, -2), (RICE, 5, 5, 0), (SOAP, 0, 2, 2)]
    kinds = uow.read(lambda s: [(m.barcode, m.kind, m.qty_delta) for m in stock.movements(s, dsc)
                                if m.ref == "stocktake:1"])
    assert sorted(kinds) == sorted([(OIL, "stocktake", -2), (SOAP, "stocktake", 2)])  # none for a match
    with pytest.raises(ValidationFailed):
        uow.run(lambda s: stock.stocktake(s, dsc, [(OIL, 1), (OIL, 2)], ref="stocktake:2", actor="mgr"))
    assert uow.read(lambda s: stock.check_levels(s, dsc)) == []


@pytest.mark.usefixtures("goods")
def test_a_transfer_moves_out_and_in_together(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, xhc = shops
    uow.run(lambda s: stock.receive(s, dsc, [(OIL, 5), (RICE, 1)], ref="receipt:1", actor="mgr"))
    moved = uow.run(lambda s: stock.transfer(s, dsc, xhc, [(OIL, 2)], ref="transfer:1", actor="mgr"))
    assert sorted((m.store_id, m.kind, m.qty_delta) for m in moved) == sorted(
        [(dsc, "transfer_out", -2), (xhc, "transfer_in", 2)])
    assert (qty(uow, dsc, OIL), qty(uow, xhc, OIL)) == (3, 2)
    before = snapshot(uow)
    with pytest.raises(OutOfStock):
        uow.run(lambda s: stock.transfer(s, dsc, xhc, [(OIL, 1), (RICE, 2)], ref="transfer:2", actor="mgr"))
    assert snapshot(uow) == before  # neither side moved
    with pytest.raises(ValidationFailed):
        uow.run(lambda s: stock.transfer(s, dsc, dsc, [(OIL, 1)], ref="transfer:3", actor="mgr"))


@pytest.mark.usefixtures("goods")
def test_donations_come_into_stock(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, _ = shops
    [moved] = uow.run(lambda s: stock.donation_in(s, dsc, [(RICE, 4)], ref="donation:1", actor="mgr",
                                                  note="王大妈捐赠"))
    assert (moved.kind, moved.qty_delta, moved.note) == ("donation_in", 4, "王大妈捐赠")


@pytest.mark.usefixtures("goods")
def test_negative_stock_only_when_the_shop_allows_it(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, xhc = shops
    assert not uow.read(lambda s: stock.negative_stock_allowed(s, dsc))
    with pytest.raises(OutOfStock):
        uow.run(lambda s: stock.sell(s, dsc, [(OIL, 1)], "sale:1", "clerk"))
    uow.run(lambda s: stock.set_negative_stock_allowed(s, dsc, True))
    [sold] = uow.run(lambda s: stock.sell(s, dsc, [(OIL, 2)], "sale:2", "clerk"))
    assert sold.level_after == -2
    with pytest.raises(OutOfStock):  # the other shop keeps the default
        uow.run(lambda s: stock.sell(s, xhc, [(OIL, 1)], "sale:3", "clerk"))
    uow.run(lambda s: stock.set_negative_stock_allowed(s, dsc, False))
    with pytest.raises(OutOfStock):
        uow.run(lambda s: stock.sell(s, dsc, [(OIL, 1)], "sale:4", "clerk"))
    uow.run(lambda s: stock.receive(s, dsc, [(OIL, 3)], ref="receipt:1", actor="mgr"))
    assert qty(uow, dsc, OIL) == 1
    assert uow.read(lambda s: stock.check_levels(s)) == []


@pytest.mark.usefixtures("goods")
def test_low_stock_and_value(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, xhc = shops
    uow.run(lambda s: stock.receive(s, dsc, [(OIL, 2), (RICE, 10), (SOAP, 3)], ref="receipt:1", actor="mgr"))
    for code, level in ((OIL, 5), (RICE, 10), (SOAP, 0)):
        uow.run(lambda s, c=code, lv=level: stock.set_reorder_level(s, dsc, c, lv))
    low = uow.read(lambda s: stock.low_stock(s, dsc))
    assert [(x.barcode, x.qty, x.reorder_level, x.low) for x in low] == [(OIL, 2, 5, True)]  # 10 of 10 is not low
    assert {x.barcode: x.low for x in uow.read(lambda s: stock.stock_levels(s, dsc))} == {
        OIL: True, RICE: False, SOAP: False}
    worth = uow.read(lambda s: stock.stock_value(s, dsc))
    assert (worth.points, worth.units, worth.products) == (2 * 70 + 10 * 35 + 3 * 5, 15, 3)
    assert uow.read(lambda s: stock.stock_value(s, xhc)).points == 0


def test_goods_without_a_barcode_get_distinct_in_store_codes(uow: UnitOfWork) -> None:
    uow.run(lambda s: products.create_product(s, barcode="2000000000107", name="秤码商品", points_price=3,
                                              actor="test"))  # someone else's code in our range
    codes = [new_product(uow) for _ in range(3)]
    assert len(set(codes)) == 3
    assert all(code.startswith("20") and len(code) == 13 for code in codes)
    assert "2000000000107" not in codes and codes[0] > "2000000000107"
    with pytest.raises(ProductExists):
        uow.run(lambda s: products.create_product(s, barcode=codes[0], name="重复", points_price=3, actor="t"))
    with pytest.raises(ValidationFailed):
        uow.run(lambda s: products.create_product(s, name=" ", points_price=0, actor="t"))


# ---- the database refuses to rewrite history ---------------------------------------------------------------

@pytest.mark.usefixtures("goods")
@pytest.mark.parametrize("statement", [
    "UPDATE stock_movements SET qty_delta = 100",
    "DELETE FROM stock_movements",
    "UPDATE product_prices SET points_price = 1",
    "DELETE FROM product_prices",
])
def test_movements_and_prices_are_append_only(uow: UnitOfWork, shops: tuple[int, int], statement: str) -> None:
    uow.run(lambda s: stock.receive(s, shops[0], [(OIL, 5)], ref="receipt:1", actor="mgr"))
    before = snapshot(uow)
    with pytest.raises(DBAPIError, match="append-only"):
        uow.run(lambda s: s.execute(text(statement)))
    assert snapshot(uow) == before


@pytest.mark.usefixtures("goods")
def test_the_check_finds_a_tampered_level(uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, _ = shops
    uow.run(lambda s: stock.receive(s, dsc, [(OIL, 5)], ref="receipt:1", actor="mgr"))
    assert uow.read(lambda s: stock.check_levels(s)) == []
    uow.run(lambda s: s.execute(text("UPDATE stock_levels SET qty = 50")))  # the cache is not append-only
    [problem] = uow.read(lambda s: stock.check_levels(s))
    assert (problem.store_id, problem.what, problem.expected, problem.found) == (dsc, "cached_level", 5, 50)


# ---- invariants under any sequence of operations -----------------------------------------------------------

OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("receive"), st.integers(1, 20)),
    st.tuples(st.just("sell"), st.integers(1, 20)),
    st.tuples(st.just("adjust"), st.sampled_from(["damaged", "expired", "lost", "found"]), st.integers(1, 20)),
    st.tuples(st.just("stocktake"), st.integers(0, 30)),
    st.tuples(st.just("transfer"), st.integers(1, 20)),
    st.tuples(st.just("donation"), st.integers(1, 20)),
), min_size=1, max_size=12)


def _apply(session: Session, *, op: tuple, code: str, delta: int, ref: str, shops: tuple[int, int]) -> object:
    dsc, xhc = shops
    kind, amount = op[0], op[-1]
    if kind == "receive":
        return stock.receive(session, dsc, [(code, amount)], ref=ref, actor="t")
    if kind == "donation":
        return stock.donation_in(session, dsc, [(code, amount)], ref=ref, actor="t")
    if kind == "sell":
        return stock.sell(session, dsc, [(code, amount)], ref, "t")
    if kind == "transfer":
        return stock.transfer(session, dsc, xhc, [(code, amount)], ref=ref, actor="t")
    if kind == "stocktake":
        return stock.stocktake(session, dsc, [(code, amount)], ref=ref, actor="t")
    return stock.adjust(session, dsc, code, delta, op[1], ref=ref, actor="t")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_levels_equal_the_sum_of_movements_and_never_go_below_zero(
        uow: UnitOfWork, shops: tuple[int, int], operations: list[tuple]) -> None:
    dsc, xhc = shops
    code = new_product(uow)
    expected = {dsc: 0, xhc: 0}
    for n, op in enumerate(operations):
        ref, kind = f"op:{n}", op[0]
        delta = {"receive": op[-1], "donation": op[-1], "sell": -op[-1], "transfer": -op[-1],
                 "stocktake": op[-1] - expected[dsc],
                 "adjust": op[-1] if op[1] == "found" else -op[-1]}[kind]
        work = partial(_apply, op=op, code=code, delta=delta, ref=ref, shops=shops)
        if expected[dsc] + delta < 0:
            with pytest.raises(OutOfStock):
                uow.run(work)
            continue
        uow.run(work)
        expected[dsc] += delta
        if kind == "transfer":
            expected[xhc] -= delta

    def observed(session: Session) -> dict[int, tuple[int, int]]:
        product_id = products.get_product(session, code).id
        sums = dict(session.execute(select(StockMovement.store_id, func.sum(StockMovement.qty_delta))
                                    .where(StockMovement.product_id == product_id)
                                    .group_by(StockMovement.store_id)).all())
        return {shop: (stock.level_of(session, shop, product_id)[0], int(sums.get(shop, 0))) for shop in (dsc, xhc)}

    seen = uow.read(observed)
    for shop in (dsc, xhc):
        level, movement_sum = seen[shop]
        assert level == movement_sum == expected[shop]
        assert level >= 0
    assert uow.read(lambda s: stock.check_levels(s)) == []


# ---- concurrency -------------------------------------------------------------------------------------------

def _race(db_url: str, buyers: int, work_for: callable) -> list[str]:  # type: ignore[valid-type]
    """Runs `work_for(i)` in `buyers` threads at once, each with its own connection through UnitOfWork.run."""
    engine = make_engine(db_url, pool_size=buyers, max_overflow=0)
    racer = UnitOfWork(make_session_factory(engine), attempts=50)
    start = threading.Barrier(buyers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buyer(i: int) -> None:
        start.wait()
        try:
            racer.run(work_for(i))
            outcome = "sold"
        except OutOfStock:
            outcome = "out_of_stock"
        except Exception as exc:  # reported, so a failure shows what went wrong
            outcome = f"error: {exc!r}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    engine.dispose()
    return outcomes


@pytest.mark.usefixtures("goods")
@pytest.mark.parametrize(("on_hand", "each", "buyers"), [(3, 1, 8), (5, 2, 6)])
def test_concurrent_sales_of_the_last_units(db_url: str, uow: UnitOfWork, shops: tuple[int, int],
                                            on_hand: int, each: int, buyers: int) -> None:
    dsc, _ = shops
    uow.run(lambda s: stock.receive(s, dsc, [(OIL, on_hand)], ref="receipt:1", actor="mgr"))
    outcomes = _race(db_url, buyers,
                     lambda i: lambda s: stock.sell(s, dsc, [(OIL, each)], f"sale:{i}", f"clerk{i}"))
    assert sorted(outcomes) == sorted(["sold"] * (on_hand // each) + ["out_of_stock"] * (buyers - on_hand // each))
    assert qty(uow, dsc, OIL) == on_hand % each
    sales = uow.read(lambda s: s.scalar(select(func.count()).select_from(StockMovement)
                                        .where(StockMovement.kind == "sale")))
    assert sales == on_hand // each
    assert uow.read(lambda s: stock.check_levels(s)) == []


@pytest.mark.usefixtures("goods")
def test_concurrent_first_receipts_create_one_level(db_url: str, uow: UnitOfWork, shops: tuple[int, int]) -> None:
    dsc, _ = shops
    outcomes = _race(db_url, 4, lambda i: lambda s: stock.receive(s, dsc, [(RICE, 1)], ref=f"receipt:{i}",
                                                                  actor="mgr"))
    assert outcomes == ["sold"] * 4  # i.e. all went through
    assert qty(uow, dsc, RICE) == 4
    assert uow.read(lambda s: stock.check_levels(s)) == []


def test_concurrent_internal_codes_do_not_collide(db_url: str, uow: UnitOfWork) -> None:
    outcomes = _race(db_url, 4, lambda i: lambda s: products.create_product(s, name=f"自制{i}", points_price=2,
                                                                            actor="mgr"))
    assert outcomes == ["sold"] * 4
    codes = uow.read(lambda s: list(s.scalars(select(Product.barcode).where(Product.internal_code.is_(True)))))
    assert len(codes) == len(set(codes)) == 4
