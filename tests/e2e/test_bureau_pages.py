"""The bureau's pages in a real browser: the books whole, then a row changed behind the ledger's back (its
append-only triggers dropped) and the pages showing which identity fails and the transfer behind it; the
verification run naming the seq; the dashboard's charts and the anomaly flags; a manager's narrower view; every
bureau page and the public notice at 1280×800 and 800×1280 with fingertip-sized controls."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from pos.bureau.periods import SHOP_TZ
from pos.pages_bureau import ROUTES
from tests.e2e.conftest import TARGETS, VIEWPORTS, Shop, log_in, screenshot, shoot
from tests.test_bureau_support import Village, tamper


def village_of(shop: Shop) -> Village:
    village = Village(shop.uow)
    a, b = village.register("DSC", "杨明"), village.register("XHC", "史玉兰")
    village.earn(a, 240)
    village.earn(b, 180)
    village.donate(a, 2000)
    sale = village.sell(a, [("6982606870703", 1)])
    village.sell(b, [("6972449445466", 1)])
    village.void(sale)
    village.sell(a, [("6972449445466", 2)])
    return village


def test_the_pages_show_the_books_whole_then_the_tampering(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    village = village_of(shop)
    log_in(page, shop, "auditor", "/bureau")
    expect(page.locator("#verdict")).to_have_text("全部平衡关系成立")
    expect(page.locator("#identities tbody tr")).to_have_count(6)
    expect(page.locator("#identities .badge-bad")).to_have_count(0)
    expect(page.locator("#shops tbody tr")).to_have_count(2)
    expect(page.locator("#notices a").first).to_have_attribute("href", "/notice/DSC?from=" + page.locator(
        "#notices a").first.get_attribute("href").split("from=")[1])

    last = village.sales[-1]
    tamper(shop.app.extensions["creditmart.db"].engine,
           "UPDATE ledger_transfers SET amount = amount + 5 WHERE seq = :seq", seq=last.seq)
    page.click("#filter-apply")
    expect(page.locator("#verdict")).to_have_text("有平衡关系不成立，请查看相关转账")
    flows = page.locator('#identities tr[data-identity="flows"]')
    expect(flows).to_contain_text("不成立")
    expect(flows.locator("a.transfers-link")).to_have_text("1 笔转账")
    expect(page.locator('#shops tr[data-shop="DSC"]')).to_have_class("bad-row")
    screenshot(page, "bureau-reconciliation-tampered")
    flows.locator("a.transfers-link").click()
    page.wait_for_url(f"**/bureau-transfers?seq={last.seq}")
    row = page.locator(f'#transfers tr[data-seq="{last.seq}"]')
    expect(row).to_contain_text("兑换")
    expect(row).to_contain_text(str(last.points + 5))
    screenshot(page, "bureau-transfers-behind")

    page.goto(shop.url + "/bureau-verify")
    page.click("#verify-start")
    expect(page.locator("#verify-verdict")).to_contain_text("账本校验未通过")
    problem = page.locator("#verify-problems tbody tr").first
    expect(problem).to_contain_text(str(last.seq))
    expect(problem).to_contain_text("哈希不符")
    expect(page.locator("#head-seq")).to_have_text("7")
    screenshot(page, "bureau-verify-failed")


def test_verification_checkpoints_dashboard_and_anomalies(shop: Shop, page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    shop.app.config["BUREAU_KEY_FILE"] = str(tmp_path / "bureau.pem")
    village_of(shop)
    log_in(page, shop, "auditor", "/bureau-verify")
    page.click("#verify-start")
    expect(page.locator("#verify-verdict")).to_have_text("账本完整：哈希链与全部余额校验通过")
    expect(page.locator("#head-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    page.click("#cp-sign")
    expect(page.locator("#cp-status")).to_have_text("已签署检查点：seq 7")
    expect(page.locator("#checkpoints tbody tr")).to_have_count(1)
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    with page.expect_download() as download:
        page.click("#export-ndjson")
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["format"] == "creditmart-ledger-export" and len(lines) == 7 + 2
    with page.expect_download() as download:
        page.click("#checkpoints tbody tr button")
    assert json.loads(Path(download.value.path()).read_text(encoding="utf-8"))["seq"] == 7

    page.goto(shop.url + "/bureau-dashboard")
    for chart in ("monthly", "categories", "stock"):
        page.wait_for_function(f"document.getElementById('chart-{chart}').naturalWidth > 0")
    expect(page.locator("#shop-charts img")).to_have_count(2)
    expect(page.locator("#stock tbody tr")).to_have_count(2)

    # Opening hours that exclude this very moment: every sale was made "after hours".
    now = datetime.now(SHOP_TZ)
    hours = f"{(now + timedelta(hours=1)):%H}:00-{(now + timedelta(hours=2)):%H}:00"
    page.goto(shop.url + f"/bureau-anomalies?hours={hours}")
    expect(page.locator("#flags tbody tr[data-kind=after_hours]")).to_have_count(2)
    expect(page.locator("#filter-hours")).to_have_value(hours)


def test_a_manager_sees_their_own_shop_and_no_verification(shop: Shop, page) -> None:  # type: ignore[no-untyped-def]
    village_of(shop)
    log_in(page, shop, "manager-dsc", "/bureau")
    expect(page.locator("#verdict")).to_have_text("全部平衡关系成立")
    expect(page.locator("#shops tbody tr")).to_have_count(1)
    expect(page.locator("#filter-store option")).to_have_count(1)
    expect(page.locator('.nav-link[href="/bureau-verify"]')).to_be_hidden()
    expect(page.locator('.nav-link[href="/bureau"]')).to_be_visible()
    page.goto(shop.url + "/bureau-verify")
    expect(page.locator("#no-access")).to_be_visible()


# On the bureau's pages, every link is one to touch too: the transfers behind a figure, a shop's notice.
BUREAU_TARGETS = TARGETS + ", .bureau a"


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_every_bureau_page_and_the_notice_at_both_orientations(shop: Shop, page, tmp_path,  # type: ignore[no-untyped-def]
                                                                size: str) -> None:
    width, height = VIEWPORTS[size]
    page.set_viewport_size({"width": width, "height": height})
    shop.app.config["BUREAU_KEY_FILE"] = str(tmp_path / "bureau.pem")
    village = village_of(shop)
    shot = set()

    log_in(page, shop, "auditor", "/bureau")
    expect(page.locator("#verdict")).to_have_text("全部平衡关系成立")
    expect(page.locator("#notices a")).not_to_have_count(0)
    notice = page.locator('#notices a[href^="/notice/DSC?"]').last.get_attribute("href")  # this quarter
    shoot(page, "bureau", size, BUREAU_TARGETS)
    shot.add("bureau")

    page.goto(shop.url + "/bureau-dashboard")
    for chart in ("monthly", "categories", "stock"):
        page.wait_for_function(f"document.getElementById('chart-{chart}').naturalWidth > 0")
    expect(page.locator("#shop-charts img")).to_have_count(2)
    shoot(page, "bureau-dashboard", size, BUREAU_TARGETS)
    shot.add("bureau-dashboard")

    # Opening hours that exclude this very moment: flags whose transfers are links to touch.
    now = datetime.now(SHOP_TZ)
    hours = f"{(now + timedelta(hours=1)):%H}:00-{(now + timedelta(hours=2)):%H}:00"
    page.goto(shop.url + f"/bureau-anomalies?hours={hours}")
    expect(page.locator("#flags tbody tr[data-kind=after_hours] a.transfers-link")).to_have_count(2)
    shoot(page, "bureau-anomalies", size, BUREAU_TARGETS)
    shot.add("bureau-anomalies")

    page.goto(shop.url + "/bureau-verify")
    page.click("#verify-start")
    expect(page.locator("#verify-verdict")).to_have_text("账本完整：哈希链与全部余额校验通过")
    page.click("#cp-sign")
    expect(page.locator("#checkpoints tbody tr button")).to_have_count(1)
    shoot(page, "bureau-verify", size, BUREAU_TARGETS)
    shot.add("bureau-verify")

    seqs = ",".join(str(seq) for seq in range(1, 8))
    page.goto(shop.url + f"/bureau-transfers?seq={seqs}")
    expect(page.locator("#transfers tbody tr")).to_have_count(7)
    shoot(page, "bureau-transfers", size, BUREAU_TARGETS)
    shot.add("bureau-transfers")
    assert shot == set(ROUTES), "a bureau page is missing from the screenshots"

    # The public notice: no login, nothing to touch, and a print layout (A4) kept for the village board.
    page.context.clear_cookies()
    page.goto(shop.url + notice)
    assert parse_qs(urlsplit(notice).query)["from"]
    expect(page.locator("h1")).to_have_text("积分公示")
    expect(page.locator("tbody tr")).to_have_count(sum(1 for _, _, store in village.issues if store == "DSC"))
    shoot(page, "notice", size, TARGETS + ", a")
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.body).paddingTop") == "0px"  # the print rules apply
    page.emulate_media(media="screen")
