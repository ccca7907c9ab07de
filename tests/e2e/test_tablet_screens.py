"""Every tablet page at 1280×800 (landscape) and 800×1280 (portrait), saved to test-artifacts/ for a person to look
at; and on each, every button, link and field a finger may need is at least 44 px tall."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import VIEWPORTS, Shop, log_in, scan, shoot


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_every_page_at_both_orientations(shop: Shop, page, size: str) -> None:  # type: ignore[no-untyped-def]
    width, height = VIEWPORTS[size]
    page.set_viewport_size({"width": width, "height": height})
    shop.add_product("6920244418529", "大豆油 5L", 70, qty=3, reorder_level=5)
    shop.add_product("6982606870703", "东北大米 5kg", 35)
    shop.add_product("6901234567892", "洗衣皂 2块装", 8)
    member = shop.add_member("张桂兰", points=260, phone="13812345678", household="DSC-012")
    volunteer = shop.add_member("黄美玲")
    # A volunteer activity under way (opened, one member in) and a donation waiting for approval.
    coordinator = shop.api("coordinator-dsc")
    started = datetime.now(UTC) - timedelta(minutes=95)
    activity = coordinator.post("/api/v1/activities", json={  # type: ignore[attr-defined]
        "id": str(uuid.uuid4()), "title": "村史馆讲解", "category": "文明宣讲", "store": "DSC",
        "starts_at": started.isoformat()}).json["activity_id"]
    assert coordinator.post(f"/api/v1/activities/{activity}/attendance", json={  # type: ignore[attr-defined]
        "id": str(uuid.uuid4()), "card_number": volunteer["card_number"], "action": "in",
        "at": started.isoformat()}).status_code == 201
    assert coordinator.post("/api/v1/contributions", json={  # type: ignore[attr-defined]
        "id": str(uuid.uuid4()), "kind": "donation", "card_number": member["card_number"],
        "amount_fen": 2000}).status_code == 201

    page.goto(shop.url + "/login")
    expect(page.locator("#username")).to_be_visible()
    shoot(page, "login", size)

    log_in(page, shop, "manager-dsc")
    expect(page.locator("#welcome")).not_to_be_empty()
    shoot(page, "home", size)

    page.goto(shop.url + "/counter")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, member["card_number"])
    expect(page.locator("#member-name")).to_have_text("张桂兰")
    for code in ("6920244418529", "6982606870703", "6901234567892", "6901234567892"):
        scan(page, code)
    expect(page.locator("#lines tbody tr")).to_have_count(3)
    shoot(page, "counter", size)

    page.goto(shop.url + "/checkin")
    page.select_option("#activity-select", value=activity)
    page.click("#activity-open")
    expect(page.locator("#present tbody tr")).to_have_count(1)
    shoot(page, "checkin", size)

    page.goto(shop.url + "/approvals")
    expect(page.locator(".contribution")).to_have_count(1)
    shoot(page, "approvals", size)

    page.goto(shop.url + "/donations#goods")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, volunteer["card_number"])
    expect(page.locator("#donor-name")).to_have_text("黄美玲")
    scan(page, "6920244418529")
    scan(page, "6982606870703")
    expect(page.locator("#goods-lines tbody tr")).to_have_count(2)
    shoot(page, "donations", size)

    page.goto(shop.url + "/members#find")
    expect(page.locator("#find-results tbody tr")).to_have_count(2)
    shoot(page, "members-find", size)
    page.goto(shop.url + "/members#register")
    expect(page.locator("#reg-name")).to_be_visible()
    shoot(page, "members-register", size)
    page.goto(shop.url + "/members#print")
    page.click("#sheet-form button[type=submit]")
    expect(page.frame_locator("#sheet-frame").locator(".card")).to_have_count(2)
    shoot(page, "members-print", size)
    page.goto(shop.url + f"/members/{member['member_id']}")
    expect(page.locator("#statement tbody tr")).to_have_count(1)
    shoot(page, "member", size)

    page.goto(shop.url + "/stock#receive")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, "6920244418529")
    scan(page, "6920244418529")
    scan(page, "6982606870703")
    expect(page.locator("#receive-lines tbody tr")).to_have_count(2)
    shoot(page, "stock-receive", size)
    page.goto(shop.url + "/stock#stocktake")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, "6901234567892")
    expect(page.locator("#count-lines tbody tr")).to_have_count(1)
    shoot(page, "stock-stocktake", size)
    page.goto(shop.url + "/stock#low")
    expect(page.locator("#low-list tbody tr")).to_have_count(1)
    shoot(page, "stock-low", size)
