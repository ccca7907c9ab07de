"""Members pages in a real browser: register with the consent box, find, a hostile name stays text, reissue a card,
the statement, the card image and the A4 card sheet."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import Shop, log_in, scan
from tests.support import password_for

HOSTILE = "<img src=x onerror=alert(1)>"


def no_script_ran(page, dialogs: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert dialogs == []
    # No element was made from the name: the only images are ones the page itself shows (the card, from blob:).
    assert page.evaluate("[...document.images].filter((i) => !i.src.startsWith('blob:') && i.src !== '').length") == 0


def test_register_a_hostile_name_it_stays_text_everywhere(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    shop.add_product("6920244418529", "大豆油 5L", 70)
    log_in(page, shop, "clerk-dsc", "/members#register")

    page.fill("#reg-name", HOSTILE)
    page.fill("#reg-phone", "１３８００１３８０００")  # full-width digits from a Chinese input method
    page.fill("#reg-household", "DSC-001")
    expect(page.locator("#reg-submit")).to_be_disabled()  # no consent, no registration
    page.check("#reg-consent")
    page.click("#reg-submit")
    expect(page.locator("#reg-done")).to_be_visible()
    card = page.text_content("#reg-card")
    assert card and len(card) == 16
    assert page.text_content("#reg-done-text") == f"{HOSTILE} 登记成功"

    # The list finds the member by the last four digits of the phone, masked for a clerk.
    page.goto(shop.url + "/members#find")
    page.fill("#find-q", "8000")
    page.press("#find-q", "Enter")
    row = page.locator("#find-results tbody tr").first
    expect(row).to_contain_text(HOSTILE)
    expect(row).to_contain_text("138****8000")

    # The member's page, and the counter's member panel after a card scan.
    row.locator("a").click()
    expect(page.locator("#m-name")).to_have_text(HOSTILE)
    page.goto(shop.url + "/counter")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, card)
    expect(page.locator("#member-name")).to_have_text(HOSTILE)
    no_script_ran(page, dialogs)


def test_manager_reissues_a_card_and_reads_the_statement(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    member = shop.add_member("王秀英", points=120, phone="13912345678", household="DSC-007")
    log_in(page, shop, "manager-dsc", f"/members/{member['member_id']}")
    expect(page.locator("#m-name")).to_have_text("王秀英")
    expect(page.locator("#m-phone")).to_have_text("13912345678")  # a manager sees the whole number
    expect(page.locator("#m-balance")).to_have_text("120 积分")
    rows = page.locator("#statement tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("志愿服务")
    expect(rows.first).to_contain_text("+120")

    page.click("#m-card-show")
    expect(page.locator("#m-card-image")).to_be_visible()
    page.wait_for_function("document.getElementById('m-card-image').naturalWidth > 0")

    page.click("#m-reissue")
    page.click("#ask-ok")
    expect(page.locator("#member-message")).to_contain_text("新卡号")
    expect(page.locator("#m-cards tbody tr")).to_have_count(2)
    new_card = page.text_content("#m-card")
    assert new_card != member["card_number"] and new_card in page.text_content("#member-message")
    expect(page.locator("#m-cards")).to_contain_text("已挂失停用")
    assert shop.balance(member["member_id"]) == 120  # the points stay with the member

    # The A4 sheet of cards, in a sandboxed frame.
    page.goto(shop.url + "/members#print")
    page.fill("#sheet-household", "DSC-007")
    page.click("#sheet-form button[type=submit]")
    frame = page.frame_locator("#sheet-frame")
    expect(frame.locator(".card")).to_have_count(1)
    expect(page.locator("#sheet-print")).to_be_enabled()


def test_a_clerk_gets_no_manager_actions(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    member = shop.add_member("李强")
    log_in(page, shop, "clerk-dsc", f"/members/{member['member_id']}")
    expect(page.locator("#m-name")).to_have_text("李强")
    expect(page.locator("#m-phone")).to_have_text("—")
    expect(page.locator("#m-reissue")).to_be_hidden()
    expect(page.locator("#m-card-show")).to_be_hidden()
    page.goto(shop.url + "/stock")
    expect(page.locator("#no-access")).to_be_visible()


def test_the_language_follows_the_user_to_another_tablet(shop: Shop, browser) -> None:  # type: ignore[no-untyped-def]
    first = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = first.new_page()
    log_in(page, shop, "clerk-dsc", "/members")
    expect(page.locator("h1")).to_have_text("会员")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Members")
    first.close()

    other = browser.new_context(viewport={"width": 800, "height": 1280}, locale="zh-CN")  # no cookie here
    page = other.new_page()
    page.goto(shop.url + "/login")
    page.fill("#username", "clerk-dsc")
    page.fill("#password", password_for("clerk-dsc"))
    page.click("button[type=submit]")
    page.wait_for_url("**/home")
    expect(page.locator("#welcome")).to_have_text("Welcome, clerk-dsc")
    other.close()
