"""Donations and hand-entered hours (捐赠与补录) in a real browser, as a coordinator records them: a member's card read
by a keyboard-wedge scanner (wherever the focus is), a cash donation with its receipt, goods scanned into lines,
hours from a paper sheet, the refusals. What was recorded is checked where it lives: the database, the printer's
queue, the stock."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Route, expect
from sqlalchemy import func, select

from inventory import stock
from ledger import earning
from ledger.earning import Contribution
from pos.print_jobs import PrintJob
from tests.e2e.conftest import SMALL_TARGETS, TARGETS, Shop, log_in, scan, screenshot

OIL, RICE, SOAP = "6920244418529", "6982606870703", "6901234567892"
NOT_SOLD_HERE = "4006381333931"  # a valid EAN-13 no product has
XSS = "<img src=x onerror=alert(1)>"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def days_ago(n: int) -> str:
    return (datetime.now(SHANGHAI) - timedelta(days=n)).date().isoformat()


def contributions_of(shop: Shop, *, member_id: str | None = None, organisation_id: str | None = None
                     ) -> list[earning.ContributionView]:
    column = Contribution.member_id if member_id else Contribution.organisation_id
    donor = uuid.UUID(member_id or organisation_id)

    def read(session):  # type: ignore[no-untyped-def]
        ids = session.scalars(select(Contribution.id).where(column == donor).order_by(Contribution.recorded_at))
        return [earning.contribution_view(session, i) for i in ids]

    return shop.uow.read(read)


def receipt_jobs(shop: Shop, contribution_id: str) -> int:
    query = select(func.count()).select_from(PrintJob).where(PrintJob.kind == "donation_receipt",
                                                           PrintJob.ref == contribution_id)
    return shop.uow.read(lambda session: session.scalar(query))


def stock_of(shop: Shop, barcode: str) -> int:
    shop_id = shop.store_id()
    return shop.uow.read(lambda session: stock.lookup(session, barcode, shop_id).qty)


def no_small_targets(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate(SMALL_TARGETS, TARGETS) == []


def test_a_cash_donation_with_its_receipt(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    donor = shop.add_member("杨明")
    # Half a point a yuan: the points are the rate × the yuan, rounded down, not the yuan.
    assert shop.api("admin").put("/api/v1/earning/rates", json={  # type: ignore[attr-defined]
        "points_per_hour": 10, "cash_points_per_yuan": "0.5"}).status_code == 200
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    log_in(page, shop, "coordinator-dsc", "/donations")
    expect(page.locator("h1")).to_have_text("捐赠与补录")
    expect(page.locator("#nav a[href='/donations']")).to_be_visible()
    expect(page.locator("#scan")).to_be_focused()
    expect(page.locator("#cash-rate")).to_have_text("按每元 0.5 积分计算")

    # Nothing is sent without a donor, nor an amount that is not whole fen above 0.
    page.fill("#cash-amount", "20")
    page.click("#cash-submit")
    expect(page.locator("#cash-message")).to_have_text("请先扫描会员卡或选择单位")
    scan(page, donor["card_number"])
    expect(page.locator("#donor-name")).to_have_text("杨明")
    expect(page.locator("#donor-card")).to_have_text(donor["card_number"])
    for typed, refused in (("12.345", "金额最多两位小数（精确到分）"), ("0", "金额须大于 0"), ("-5", "金额须大于 0"),
                           ("0.00", "金额须大于 0"), ("abc", "金额须为数字，例如 50 或 12.50"),
                           ("1000000.01", "金额不能超过 1000000 元")):
        page.fill("#cash-amount", typed)
        expect(page.locator("#cash-preview")).to_have_text(refused)
        page.click("#cash-submit")
        expect(page.locator("#cash-message")).to_have_text(refused)
    expect(page.locator("#ask")).to_have_count(0)
    assert contributions_of(shop, member_id=donor["member_id"]) == []

    # 19.99 yuan at 0.5 a yuan: 1999 fen, 9 points (9.995 rounded down; floats would say 10 for 20.00 - 0.01).
    page.fill("#cash-amount", "１９.９９")  # full-width digits, as a Chinese input method types them
    expect(page.locator("#cash-preview")).to_have_text("将获得 9 积分（待审核）")
    page.fill("#cash-note", XSS)
    page.click("#cash-submit")
    expect(page.locator("#ask .ask-message")).to_have_text("为 杨明 记录现金捐赠 19.99 元，9 积分待审核？")
    page.click("#ask-ok")
    expect(page.locator("#result-text")).to_have_text("已记录：杨明，9 积分待审核")
    expect(page.locator("#result-status")).to_have_text("待审核")
    expect(page.locator("#receipt-status")).to_have_text("已打印")  # the shop's printer printed it
    expect(page.locator("#donor-none")).to_be_visible()  # ready for the next donor
    expect(page.locator("#cash-amount")).to_have_value("")

    [made] = contributions_of(shop, member_id=donor["member_id"])
    assert (made.kind, made.status, made.amount_fen, made.points, made.note, made.recorded_by) == (
        "donation_cash", "pending", 1999, 9, XSS, "coordinator-dsc")
    assert receipt_jobs(shop, str(made.id)) == 1
    shown = shop.api("manager-dsc").get(f"/api/v1/contributions/{made.id}").json  # type: ignore[attr-defined]
    assert (shown["points"], shown["receipt"]["status"]) == (9, "printed")

    # The session's list, newest first, shows the note as text; nothing ran.
    item = page.locator("#recorded li")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-id", str(made.id))
    expect(item.locator(".recorded-note")).to_have_text(XSS)
    expect(item).to_contain_text("捐款 19.99 元")
    assert page.locator("img").count() == 0 and alerts == []
    no_small_targets(page)
    screenshot(page, "donations-cash-1280x800")

    # Reprint: a second receipt job for the same donation.
    with page.expect_response(lambda r: r.url.endswith("/receipt") and r.request.method == "POST") as reprinted:
        page.click("#reprint")
    assert reprinted.value.status == 201
    assert receipt_jobs(shop, str(made.id)) == 2
    expect(page.locator("#receipt-status")).to_have_attribute("data-status", "printed")


def test_the_answer_lost_after_the_server_recorded_records_once(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    donor = shop.add_member("郑丽")
    log_in(page, shop, "coordinator-dsc", "/donations")
    scan(page, donor["card_number"])
    expect(page.locator("#donor-name")).to_have_text("郑丽")
    page.fill("#cash-amount", "30")
    expect(page.locator("#cash-preview")).to_have_text("将获得 30 积分（待审核）")

    # The first POST reaches the server, which records; its answer is lost, and the network stays down a while.
    network_down = threading.Event()
    posts: list[str] = []

    def cut(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.post_data or "")
        if len(posts) == 1:
            route.fetch()
            network_down.set()
            route.abort("internetdisconnected")
        elif network_down.is_set():
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/api/v1/contributions", cut)
    page.click("#cash-submit")
    page.click("#ask-ok")
    expect(page.locator("#net-banner")).to_be_visible()
    expect(page.locator("#cash-submit")).to_be_disabled()
    assert len(contributions_of(shop, member_id=donor["member_id"])) == 1
    kept = page.evaluate("sessionStorage.getItem('cm.pending.contribution')")
    assert kept and posts[0] in kept
    network_down.clear()

    expect(page.locator("#result-text")).to_have_text("已记录：郑丽，30 积分待审核")
    expect(page.locator("#net-banner")).to_be_hidden()
    assert len(set(posts)) == 1 and len(posts) >= 2  # the same request, the same id, again
    [made] = contributions_of(shop, member_id=donor["member_id"])
    assert made.amount_fen == 3000 and receipt_jobs(shop, str(made.id)) == 1
    assert page.evaluate("sessionStorage.getItem('cm.pending.contribution')") is None
    page.unroute("**/api/v1/contributions")


def test_after_a_server_error_the_same_goods_go_again_with_the_same_id(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    shop.add_product(OIL, "大豆油 5L", 70, qty=0)
    donor = shop.add_member("孙建国")
    log_in(page, shop, "coordinator-dsc", "/donations#goods")
    scan(page, donor["card_number"])
    expect(page.locator("#donor-name")).to_have_text("孙建国")
    scan(page, OIL)
    expect(page.locator("#goods-total")).to_have_text("1 种物品，共 1 件，70 积分")
    posts: list[dict] = []

    def fail_first(route: Route) -> None:
        posts.append(route.request.post_data_json)
        if len(posts) == 1:
            route.fulfill(status=500, json={"error": {"code": "internal_error", "message": "服务器出错",
                                                      "details": {}}})
        else:
            route.continue_()

    page.route("**/api/v1/contributions", fail_first)
    page.click("#goods-submit")
    page.click("#ask-ok")
    expect(page.locator("#goods-message")).to_have_text("服务器出错")
    expect(page.locator("#goods-resend")).to_be_visible()
    expect(page.locator("#goods-lines tbody tr")).to_have_count(1)  # nothing cleared
    assert contributions_of(shop, member_id=donor["member_id"]) == []
    # One more and one less: the same facts again, so the kept request goes again, with its id.
    page.locator(f"#goods-lines tr[data-barcode='{OIL}'] .plus-btn").click()
    page.locator(f"#goods-lines tr[data-barcode='{OIL}'] .minus-btn").click()
    page.click("#goods-submit")
    page.click("#ask-ok")
    expect(page.locator("#result-text")).to_have_text("已记录：孙建国，70 积分待审核")
    assert [p["id"] for p in posts] == [posts[0]["id"]] * 2
    [made] = contributions_of(shop, member_id=donor["member_id"])
    assert str(made.id) == posts[0]["id"] and stock_of(shop, OIL) == 1
    page.unroute("**/api/v1/contributions")


def test_a_goods_donation_scanned_into_lines(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    shop.add_product(OIL, "大豆油 5L", 70, qty=3)
    shop.add_product(RICE, "东北大米 5kg", 35, qty=0)
    shop.add_product(SOAP, "洗衣皂 2块装", 8)
    org = shop.api("manager-dsc").post("/api/v1/organisations", json={  # type: ignore[attr-defined]
        "id": str(uuid.uuid4()), "name": "荣成海洋食品有限公司", "store": "DSC"}).json
    log_in(page, shop, "coordinator-dsc", "/donations")
    expect(page.locator("#org-add")).to_be_hidden()  # registering organisations is a manager's
    page.select_option("#org-select", label="荣成海洋食品有限公司")
    expect(page.locator("#donor-name")).to_have_text("荣成海洋食品有限公司")
    expect(page.locator("#donor-kind")).to_have_text("单位")

    # Scanning goods on the cash form opens the goods form; each scan adds one.
    expect(page.locator("#tab-cash")).to_be_visible()
    scan(page, OIL)
    expect(page.locator("#tab-goods")).to_be_visible()
    scan(page, OIL)
    scan(page, RICE)
    scan(page, SOAP)
    scan(page, NOT_SOLD_HERE)
    expect(page.locator("#scan-message")).to_have_text(f"{NOT_SOLD_HERE}: 未知商品")
    rows = page.locator("#goods-lines tbody tr")
    expect(rows).to_have_count(3)
    oil = page.locator(f"#goods-lines tr[data-barcode='{OIL}']")
    expect(oil.locator(".qty")).to_have_text("2")
    expect(oil.locator(".line-points")).to_have_text("140")
    rice = page.locator(f"#goods-lines tr[data-barcode='{RICE}']")
    rice.locator(".plus-btn").click()
    rice.locator(".plus-btn").click()
    expect(rice.locator(".line-points")).to_have_text("105")
    rice.locator(".minus-btn").click()
    expect(rice.locator(".qty")).to_have_text("2")
    page.locator(f"#goods-lines tr[data-barcode='{SOAP}'] .remove").click()
    expect(rows).to_have_count(2)
    expect(page.locator("#goods-total")).to_have_text("2 种物品，共 4 件，210 积分")
    page.fill("#goods-note", "中秋慰问物资")
    no_small_targets(page)
    screenshot(page, "donations-goods-1280x800")

    page.click("#goods-submit")
    expect(page.locator("#ask .ask-message")).to_have_text(
        "为 荣成海洋食品有限公司 记录物品捐赠 4 件，210 积分待审核？物品即时入库。")
    page.click("#ask-ok")
    expect(page.locator("#result-text")).to_have_text("已记录：荣成海洋食品有限公司，210 积分待审核")
    expect(page.locator("#receipt-status")).to_have_text("已打印")
    expect(rows).to_have_count(0)

    [made] = contributions_of(shop, organisation_id=org["organisation_id"])
    assert (made.kind, made.status, made.points, made.note) == ("donation_goods", "pending", 210, "中秋慰问物资")
    assert [(line.barcode, line.qty, line.points_price) for line in made.lines] == [(OIL, 2, 70), (RICE, 2, 35)]
    assert (stock_of(shop, OIL), stock_of(shop, RICE), stock_of(shop, SOAP)) == (5, 2, 50)  # into stock at once
    assert receipt_jobs(shop, str(made.id)) == 1
    expect(page.locator("#recorded li")).to_contain_text("大豆油 5L × 2、东北大米 5kg × 2")


def test_hand_entered_hours_and_the_daily_cap(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    volunteer = shop.add_member("何秀珍")
    log_in(page, shop, "coordinator-dsc", "/donations#hours")
    expect(page.locator("#tab-hours")).to_be_visible()
    expect(page.locator("#hours-date")).to_have_value(days_ago(0))  # today, unless changed

    # The card is scanned while the focus is in the note: the scanner's keys do not end up in it.
    page.fill("#hours-note", "纸质登记表第 3 页")
    page.click("#hours-note")
    scan(page, volunteer["card_number"])
    expect(page.locator("#donor-name")).to_have_text("何秀珍")
    expect(page.locator("#hours-note")).to_have_value("纸质登记表第 3 页")

    page.fill("#hours-date", days_ago(1))
    page.fill("#hours-start", "09:00")
    page.fill("#hours-h", "2")
    page.fill("#hours-m", "30")
    page.select_option("#hours-category", label="助老服务（每小时 12 积分）")
    expect(page.locator("#hours-preview")).to_have_text("将获得 30 积分（待审核）")
    # More than a day, or a minute count that is not one, is refused before sending.
    page.fill("#hours-h", "25")
    expect(page.locator("#hours-preview")).to_have_text("时长须大于 0 且不超过 24 小时")
    page.click("#hours-submit")
    expect(page.locator("#hours-message")).to_have_text("时长须大于 0 且不超过 24 小时")
    page.fill("#hours-h", "2")
    page.fill("#hours-m", "75")
    expect(page.locator("#hours-preview")).to_have_text("时长须为整数：小时 0–24，分钟 0–59")
    page.fill("#hours-m", "30")
    no_small_targets(page)
    page.click("#hours-submit")
    expect(page.locator("#ask .ask-message")).to_have_text(
        f"为 何秀珍 补录 2 小时 30 分（{days_ago(1)} 09:00 开始），30 积分待审核？")
    page.click("#ask-ok")
    expect(page.locator("#result-text")).to_have_text("已记录：何秀珍，30 积分待审核")
    expect(page.locator("#result-receipt")).to_be_hidden()  # hours have no receipt
    [made] = contributions_of(shop, member_id=volunteer["member_id"])
    assert (made.kind, made.status, made.minutes, made.points, made.category_zh, made.note) == (
        "volunteer_hours", "pending", 150, 30, "助老服务", "纸质登记表第 3 页")
    assert made.started_at == datetime.fromisoformat(f"{days_ago(1)}T09:00:00+08:00")
    # The date, the start and the category stay for the next line of the same sheet.
    expect(page.locator("#hours-date")).to_have_value(days_ago(1))
    expect(page.locator("#hours-h")).to_have_value("")

    # 13 hours in one day: the server refuses with the daily cap; nothing is recorded and nothing is cleared.
    scan(page, volunteer["card_number"])
    page.fill("#hours-date", days_ago(2))
    page.fill("#hours-start", "06:00")
    page.fill("#hours-h", "13")
    page.fill("#hours-m", "0")
    page.click("#hours-submit")
    page.click("#ask-ok")
    message = page.locator("#hours-message")
    expect(message).to_contain_text("超过每人每天 12 小时的上限")
    expect(message).to_contain_text(f"{days_ago(2)} 已记录 0 小时 00 分，本次 13 小时 00 分")
    assert len(contributions_of(shop, member_id=volunteer["member_id"])) == 1
    expect(page.locator("#hours-h")).to_have_value("13")
    expect(page.locator("#donor-name")).to_have_text("何秀珍")
    screenshot(page, "donations-hours-refused-1280x800")

    # Corrected and sent again: recorded, newest first in the session's list.
    page.fill("#hours-h", "3")
    page.click("#hours-submit")
    page.click("#ask-ok")
    expect(page.locator("#result-text")).to_have_text("已记录：何秀珍，36 积分待审核")
    expect(page.locator("#recorded li")).to_have_count(2)
    expect(page.locator("#recorded li").first).to_contain_text("3 小时 0 分钟")
    assert [c.minutes for c in contributions_of(shop, member_id=volunteer["member_id"])] == [150, 180]

    # Portrait: one column, fingertip-sized controls.
    page.set_viewport_size({"width": 800, "height": 1280})
    no_small_targets(page)
    screenshot(page, "donations-hours-800x1280")


def test_in_english_and_not_for_a_clerk(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    member = shop.add_member("林国华")
    log_in(page, shop, "manager-dsc", "/donations")
    expect(page.locator("#org-add")).to_be_visible()
    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("h1")).to_have_text("Donations & records")
    expect(page.locator(".tabs a")).to_have_text(["Cash donation", "Goods donation", "Hand-entered hours"])
    expect(page.locator("#nav a[href='/donations']")).to_have_text("Donations & records")
    scan(page, member["card_number"])
    expect(page.locator("#scan-message")).to_have_text("Recording for: 林国华")
    page.fill("#cash-amount", "1.5.0")
    expect(page.locator("#cash-preview")).to_have_text("The amount must be a number, e.g. 50 or 12.50")
    page.fill("#cash-amount", "12")
    expect(page.locator("#cash-preview")).to_have_text("Will earn 12 points (pending approval)")
    # A manager registers an organisation on the spot.
    page.click("#org-add")
    page.fill("#ask-field", "Dongshan Co-op")
    page.click("#ask-ok")
    expect(page.locator("#donor-name")).to_have_text("Dongshan Co-op")
    expect(page.locator("#donor-kind")).to_have_text("Organisation")
    page.click("#cash-submit")
    page.click("#ask-ok")
    expect(page.locator("#result-text")).to_have_text("Recorded for Dongshan Co-op: 12 points pending approval")
    expect(page.locator("#result-status")).to_have_text("Pending")
    expect(page.locator("#recorded li")).to_contain_text("Donated 12.00 yuan")

    # A clerk has no menu entry, the page says so, and the API refuses them anyway.
    page.click("#logout")
    # The logout navigates to /login; a request of the page answered 401 in that moment sends there too, with ?next=.
    page.wait_for_url(re.compile(r"/login(\?next=[^&]*)?$"))
    log_in(page, shop, "clerk-dsc", "/home")
    expect(page.locator("#nav a[href='/counter']")).to_be_visible()
    expect(page.locator("a[href='/donations']")).to_have_count(2)  # the menu and the home page's tile, both hidden
    for link in page.locator("a[href='/donations']").all():
        expect(link).to_be_hidden()
    page.goto(shop.url + "/donations")
    expect(page.locator("#no-access")).to_be_visible()
    clerk = shop.api("clerk-dsc")
    refused = clerk.post("/api/v1/contributions", json={  # type: ignore[attr-defined]
        "id": str(uuid.uuid4()), "kind": "donation", "card_number": member["card_number"], "amount_fen": 500})
    assert refused.status_code == 403
    assert clerk.post("/api/v1/contributions/quote", json={  # type: ignore[attr-defined]
        "lines": [{"barcode": OIL, "qty": 1}]}).status_code == 403
    assert contributions_of(shop, member_id=member["member_id"]) == []
