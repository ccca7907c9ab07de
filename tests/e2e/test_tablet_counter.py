"""The counter (收银) in a real browser, driven the way a clerk drives it: a keyboard-wedge scanner typing codes fast
and pressing Enter. Sales, balances and receipts are checked where they live: the database and the printer."""

from __future__ import annotations

import threading
import uuid
from zoneinfo import ZoneInfo

from playwright.sync_api import Route, expect
from sqlalchemy import func, select

from pos.sales import Sale
from tests.e2e.conftest import Shop, log_in, scan, screenshot
from tests.escpos_decoder import FakePrinter
from tests.support import password_for

OIL, RICE, SOAP, NOODLES = "6920244418529", "6982606870703", "6901234567892", "6971234567895"


def stock_shop(shop: Shop) -> None:
    shop.add_product(OIL, "大豆油 5L", 70)
    shop.add_product(RICE, "东北大米 5kg", 35)
    shop.add_product(SOAP, "洗衣皂 2块装", 8)
    shop.add_product(NOODLES, "手工挂面 1kg", 12)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def sale_times(shop: Shop, member_id: str) -> list[str]:
    """The member's sales' times as the tablet shows them: Asia/Shanghai, whatever the browser's zone (UTC on
    the test machine, so a time shown in the browser's own zone would be eight hours off)."""
    query = select(Sale.created_at).where(Sale.member_id == uuid.UUID(member_id)).order_by(Sale.created_at)
    times = shop.uow.read(lambda session: list(session.scalars(query)))
    return [moment.astimezone(SHANGHAI).strftime("%Y/%m/%d %H:%M") for moment in times]


def z_row(page, label: str):  # type: ignore[no-untyped-def]
    """The value cell of the Z report's row with this label."""
    return page.locator("#shift-report .z-report tr", has=page.locator("th", has_text=label)).locator("td")


def sales_of(shop: Shop, member_id: str) -> int:
    query = select(func.count()).select_from(Sale).where(Sale.member_id == uuid.UUID(member_id))
    return shop.uow.read(lambda session: session.scalar(query))


def test_the_whole_counter_flow_by_scanner(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    stock_shop(shop)
    member = shop.add_member("刘淑芬", points=300, phone="13912340001")
    log_in(page, shop, "clerk-dsc", "/counter")
    scan_field = page.locator("#scan")
    expect(scan_field).to_be_focused()
    expect(page.locator("#camera")).to_be_hidden()  # headless Chromium has no BarcodeDetector
    expect(page.locator("#printer-state")).to_have_text("打印机状态：正常")

    # An Android input method delivers a scan as text insertions (no key events), here split in two, no Enter.
    page.keyboard.insert_text(member["card_number"][:7])
    page.keyboard.insert_text(member["card_number"][7:])
    expect(page.locator("#member-name")).to_have_text("刘淑芬")
    expect(page.locator("#member-phone")).to_have_text("139****0001")
    expect(page.locator("#member-balance")).to_have_text("300 积分")

    scan(page, OIL)
    scan(page, RICE)
    # A scan lands wherever the focus is: with nothing focused, the page still takes it as a scan.
    page.evaluate("document.activeElement.blur()")
    scan(page, "６９０１２３４５６７８９２")  # full-width digits from a Chinese input method
    expect(page.locator("#lines tbody tr")).to_have_count(3)
    expect(scan_field).to_be_focused()  # the scan field has the focus back

    # Quantities: one more soap, one less, a line added by mistake and removed.
    soap = page.locator(f"#lines tbody tr[data-barcode='{SOAP}']")
    soap.locator(".plus-btn").click()
    expect(soap.locator(".qty")).to_have_text("2")
    soap.locator(".plus-btn").click()
    soap.locator(".minus-btn").click()
    expect(soap.locator(".qty")).to_have_text("2")
    scan(page, NOODLES)
    page.locator(f"#lines tbody tr[data-barcode='{NOODLES}'] .remove").click()
    expect(page.locator("#lines tbody tr")).to_have_count(3)
    expect(scan_field).to_be_focused()

    expect(page.locator("#total")).to_have_text("121 积分")  # 70 + 35 + 2 × 8
    expect(page.locator("#after")).to_have_text("179 积分")
    expect(page.locator("#shortfall")).to_be_hidden()

    page.click("#confirm")
    expect(page.locator("#sale-done")).to_have_text("刘淑芬 兑换成功")
    expect(page.locator("#sale-balance")).to_have_text("179 积分")
    expect(page.locator("#receipt-status")).to_have_text("已打印")
    expect(page.locator("#lines tbody tr")).to_have_count(0)
    expect(page.locator("#void")).to_be_hidden()  # a clerk does not void
    assert shop.balance(member["member_id"]) == 179
    assert sales_of(shop, member["member_id"]) == 1
    assert len(shop.printer.wait_for_jobs(1)) == 1
    screenshot(page, "counter-sold-1280x800")

    # The shop's recent sales: a clerk may reprint, not void.
    page.click("#recent")
    expect(page.locator("#recent-sales tbody tr")).to_have_count(1)
    expect(page.locator("#recent-sales .recent-reprint")).to_be_visible()
    expect(page.locator("#recent-sales .recent-void")).to_have_count(0)
    page.click("#recent-close")

    # Reprint: a second job, printed too.
    page.click("#reprint")
    expect(page.locator("#receipt-status")).to_have_text("已打印")
    assert len(shop.printer.wait_for_jobs(2)) == 2

    # Close the shift: the preview shows the shift so far, closing shows the Z report and prints it.
    page.click("#shift-close")
    expect(page.locator("#shift-report")).to_contain_text("兑换笔数")
    expect(page.locator("#shift-report .z-report")).to_contain_text("121 积分")
    [sold_at] = sale_times(shop, member["member_id"])
    expect(z_row(page, "首笔兑换")).to_have_text(sold_at)
    expect(z_row(page, "末笔兑换")).to_have_text(sold_at)
    page.click("#shift-confirm")
    expect(page.locator("#shift-title")).to_have_text("已交班：交班报表")
    expect(z_row(page, "首笔兑换")).to_have_text(sold_at)
    expect(z_row(page, "末笔兑换")).to_have_text(sold_at)
    expect(page.locator("#shift-print")).to_have_text("交班报表：已打印")
    screenshot(page, "counter-shift-closed-1280x800")
    assert len(shop.printer.wait_for_jobs(3)) == 3


def test_a_shortfall_shows_before_confirming(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    stock_shop(shop)
    member = shop.add_member("陈建国", points=50)
    log_in(page, shop, "clerk-dsc", "/counter")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, OIL)  # goods before the card is fine
    scan(page, member["card_number"])
    expect(page.locator("#shortfall")).to_have_text("积分不足，还差 20 积分")
    expect(page.locator("#confirm")).to_be_disabled()
    page.locator(f"#lines tbody tr[data-barcode='{OIL}'] .remove").click()
    scan(page, RICE)
    expect(page.locator("#after")).to_have_text("15 积分")
    expect(page.locator("#confirm")).to_be_enabled()


def test_the_answer_lost_after_the_server_sold_sells_once(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    stock_shop(shop)
    member = shop.add_member("赵德明", points=200)
    log_in(page, shop, "manager-dsc", "/counter")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, member["card_number"])
    scan(page, OIL)
    scan(page, SOAP)
    expect(page.locator("#total")).to_have_text("78 积分")

    # The first POST /sales reaches the server, which sells; its answer is lost on the way back. The network then
    # stays down until the test says so.
    network_down = threading.Event()
    posts: list[str] = []

    def cut(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.post_data or "")
        if len(posts) == 1:
            route.fetch()  # the server commits the sale
            network_down.set()
            route.abort("internetdisconnected")
        elif network_down.is_set():
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/v1/sales", cut)
    page.click("#confirm")
    expect(page.locator("#net-banner")).to_be_visible()
    screenshot(page, "counter-network-lost-1280x800")
    expect(page.locator("#confirm")).to_be_disabled()
    assert sales_of(shop, member["member_id"]) == 1  # sold, though the tablet does not know yet
    # The tablet keeps the very request it sent, with its sale id, until an answer comes.
    kept = page.evaluate("sessionStorage.getItem('cm.pending.sale')")
    assert kept and posts[0] in kept
    network_down.clear()

    expect(page.locator("#sale-done")).to_have_text("赵德明 兑换成功")
    expect(page.locator("#net-banner")).to_be_hidden()
    expect(page.locator("#sale-balance")).to_have_text("122 积分")
    assert len(set(posts)) == 1 and len(posts) >= 2  # every retry sent the same body, the same sale id
    assert sales_of(shop, member["member_id"]) == 1
    assert shop.balance(member["member_id"]) == 122
    assert page.evaluate("sessionStorage.getItem('cm.pending.sale')") is None
    page.unroute("**/api/v1/sales")

    # The answer lost again, and this time the tablet is reloaded before the network comes back: the page sends
    # the kept request again on load, and the server answers with the sale it already made.
    scan(page, member["card_number"])
    scan(page, RICE)
    expect(page.locator("#total")).to_have_text("35 积分")
    posts.clear()
    page.route("**/api/v1/sales", cut)
    page.click("#confirm")
    expect(page.locator("#net-banner")).to_be_visible()
    assert sales_of(shop, member["member_id"]) == 2
    page.unroute("**/api/v1/sales")
    network_down.clear()
    page.reload()
    expect(page.locator("#sale-done")).to_have_text("赵德明 兑换成功")
    expect(page.locator("#sale-balance")).to_have_text("87 积分")
    assert sales_of(shop, member["member_id"]) == 2
    assert shop.balance(member["member_id"]) == 87

    # A manager voids the last sale, and the first from the shop's recent sales: the points come back.
    page.click("#void")
    page.fill("#ask-field", "顾客退货")
    page.click("#ask-ok")
    expect(page.locator("#sale-done")).to_have_text("赵德明 的兑换已作废")
    expect(page.locator("#sale-balance")).to_have_text("122 积分")
    page.click("#recent")
    rows = page.locator("#recent-sales tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".sale-status")).to_have_text("已作废")
    rows.nth(1).locator(".recent-void").click()
    page.fill("#ask-field", "录错会员")
    page.click("#ask-ok")
    expect(rows.nth(1).locator(".sale-status")).to_have_text("已作废")
    assert shop.balance(member["member_id"]) == 200


def test_an_expired_session_keeps_the_cart(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    stock_shop(shop)
    member = shop.add_member("孙丽华", points=200)
    log_in(page, shop, "clerk-dsc", "/counter")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, member["card_number"])
    scan(page, OIL)
    scan(page, RICE)
    expect(page.locator("#lines tbody tr")).to_have_count(2)

    # The session ends on the server (as when the token is revoked or expires) in the middle of the cart.
    token = page.evaluate("localStorage.getItem('cm.token')")
    assert shop.app.test_client().post("/api/v1/auth/logout",
                                       headers={"Authorization": f"Bearer {token}"}).status_code == 204
    scan(page, SOAP)
    expect(page.locator("#relogin")).to_be_visible()
    screenshot(page, "counter-relogin-1280x800")
    page.fill("#relogin-password", password_for("clerk-dsc"))
    page.click("#relogin-form button[type=submit]")
    expect(page.locator("#relogin")).to_be_hidden()
    # The interrupted scan went through after the new login, and nothing before it was lost.
    expect(page.locator("#lines tbody tr")).to_have_count(3)
    expect(page.locator("#member-name")).to_have_text("孙丽华")
    page.click("#confirm")
    expect(page.locator("#sale-balance")).to_have_text("87 积分")
    assert shop.balance(member["member_id"]) == 87


def test_an_offline_printer_is_shown_and_the_receipt_prints_once_it_is_back(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    stock_shop(shop)
    member = shop.add_member("周凤英", points=100)
    port = shop.printer.port
    shop.printer.close()  # switched off: the port refuses connections
    log_in(page, shop, "clerk-dsc", "/counter")
    expect(page.locator("#printer-state")).to_have_text("打印机状态：离线")
    scan(page, member["card_number"])
    scan(page, RICE)
    page.click("#confirm")
    # The sale stands; the receipt waits for the printer, and the page says it keeps trying by itself.
    expect(page.locator("#sale-balance")).to_have_text("65 积分")
    expect(page.locator("#receipt-status")).to_have_text("排队中")
    expect(page.locator("#receipt-problem")).to_contain_text("正在自动重试")
    expect(page.locator("#receipt-retry")).to_be_hidden()  # nothing for the clerk to do
    assert shop.balance(member["member_id"]) == 65
    screenshot(page, "counter-printer-offline-1280x800")

    shop.printer = FakePrinter(port)  # switched back on: the receipt comes out without anyone pressing a button
    expect(page.locator("#receipt-status")).to_have_text("已打印")
    expect(page.locator("#printer-state")).to_have_text("打印机状态：正常")
    assert len(shop.printer.wait_for_jobs(1)) == 1

    # A receipt that may have printed in part (the paper ran out mid-job) is not sent again by itself: the page
    # offers 重新打印, and it prints once the paper is in.
    shop.printer.close()
    shop.printer = FakePrinter(port, runs_out_during_job=True)
    scan(page, member["card_number"])
    scan(page, RICE)
    page.click("#confirm")
    expect(page.locator("#sale-balance")).to_have_text("30 积分")
    expect(page.locator("#receipt-status")).to_have_text("打印失败")
    expect(page.locator("#receipt-problem")).to_contain_text("小票未打印")
    expect(page.locator("#receipt-retry")).to_be_visible()
    shop.printer.close()
    shop.printer = FakePrinter(port)  # paper in
    page.click("#receipt-retry")
    expect(page.locator("#receipt-status")).to_have_text("已打印")
    expect(page.locator("#receipt-retry")).to_be_hidden()
    assert len(shop.printer.wait_for_jobs(1)) == 1
