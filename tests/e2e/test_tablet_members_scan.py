"""A member card scanned on the members pages, in a real browser: a keyboard-wedge scanner (fast keys and Enter)
wherever the focus is opens that member's page; a blocked, unknown, other shop's card or a goods barcode says why
not; the field that had the focus keeps what a person typed there, and a person typing by hand (a phone, a name,
a card number) is left alone: the find box searches, the registration form registers."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from stdnum import damm

from tests.e2e.conftest import Shop, android_scan, log_in, scan

OIL = "6920244418529"
UNISSUED = "858126413663372"  # 15 digits; with its Damm check digit a card number no member was given
UNISSUED += damm.calc_check_digit(UNISSUED)


def reissue(shop: Shop, member_id: str) -> str:
    """The member reported the card lost and got a new one (as a manager's reissue does): the new number."""
    from ledger.members import reissue_card

    return shop.uow.run(lambda session: reissue_card(session, member_id, "manager-dsc").card_number)


def member_page(shop: Shop, member: dict[str, str]) -> re.Pattern[str]:
    return re.compile(re.escape(f"{shop.url}/members/{member['member_id']}") + "$")


def test_a_card_scanned_on_the_members_page_opens_the_member(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    wang = shop.add_member("王秀英", points=120)
    li = shop.add_member("李强", points=30)
    log_in(page, shop, "clerk-dsc", "/members")
    expect(page.locator("#find-q")).to_be_focused()
    expect(page.locator("#find-results tbody tr")).to_have_count(2)  # the list is there before the scan
    scan(page, wang["card_number"])
    page.wait_for_url(member_page(shop, wang))
    expect(page.locator("#m-name")).to_have_text("王秀英")
    expect(page.locator("#m-balance")).to_have_text("120 积分")

    # On a member's page (no field at all, nothing focused): another member's card opens that member; the card of
    # the member already open says so and stays.
    scan(page, li["card_number"])
    page.wait_for_url(member_page(shop, li))
    expect(page.locator("#m-name")).to_have_text("李强")
    scan(page, li["card_number"])
    expect(page.locator("#member-message")).to_have_text("这是 李强 的会员卡")
    assert page.url.endswith(li["member_id"])


def test_a_scan_into_the_registration_form_is_not_typed_there(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    wang = shop.add_member("王秀英")
    log_in(page, shop, "clerk-dsc", "/members#register")
    name = page.locator("#reg-name")
    expect(name).to_be_focused()
    page.keyboard.type("Zhang Wei", delay=120)  # a person typing the name
    page.evaluate("document.getElementById('reg-name').setSelectionRange(5, 5)")  # the caret after "Zhang"

    # A card nobody was given, scanned with the name field focused: said, and the name is as the person typed it.
    scan(page, UNISSUED)
    expect(page.locator("#scan-message")).to_have_text(f"未知会员卡 {UNISSUED}：没有发过这张卡")
    expect(name).to_have_value("Zhang Wei")
    expect(name).to_be_focused()
    assert page.evaluate("document.getElementById('reg-name').selectionStart") == 5
    expect(page.locator("#reg-message")).to_be_hidden()  # the scan's Enter did not submit the form

    # A goods barcode is not a member card; the phone field keeps its number.
    page.click("#reg-phone")
    page.keyboard.type("1391", delay=120)
    android_scan(page, OIL)
    expect(page.locator("#scan-message")).to_have_text(f"{OIL} 不是会员卡，是商品条码")
    expect(page.locator("#reg-phone")).to_have_value("1391")
    expect(name).to_have_value("Zhang Wei")

    # A member's card, with the name field focused: that member's page opens.
    name.focus()
    scan(page, wang["card_number"])
    page.wait_for_url(member_page(shop, wang))
    expect(page.locator("#m-name")).to_have_text("王秀英")


def test_a_reissued_card_says_a_newer_card_exists(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    wang = shop.add_member("王秀英", points=120)
    new_card = reissue(shop, wang["member_id"])
    other_shop = shop.add_member("赵敏", code="XHC")
    log_in(page, shop, "manager-dsc", "/members")
    expect(page.locator("#find-q")).to_be_focused()
    page.keyboard.type("Wang", delay=120)  # a search being typed when the old card is scanned

    scan(page, wang["card_number"])
    message = page.locator("#scan-message")
    expect(message).to_have_text("该卡已挂失停用：王秀英 已补办新卡，请使用新卡")
    assert new_card not in message.text_content()  # the new number is not told to whoever holds the old card
    expect(page.locator("#find-q")).to_have_value("Wang")
    assert page.url == f"{shop.url}/members"

    # Another shop's member: refused before anything else about the card is said.
    scan(page, other_shop["card_number"])
    expect(message).to_have_text("这是其他网点的会员卡，本店无权查看")
    assert "赵敏" not in message.text_content()

    # The same in English.
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Members")
    expect(page.locator("#find-q")).to_be_focused()
    scan(page, wang["card_number"])
    expect(message).to_have_text("This card is blocked: 王秀英 has a newer card; please use the new one")
    scan(page, UNISSUED)
    expect(message).to_have_text(f"Unknown card {UNISSUED}: no such card was issued")

    # The new card opens the member.
    scan(page, new_card)
    page.wait_for_url(member_page(shop, wang))
    expect(page.locator("#m-card")).to_have_text(new_card)


def test_typing_by_hand_still_finds_and_registers(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    wang = shop.add_member("王秀英", phone="13912345678")
    shop.add_member("李强", phone="13800001111")
    log_in(page, shop, "clerk-dsc", "/members")
    find = page.locator("#find-q")
    expect(find).to_be_focused()
    rows = page.locator("#find-results tbody tr")
    expect(rows).to_have_count(2)

    # The last four digits of a phone, typed at a person's pace, then Enter: a search.
    page.keyboard.type("5678", delay=150)
    page.keyboard.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("王秀英")
    expect(find).to_have_value("5678")
    # A whole phone number put in at once (an input method's suggestion, a test's fill) and Enter: still a search.
    find.fill("13800001111")
    find.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("李强")
    expect(page.locator("#scan-message")).to_be_hidden()
    # A card number typed by hand is what the person typed: searched for, not opened.
    find.fill("")
    page.keyboard.type(wang["card_number"], delay=120)
    page.keyboard.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("王秀英")
    assert page.url == f"{shop.url}/members"

    # The registration form, typed by hand, Enter in the last field: registered.
    page.click("a[href='#register']")
    expect(page.locator("#reg-name")).to_be_focused()
    page.keyboard.type("Liu Fang", delay=120)
    page.click("#reg-phone")
    page.keyboard.type("13700002222", delay=120)
    page.check("#reg-consent")
    page.click("#reg-household")
    page.keyboard.type("DSC-9", delay=120)
    page.keyboard.press("Enter")
    expect(page.locator("#reg-done")).to_be_visible()
    expect(page.locator("#reg-done-text")).to_have_text("Liu Fang 登记成功")
    expect(page.locator("#scan-message")).to_be_hidden()
