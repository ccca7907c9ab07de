"""Volunteer check-in (签到) and approvals (审核) in a real browser. What another tablet did earlier (an activity
opened this morning, members checked in two hours ago) is arranged through the HTTP API; the page does the rest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import Shop, log_in, scan, screenshot


def iso(moment: datetime) -> str:
    return moment.isoformat()


def test_check_in_and_out_and_submit(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    early = shop.add_member("马桂芳")
    late = shop.add_member("胡志强")
    newcomer = shop.add_member("<b>郭</b>")
    coordinator = shop.api("coordinator-dsc")
    now = datetime.now(UTC)
    opened = coordinator.post("/api/v1/activities", json={  # type: ignore[attr-defined]
        "id": str(uuid.uuid4()), "title": "清扫村道", "category": "环境整治", "store": "DSC",
        "starts_at": iso(now - timedelta(hours=3))})
    assert opened.status_code == 201, opened.json
    activity_id = opened.json["activity_id"]
    for member in (early, late):
        answer = coordinator.post(f"/api/v1/activities/{activity_id}/attendance", json={  # type: ignore[attr-defined]
            "id": str(uuid.uuid4()), "card_number": member["card_number"], "action": "in",
            "at": iso(now - timedelta(hours=2))})
        assert answer.status_code == 201, answer.json

    log_in(page, shop, "coordinator-dsc", "/checkin")
    # A new activity from the page: it opens at once.
    page.fill("#na-title", "敬老院探访")
    page.select_option("#na-category", label="助老服务（每小时 12 积分）")
    page.click("#new-activity button[type=submit]")
    expect(page.locator("#act-title")).to_have_text("敬老院探访")
    expect(page.locator("#present-empty")).to_be_visible()
    screenshot(page, "checkin-new-1280x800")

    # Back to this morning's activity, chosen from the list.
    page.click("#act-change")
    page.select_option("#activity-select", value=activity_id)
    page.click("#activity-open")
    expect(page.locator("#act-title")).to_have_text("清扫村道")
    expect(page.locator("#present-title")).to_have_text("在场 2 人")
    expect(page.locator("#present tbody tr").first).to_contain_text("2 小时 0")
    expect(page.locator("#camera")).to_be_hidden()

    scan(page, newcomer["card_number"])  # in
    expect(page.locator("#scan-message")).to_have_text("<b>郭</b> 签到成功")
    expect(page.locator("#present-title")).to_have_text("在场 3 人")
    scan(page, early["card_number"])  # out, two hours: 20 points at 10 an hour
    expect(page.locator("#scan-message")).to_have_text("马桂芳 签退：2 小时 00 分，20 积分待审核")
    expect(page.locator("#done tbody tr")).to_have_count(1)
    screenshot(page, "checkin-1280x800")

    # Submit: everyone still here is checked out. The newcomer's few seconds are refused by the server (no time
    # to credit) and stay on the list, with the reason shown.
    page.click("#submit")
    page.click("#ask-ok")
    expect(page.locator("#done tbody tr")).to_have_count(2)
    expect(page.locator("#scan-message")).to_contain_text("时长须大于 0")
    expect(page.locator("#present tbody tr")).to_have_count(1)
    expect(page.locator("#summary")).to_have_text("已签退 2 人，共 4 小时 00 分，40 积分待审核")
    assert page.locator("b").count() == 0  # the newcomer's name stayed text

    # Pending points show at the counter's card lookup.
    card = shop.api("clerk-dsc").get(f"/api/v1/cards/{early['card_number']}").json  # type: ignore[attr-defined]
    assert (card["balance"], card["pending_points"]) == (0, 20)


def test_manager_approves_and_rejects(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    worker = shop.add_member("何秀珍")
    donor = shop.add_member("林国华")

    def record(username: str, body: dict) -> str:
        answer = shop.api(username).post("/api/v1/contributions", json={"id": str(uuid.uuid4()), **body})  # type: ignore[attr-defined]
        assert answer.status_code == 201, answer.json
        return answer.json["contribution_id"]

    hours = record("coordinator-dsc", {"kind": "volunteer_hours", "card_number": worker["card_number"], "minutes": 90,
                                       "category": "环境整治", "note": "清理河道垃圾"})
    cash = record("coordinator-dsc", {"kind": "donation", "card_number": donor["card_number"], "amount_fen": 5000})
    own = record("manager-dsc", {"kind": "volunteer_hours", "card_number": donor["card_number"], "minutes": 60,
                                 "category": "环境整治"})

    log_in(page, shop, "manager-dsc", "/approvals")
    expect(page.locator(".contribution")).to_have_count(3)
    expect(page.locator("#summary")).to_have_text("待审核 3 条，共 75 积分")  # 15 + 50 + 10
    mine = page.locator(f".contribution[data-id='{own}']")
    expect(mine.locator(".approve")).to_be_disabled()  # nobody approves their own record
    expect(mine).to_contain_text("不能审核自己录入的记录")
    screenshot(page, "approvals-1280x800")

    page.locator(f".contribution[data-id='{hours}'] .approve").click()
    expect(page.locator(f".contribution[data-id='{hours}'] [role=status]")).to_have_text("已批准，15 积分已入账")
    page.locator(f".contribution[data-id='{cash}'] .reject").click()
    page.fill("#ask-field", "未见捐款收据")
    page.click("#ask-ok")
    expect(page.locator(f".contribution[data-id='{cash}'] [role=status]")).to_have_text("已驳回：未见捐款收据")
    expect(page.locator("#summary")).to_have_text("待审核 1 条，共 10 积分")
    assert shop.balance(worker["member_id"]) == 15
    assert shop.balance(donor["member_id"]) == 0

    page.click("#refresh")
    expect(page.locator(".contribution")).to_have_count(1)
