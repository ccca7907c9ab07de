"""A scan while another field has the focus, on the real pages: an Android input method (keydown "Unidentified" and
inserted text, one scan in two pieces, then Enter) scanning into a quantity on the stock page or a form field on the
check-in page. The page takes it as a scan, and the field keeps what it had; a person typing there is left alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import Shop, android_insert, android_scan, log_in, scan
from tests.e2e.test_tablet_bulk import choose, open_activity, row

OIL, RICE = "6920244418529", "6982606870703"


def test_stock_an_android_scan_into_a_quantity(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    shop.add_product(OIL, "大豆油 5L", 70, qty=3)
    shop.add_product(RICE, "东北大米 5kg", 35, qty=0)
    log_in(page, shop, "manager-dsc", "/stock#receive")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, OIL)
    oil = page.locator(f"#receive-lines tbody tr:has-text('{OIL}') .qty-input")
    expect(oil).to_have_value("1")

    # The focus in the oil's quantity: a rice scan adds the rice, and the oil's quantity is still 1.
    oil.focus()
    android_scan(page, RICE)
    expect(page.locator("#receive-lines tbody tr")).to_have_count(2)
    expect(page.locator("#scan-message")).to_have_text("东北大米 5kg：1")
    expect(oil).to_have_value("1")
    expect(page.locator("#scan")).to_be_focused()
    # Scanning the oil with its own quantity focused counts one more oil.
    oil.focus()
    android_scan(page, "６９２０２４４４１８５２９")  # full-width digits, as a Chinese input method may send them
    expect(oil).to_have_value("2")
    expect(page.locator("#receive-total")).to_have_text("2 种商品，共 3 件")

    # A person typing a count into the rice's quantity, at a person's pace: a count, not a scan.
    rice = page.locator(f"#receive-lines tbody tr:has-text('{RICE}') .qty-input")
    rice.click()
    page.keyboard.press("Control+A")
    for digit in "1500":
        android_insert(page, digit)
        page.wait_for_timeout(150)
    page.keyboard.press("Enter")
    expect(page.locator("#receive-total")).to_have_text("2 种商品，共 1502 件")
    expect(page.locator("#new-product")).to_be_hidden()  # "1500" was not looked up as a barcode
    expect(page.locator("#receive-lines tbody tr")).to_have_count(2)

    page.click("#receive-submit")
    expect(page.locator("#scan-message")).to_have_text("入库完成：2 种商品，共 1502 件")


def test_check_in_an_android_scan_into_the_bulk_form(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    ma = shop.add_member("马桂芳")
    hu = shop.add_member("胡志强")
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date().isoformat()
    activity_id = open_activity(shop, f"{day}T08:00:00+08:00")
    log_in(page, shop, "coordinator-dsc", "/checkin")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    choose(page, activity_id)
    page.click(".tabs a[href='#bulk']")
    expect(page.locator("#tab-bulk")).to_be_visible()

    # The note typed by hand, slowly; then a card scanned while the focus is still in it.
    page.click("#bulk-note")
    page.keyboard.type("早班", delay=150)
    android_scan(page, ma["card_number"], split=9)
    expect(row(page, ma["card_number"])).to_contain_text("马桂芳")
    expect(page.locator("#bulk-note")).to_have_value("早班")
    # The hours: the card goes on the list, the 3 stays 3.
    page.fill("#bulk-h", "3")
    page.focus("#bulk-h")
    android_scan(page, hu["card_number"])
    expect(row(page, hu["card_number"])).to_contain_text("胡志强")
    expect(page.locator("#bulk-h")).to_have_value("3")
    # What the page keeps for the sheet (restored after a reload) is the fields as the person left them.
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-activity", activity_id)
    expect(page.locator("#bulk-note")).to_have_value("早班")
    expect(page.locator("#bulk-h")).to_have_value("3")
    expect(page.locator("#bulk-list tbody tr")).to_have_count(2)
