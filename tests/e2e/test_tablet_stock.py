"""Stock pages in a real browser: receive goods by scanning (入库), add an unknown barcode on the way, stocktake
(盘点) with its differences, the low-stock list. What the page submits is checked in the database."""

from __future__ import annotations

from playwright.sync_api import expect

from inventory import stock
from tests.e2e.conftest import Shop, log_in, scan

OIL, RICE, SOAP, NEW = "6920244418529", "6982606870703", "6901234567892", "6971234567895"


def level(shop: Shop, barcode: str) -> int:
    store = shop.store_id()
    return shop.uow.read(lambda session: stock.lookup(session, barcode, store).qty)


def test_receive_by_scanning_with_a_new_product(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    shop.add_product(OIL, "大豆油 5L", 70, qty=3)
    shop.add_product(RICE, "东北大米 5kg", 35, qty=0)
    log_in(page, shop, "manager-dsc", "/stock#receive")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, OIL)
    scan(page, "６９８２６０６８７０７０３")  # full-width digits, as a Chinese input method may send them
    scan(page, OIL)
    expect(page.locator("#receive-lines tbody tr")).to_have_count(2)
    expect(page.locator(f"#receive-lines tbody tr:has-text('{OIL}') .qty-input")).to_have_value("2")
    # Typing a count into a line works too.
    page.fill(f"#receive-lines tbody tr:has-text('{RICE}') .qty-input", "10")
    page.press(f"#receive-lines tbody tr:has-text('{RICE}') .qty-input", "Tab")
    expect(page.locator("#receive-total")).to_have_text("2 种商品，共 12 件")

    # A barcode the catalogue lacks: add the product, and it joins the list.
    scan(page, NEW)
    expect(page.locator("#new-product")).to_be_visible()
    page.fill("#np-name", "手工挂面 1kg")
    page.fill("#np-price", "12")
    page.click("#new-product button[type=submit]")
    expect(page.locator("#receive-lines tbody tr")).to_have_count(3)

    page.fill("#receive-note", "镇供销社送货")
    page.click("#receive-submit")
    expect(page.locator("#scan-message")).to_have_text("入库完成：3 种商品，共 13 件")
    expect(page.locator("#receive-lines tbody tr")).to_have_count(0)
    assert (level(shop, OIL), level(shop, RICE), level(shop, NEW)) == (5, 10, 1)


def test_stocktake_and_the_low_stock_list(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    shop.add_product(OIL, "大豆油 5L", 70, qty=4, reorder_level=5)
    shop.add_product(SOAP, "洗衣皂 2块装", 8, qty=2)
    log_in(page, shop, "manager-dsc", "/stock#low")
    rows = page.locator("#low-list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("大豆油 5L")

    page.click(".tabs a[href='#stocktake']")
    expect(page.locator("#scan")).to_be_focused()
    for _ in range(3):
        scan(page, SOAP)
    scan(page, OIL)
    expect(page.locator(f"#count-lines tbody tr:has-text('{SOAP}') .qty-input")).to_have_value("3")
    page.fill(f"#count-lines tbody tr:has-text('{OIL}') .qty-input", "6")
    page.press(f"#count-lines tbody tr:has-text('{OIL}') .qty-input", "Tab")
    expect(page.locator(f"#count-lines tbody tr:has-text('{OIL}') td.num").last).to_have_text("+2")
    page.click("#count-submit")
    page.click("#ask-ok")
    expect(page.locator("#count-result")).to_contain_text("盘点完成：2 种商品，2 种有差异")
    assert (level(shop, OIL), level(shop, SOAP)) == (6, 3)

    page.click(".tabs a[href='#low']")
    expect(page.locator("#low-summary")).to_have_text("0 种商品低于补货线")
