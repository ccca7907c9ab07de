"""After a confirmation dialog (CM.ask) closes, the very next scan must land: a clerk scans without looking."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import Shop, log_in, scan
from tests.e2e.test_tablet_counter import OIL, RICE, stock_shop


def test_a_scan_right_after_a_dialog_closes_is_taken(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    stock_shop(shop)
    member = shop.add_member("刘淑芬", points=300)
    log_in(page, shop, "clerk-dsc", "/counter")
    scan(page, member["card_number"])
    expect(page.locator("#member-name")).to_have_text("刘淑芬")
    scan(page, OIL)
    expect(page.locator("#lines tbody tr")).to_have_count(1)

    page.locator("#clear-cart").click()
    expect(page.locator("#ask")).to_be_visible()
    page.locator("#ask-ok").click()
    expect(page.locator("#ask")).to_have_count(0)
    expect(page.locator("#lines tbody tr")).to_have_count(0)
    scan(page, member["card_number"])
    expect(page.locator("#member-name")).to_have_text("刘淑芬")
    scan(page, RICE)
    expect(page.locator("#lines tbody tr")).to_have_count(1)

    page.locator("#clear-cart").click()  # cancelled with a tap this time
    page.locator("#ask-cancel").click()
    expect(page.locator("#ask")).to_have_count(0)
    scan(page, OIL)
    expect(page.locator("#lines tbody tr")).to_have_count(2)
    expect(page.locator("#scan")).to_be_focused()
