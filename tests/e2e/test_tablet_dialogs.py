"""After a confirmation dialog (CM.ask) closes, the very next scan must land: a clerk scans without looking."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import Shop, log_in, scan
from tests.e2e.test_tablet_counter import OIL, RICE, sale_times, stock_shop, z_row


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


def test_a_manager_closes_a_clerks_shift_from_the_counter(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    """The clerk went home without closing: the manager picks the clerk's open shift, sees its figures, closes it."""
    import uuid

    stock_shop(shop)
    member = shop.add_member("刘淑芬", points=300)
    clerk = shop.api("clerk-dsc")
    sold = clerk.post("/api/v1/sales", json={"id": str(uuid.uuid4()), "card_number": member["card_number"],
                                             "lines": [{"barcode": OIL, "qty": 1}]})
    assert sold.status_code == 201, sold.get_json()

    log_in(page, shop, "manager-dsc", "/counter")
    page.click("#shift-close")
    expect(page.locator("#shift-whose")).to_be_visible()  # the manager has no shift; the clerk's is offered
    expect(page.locator("#shift-clerk")).to_have_value("clerk-dsc")
    expect(page.locator("#shift-report")).to_contain_text("clerk-dsc")
    expect(page.locator("#shift-report .z-report")).to_contain_text("70 积分")
    [sold_at] = sale_times(shop, member["member_id"])  # the clerk's shift, read by its id: first and last sale too
    expect(z_row(page, "首笔兑换")).to_have_text(sold_at)
    expect(z_row(page, "末笔兑换")).to_have_text(sold_at)
    page.click("#shift-confirm")
    expect(page.locator("#shift-title")).to_have_text("已交班：交班报表")
    expect(z_row(page, "末笔兑换")).to_have_text(sold_at)
    closed = clerk.get("/api/v1/shifts?status=closed&store=DSC").get_json()["shifts"]
    assert [(s["clerk"], s["closed_by"]) for s in closed] == [("clerk-dsc", "manager-dsc")]
    assert clerk.get("/api/v1/shifts/current").get_json()["shift"] is None
