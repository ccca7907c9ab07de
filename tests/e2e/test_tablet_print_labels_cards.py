"""Shelf labels and member cards from the tablet to the shop's receipt printer (小票机), in a real browser: the
button queues the job, the print worker sends it to the fake printer, the preview shows it with names as text."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import Shop, log_in, scan
from tests.escpos_decoder import _job_data, decode

HOSTILE = "<img src=x onerror=alert(1)>"
OIL = "6920244418529"


def squeezed(text: str) -> str:
    return "".join(text.split())


def test_a_clerk_prints_a_members_card_and_previews_it(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    member = shop.add_member(HOSTILE, household="DSC-007")
    log_in(page, shop, "clerk-dsc", f"/members/{member['member_id']}")
    expect(page.locator("#m-card-show")).to_be_hidden()  # the card image is the manager's; the printer is not
    page.click("#m-card-thermal")
    expect(page.locator("#member-message")).to_contain_text(f"{HOSTILE} 的会员卡已加入打印队列")
    [job] = shop.printer.wait_for_jobs(1)
    printed = decode(_job_data(job))
    assert squeezed(HOSTILE) in squeezed(printed.text) and printed.find(member["card_number"])  # wrapped on paper

    page.click("#member-message .print-preview-open")
    frame = page.frame_locator("#print-preview iframe")
    expect(frame.locator("figure")).to_contain_text("会员卡 MEMBER CARD")
    expect(frame.locator("figure")).to_contain_text(member["card_number"])
    assert squeezed(HOSTILE) in squeezed(frame.locator("figure").inner_text())  # as text
    expect(frame.locator("img[src^='x']")).to_have_count(0)
    page.click("#print-preview button")
    expect(page.locator("#print-preview")).to_be_hidden()
    assert dialogs == []


def test_a_manager_prints_a_shelf_label_while_receiving(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    shop.add_product(OIL, "大豆油 5L", 70, qty=3)
    log_in(page, shop, "manager-dsc", "/stock#receive")
    expect(page.locator("#scan")).to_be_focused()
    scan(page, OIL)
    page.click(f"#receive-lines tbody tr:has-text('{OIL}') .label-print")
    expect(page.locator("#scan-message")).to_contain_text("大豆油 5L 的货架标签已加入打印队列")
    [job] = shop.printer.wait_for_jobs(1)
    label = decode(_job_data(job))
    assert label.find("大豆油 5L") and label.find("70积分") and label.find(OIL)

    page.click("#scan-message .print-preview-open")
    expect(page.locator("#print-preview iframe")).to_be_visible()
    expect(page.frame_locator("#print-preview iframe").locator("figure")).to_contain_text(OIL)
