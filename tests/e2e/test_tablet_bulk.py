"""Bulk entry of volunteer hours on the check-in page (批量录入) in a real browser: a coordinator opens an activity,
switches to bulk entry, scans a paper sheet's cards (a keyboard-wedge scanner, wherever the focus is) and records
the same hours for everyone at once; all or nothing. What was recorded is checked in the database."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from ledger import earning
from ledger.earning import Contribution
from tests.e2e.conftest import Shop, log_in, scan, screenshot

SHANGHAI = ZoneInfo("Asia/Shanghai")


def yesterday() -> str:
    return (datetime.now(SHANGHAI) - timedelta(days=1)).date().isoformat()


def open_activity(shop: Shop, starts_at: str, title: str = "清扫村道") -> str:
    """This morning's sheet was for yesterday's activity, opened then by another tablet (10 points an hour)."""
    answer = shop.api("coordinator-dsc").post("/api/v1/activities", json={  # type: ignore[attr-defined]
        "id": str(uuid.uuid4()), "title": title, "category": "环境整治", "store": "DSC", "starts_at": starts_at})
    assert answer.status_code == 201, answer.json
    return answer.json["activity_id"]


def hours_at(shop: Shop, activity_id: str) -> list[earning.ContributionView]:
    def read(session):  # type: ignore[no-untyped-def]
        ids = session.scalars(select(Contribution.id).where(Contribution.activity_id == uuid.UUID(activity_id))
                              .order_by(Contribution.recorded_at, Contribution.id))
        return [earning.contribution_view(session, i) for i in ids]

    return shop.uow.read(read)


def choose(page, activity_id: str) -> None:  # type: ignore[no-untyped-def]
    page.select_option("#activity-select", value=activity_id)
    page.click("#activity-open")
    expect(page.locator("body")).to_have_attribute("data-activity", activity_id)


def row(page, card: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#bulk-list tbody tr[data-card='{card}']")


def test_bulk_entry_records_everyone_or_nobody(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    ma = shop.add_member("马桂芳")
    hu = shop.add_member("胡志强")
    guo = shop.add_member("<b>郭</b>")
    he = shop.add_member("何秀珍")
    day = yesterday()
    activity_id = open_activity(shop, f"{day}T08:00:00+08:00")

    log_in(page, shop, "coordinator-dsc", "/checkin")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    choose(page, activity_id)
    expect(page.locator("#tab-inout")).to_be_visible()
    page.click(".tabs a[href='#bulk']")
    expect(page.locator("#tab-bulk")).to_be_visible()
    expect(page.locator("#tab-inout")).to_be_hidden()
    expect(page.locator("#scan")).to_have_attribute("placeholder", "扫描会员卡，加入批量名单")
    # The start is the activity's unless changed.
    expect(page.locator("#bulk-date")).to_have_value(day)
    expect(page.locator("#bulk-start")).to_have_value("08:00")

    # Three cards, one of them twice (the second time while the focus is in the note: nothing ends up in it).
    scan(page, ma["card_number"])
    expect(page.locator("#scan-message")).to_have_text("马桂芳 已加入名单")
    scan(page, hu["card_number"])
    expect(row(page, hu["card_number"])).to_contain_text("胡志强")
    page.click("#bulk-note")
    scan(page, ma["card_number"])
    expect(page.locator("#scan-message")).to_have_text("马桂芳 已在名单中，不重复加入")
    expect(row(page, ma["card_number"])).to_contain_text("已扫描 2 次")
    expect(page.locator("#bulk-note")).to_have_value("")
    scan(page, guo["card_number"])
    expect(page.locator("#bulk-list tbody tr")).to_have_count(3)
    # A card scanned by mistake is taken off again.
    scan(page, he["card_number"])
    expect(page.locator("#bulk-list tbody tr")).to_have_count(4)
    row(page, he["card_number"]).locator("button.remove").click()
    expect(page.locator("#bulk-list tbody tr")).to_have_count(3)
    expect(page.locator("#bulk-list tbody td.user-text")).to_have_text(["马桂芳", "胡志强", "<b>郭</b>"])

    # No duration, none at all, or more than a day: refused before anything is sent.
    page.click("#bulk-submit")
    expect(page.locator("#bulk-message")).to_have_text("请填写时长")
    page.fill("#bulk-h", "0")
    page.fill("#bulk-m", "0")
    expect(page.locator("#bulk-preview")).to_have_text("时长须大于 0 且不超过 24 小时")
    page.click("#bulk-submit")
    expect(page.locator("#bulk-message")).to_have_text("时长须大于 0 且不超过 24 小时")
    page.fill("#bulk-h", "24")
    page.fill("#bulk-m", "1")
    page.click("#bulk-submit")
    expect(page.locator("#bulk-message")).to_have_text("时长须大于 0 且不超过 24 小时")
    expect(page.locator("#ask")).to_have_count(0)
    assert hours_at(shop, activity_id) == []

    page.fill("#bulk-h", "2")
    page.fill("#bulk-m", "")
    expect(page.locator("#bulk-preview")).to_have_text("3 人 × 2 小时 00 分 = 每人 20 积分")
    page.fill("#bulk-note", "纸质签到表第 1 页")
    page.click("#bulk-submit")
    expect(page.locator("#ask .ask-message")).to_have_text(
        f"为 3 人各记录 2 小时 00 分（{day} 08:00 开始），每人 20 积分，共 60 积分待审核？")
    page.click("#ask-ok")
    expect(page.locator("#bulk-result-text")).to_have_text("已为 3 人记录服务时长，共 60 积分待审核")
    expect(page.locator("#bulk-made tbody tr")).to_have_count(3)
    expect(page.locator("#bulk-made tbody tr").first).to_contain_text("待审核")
    expect(page.locator("#bulk-list tbody tr")).to_have_count(0)  # the list is cleared
    expect(page.locator("#bulk-empty")).to_be_visible()
    assert page.locator("#tab-bulk b").count() == 0  # names stay text
    made = hours_at(shop, activity_id)
    note = "纸质签到表第 1 页"
    assert sorted((c.donor_name, c.kind, c.status, c.minutes, c.points, c.note) for c in made) == sorted(
        (name, "volunteer_hours", "pending", 120, 20, note) for name in ("马桂芳", "胡志强", "<b>郭</b>"))
    assert {c.started_at for c in made} == {datetime.fromisoformat(f"{day}T08:00:00+08:00")}
    screenshot(page, "checkin-bulk-done-1280x800")

    # A second sheet from 10:00, 11 hours: 马桂芳 would have 13 hours that day. Refused as a whole, naming her
    # card; nothing is recorded for 何秀珍 either, and nothing is cleared.
    scan(page, ma["card_number"])
    scan(page, he["card_number"])
    expect(page.locator("#bulk-list tbody tr")).to_have_count(2)
    page.fill("#bulk-start", "10:00")
    page.fill("#bulk-h", "11")
    expect(page.locator("#bulk-preview")).to_have_text("2 人 × 11 小时 00 分 = 每人 110 积分")
    page.click("#bulk-submit")
    expect(page.locator("#ask .ask-message")).to_contain_text(f"（{day} 10:00 开始）")
    page.click("#ask-ok")
    message = page.locator("#bulk-message")
    expect(message).to_contain_text("部分会员卡有误，全部未记录")
    expect(message).to_contain_text(f"马桂芳 {ma['card_number']}：超过每人每天 12 小时的上限")
    expect(message).not_to_contain_text("何秀珍")
    expect(row(page, ma["card_number"])).to_have_class("refused")
    expect(row(page, ma["card_number"])).to_contain_text(f"{day} 已记录 2 小时 00 分，本次 11 小时 00 分")
    expect(row(page, he["card_number"])).not_to_have_class("refused")
    expect(page.locator("#bulk-list tbody tr")).to_have_count(2)
    expect(page.locator("#bulk-h")).to_have_value("11")
    expect(page.locator("#bulk-start")).to_have_value("10:00")
    assert len(hours_at(shop, activity_id)) == 3
    assert not [c for c in hours_at(shop, activity_id) if c.donor_name == "何秀珍"]
    screenshot(page, "checkin-bulk-refused-1280x800")

    # Her card taken off, the rest goes through.
    row(page, ma["card_number"]).locator("button.remove").click()
    page.click("#bulk-submit")
    page.click("#ask-ok")
    expect(page.locator("#bulk-result-text")).to_have_text("已为 1 人记录服务时长，共 110 积分待审核")
    late = [c for c in hours_at(shop, activity_id) if c.donor_name == "何秀珍"]
    assert [(c.minutes, c.points, c.status, c.started_at) for c in late] == [
        (660, 110, "pending", datetime.fromisoformat(f"{day}T10:00:00+08:00"))]


def test_a_lost_answer_is_sent_again_with_the_same_id(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    ma = shop.add_member("马桂芳")
    hu = shop.add_member("胡志强")
    activity_id = open_activity(shop, f"{yesterday()}T08:00:00+08:00")
    log_in(page, shop, "coordinator-dsc", "/checkin#bulk")
    choose(page, activity_id)
    expect(page.locator("#tab-bulk")).to_be_visible()
    scan(page, ma["card_number"])
    scan(page, hu["card_number"])
    expect(page.locator("#bulk-list tbody tr")).to_have_count(2)
    page.fill("#bulk-h", "1")
    page.fill("#bulk-m", "30")

    # The server records the entry but its answer never arrives; then the tablet is reloaded.
    sent: list[str] = []

    def lose_answer(route) -> None:  # type: ignore[no-untyped-def]
        sent.append(route.request.post_data_json["id"])
        route.fetch()  # the server did it
        route.abort()  # the answer is lost on the way back

    page.route("**/api/v1/activities/*/bulk", lose_answer)
    page.click("#bulk-submit")
    page.click("#ask-ok")
    expect(page.locator("#net-banner")).to_be_visible()
    assert len(hours_at(shop, activity_id)) == 2
    page.unroute("**/api/v1/activities/*/bulk")
    page.route("**/api/v1/activities/*/bulk",
               lambda route: (sent.append(route.request.post_data_json["id"]), route.continue_()))
    page.reload()
    expect(page.locator("#bulk-result-text")).to_have_text("已为 2 人记录服务时长，共 30 积分待审核")
    expect(page.locator("#bulk-list tbody tr")).to_have_count(0)
    assert len(set(sent)) == 1 and len(sent) >= 2  # the very same request
    made = hours_at(shop, activity_id)
    assert sorted((c.donor_name, c.minutes, c.points) for c in made) == [("胡志强", 90, 15), ("马桂芳", 90, 15)]


def test_bulk_entry_in_english(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    member = shop.add_member("林国华")
    activity_id = open_activity(shop, f"{yesterday()}T08:00:00+08:00", title="Road clean-up")
    log_in(page, shop, "manager-dsc", "/checkin#bulk")
    choose(page, activity_id)
    scan(page, member["card_number"])
    expect(page.locator("#bulk-list tbody tr")).to_have_count(1)
    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator(".tabs a")).to_have_text(["Scan in and out", "Bulk entry"])
    expect(page.locator("#tab-bulk")).to_be_visible()  # the mode and the list survive the switch
    expect(page.locator("#scan")).to_have_attribute("placeholder", "Scan a card to add it to the list")
    expect(page.locator("#bulk-list thead th")).to_have_text(["Name", "Card number", "Status", ""])
    expect(row(page, member["card_number"])).to_contain_text("To submit")
    scan(page, member["card_number"])
    expect(page.locator("#scan-message")).to_have_text("林国华 is on the list already; not added twice")
    expect(row(page, member["card_number"])).to_contain_text("scanned 2 times")
    page.fill("#bulk-h", "25")
    expect(page.locator("#bulk-preview")).to_have_text("Minutes must be above 0 and at most 24 hours")
    page.fill("#bulk-h", "1")
    page.fill("#bulk-m", "30")
    expect(page.locator("#bulk-preview")).to_have_text("1 members × 1 h 30 min = 15 points each")
    expect(page.locator("#bulk-submit")).to_have_text("Submit all")
    page.click("#bulk-submit")
    expect(page.locator("#ask .ask-message")).to_have_text(
        f"Record 1 h 30 min for each of 1 members (from {yesterday()} 08:00): 15 points each, 15 in all, "
        "pending approval?")
    page.click("#ask-ok")
    expect(page.locator("#bulk-result-text")).to_have_text("Hours recorded for 1 members: 15 points pending approval")
    expect(page.locator("#bulk-made tbody tr")).to_contain_text(["Pending"])
    screenshot(page, "checkin-bulk-en-1280x800")
