"""The bureau's HTTP API on SQLite and PostgreSQL: the reconciliation's shape and shop rules, its Excel and CSV
exports against its JSON, tampering found by the reports and by a verification run, the anomaly flags, the
dashboard and its charts, the transfers behind, the plain-text journal."""

from __future__ import annotations

import csv
import io
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

from core.db import UnitOfWork, make_engine
from pos.bureau.periods import SHOP_TZ
from tests.support import Api
from tests.test_bureau_support import Village, tamper

R = "/api/v1/reports"


@pytest.fixture
def village(uow: UnitOfWork) -> Village:
    """Two members in DSC and one in XHC with hours, a donation, sales and a void."""
    v = Village(uow)
    a, b, c = v.register("DSC", "杨明"), v.register("DSC", "韩丽"), v.register("XHC", "史玉兰")
    v.earn(a, 240)  # 40
    v.earn(b, 120)  # 20
    v.earn(c, 360)  # 60
    v.donate(a, 5000)  # 50
    v.sell(a, [("6982606870703", 1), ("6972449445466", 1)])  # 60
    sale = v.sell(c, [("6972449445466", 2)])  # 50
    v.void(sale)
    v.sell(c, [("6972449445466", 1)])  # 25
    return v


def get(api: Api, user: str, path: str) -> Any:
    return api.as_(user).get(path)


def tables(sheet: Any) -> list[list[tuple[Any, ...]]]:
    """A sheet's tables: its blocks of rows between blank rows, after the first block (the title lines); each a
    header row and its value rows, without the empty cells at the right."""
    blocks: list[list[tuple[Any, ...]]] = [[]]
    for row in sheet.iter_rows(values_only=True):
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        if cells:
            blocks[-1].append(tuple(cells))
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks[1:] if b]


def workbook(api: Api, user: str, path: str, body: dict[str, Any]) -> Any:
    """The export at path, opened with openpyxl: a summary sheet, then a sheet for each of the JSON's shops."""
    answer = get(api, user, path)
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in answer.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames[0] == "汇总" and len(book.sheetnames) == 1 + len(body["stores"])
    return book


def shop_sheet(book: Any, code: str) -> Any:
    (name,) = [n for n in book.sheetnames[1:] if n.split(" ")[0] == code]
    return book[name]


def test_the_reconciliation_answers_in_the_contract_shape(api: Api, village: Village) -> None:
    answer = get(api, "auditor", f"{R}/reconciliation")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["issued"] == {"volunteer_hours": 120, "donation": 50, "total": 170}
    assert (body["redeemed"], body["reversed"], body["outstanding"], body["members_balance_total"]) == (135, 50, 85, 85)
    assert body["ok"] and {s["store"] for s in body["stores"]} == {"DSC", "XHC"}
    names = [i["name"] for i in body["identities"]]
    assert names == ["flows", "cached_balances", "issued_contributions", "zero_sum", "redeemed_lines",
                     "redeemed_stock"]
    for identity in body["identities"]:
        assert set(identity) >= {"name", "ok", "left", "right", "transfers"} and identity["ok"]
    dsc = next(s for s in body["stores"] if s["store"] == "DSC")
    assert (dsc["issued"]["total"], dsc["redeemed"], dsc["outstanding"]) == (110, 60, 50)


def test_shops_repeat_or_come_comma_separated_and_a_manager_reads_only_their_own(api: Api, village: Village) -> None:
    repeated = get(api, "auditor", f"{R}/reconciliation?store=DSC&store=XHC").get_json()
    joined = get(api, "auditor", f"{R}/reconciliation?store=dsc,%20XHC").get_json()
    assert repeated["stores_selected"] == joined["stores_selected"] == ["DSC", "XHC"]
    assert repeated["outstanding"] == joined["outstanding"] == 85
    own = get(api, "manager-dsc", f"{R}/reconciliation").get_json()
    assert own["stores_selected"] == ["DSC"] and own["outstanding"] == 50
    for path in ("?store=XHC", "?store=DSC,XHC", "?store=DSC&store=XHC"):
        assert get(api, "manager-dsc", f"{R}/reconciliation{path}").status_code == 403
    for path, field in (("?store=NOPE", "store"), ("?from=yesterday", "from"), ("?from=2025-02-01&to=2025-01-01", "to"),
                        ("?store=<b>", "store")):
        answer = get(api, "auditor", f"{R}/reconciliation{path}")
        assert answer.status_code == 400, path
        assert field in answer.get_json()["error"]["details"], path
    assert get(api, "clerk-dsc", f"{R}/reconciliation").status_code == 403


def test_a_period_of_days_counts_what_happened_in_it(api: Api, village: Village) -> None:
    today = village.now().astimezone(SHOP_TZ).date()
    before = get(api, "auditor", f"{R}/reconciliation?to={today - timedelta(days=1)}").get_json()
    assert (before["issued"]["total"], before["outstanding"], before["period"]["to_seq"]) == (0, 0, 0)
    day = get(api, "auditor", f"{R}/reconciliation?from={today}&to={today}").get_json()
    assert day["issued"]["total"] == 170 and day["outstanding_start"] == 0 and day["outstanding"] == 85


def test_the_workbook_opens_and_its_totals_equal_the_json(api: Api, village: Village) -> None:
    body = get(api, "auditor", f"{R}/reconciliation").get_json()
    answer = get(api, "auditor", f"{R}/reconciliation.xlsx")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in answer.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames[0] == "汇总" and len(book.sheetnames) == 1 + len(body["stores"])

    def figures(sheet: Any) -> dict[str, Any]:
        return {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row and isinstance(row[1], int)}

    summary = figures(book["汇总"])
    assert summary["发放：志愿服务"] == body["issued"]["volunteer_hours"]
    assert summary["发放合计"] == body["issued"]["total"]
    assert summary["兑换"] == body["redeemed"]
    assert summary["冲正金额"] == body["reversed"]
    assert summary["期末会员积分余额"] == body["outstanding"]
    assert summary["会员账户余额合计（现在）"] == body["members_balance_total"]
    for shop in body["stores"]:
        sheet = next(book[name] for name in book.sheetnames if name.startswith(shop["store"]))
        got = figures(sheet)
        assert (got["发放合计"], got["兑换"], got["期末会员积分余额"]) == (
            shop["issued"]["total"], shop["redeemed"], shop["outstanding"])
    assert sum(figures(book[n])["期末会员积分余额"] for n in book.sheetnames[1:]) == body["outstanding"]

    answer = get(api, "auditor", f"{R}/reconciliation.csv")
    assert answer.status_code == 200 and answer.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    header, *lines = rows
    assert header[:3] == ["门店", "门店名称", "发放：志愿服务"]
    total = next(r for r in lines if r[0] == "合计")
    assert int(total[header.index("期末会员积分余额")]) == body["outstanding"]
    assert int(total[header.index("兑换")]) == body["redeemed"]
    english = api.as_("auditor").get(f"{R}/reconciliation.csv", headers={"Accept-Language": "en"})
    assert english.data.decode("utf-8-sig").startswith("Shop,Shop name,Issued: volunteer hours")


def wait_for_run(api: Api, run_id: str) -> dict[str, Any]:
    for _ in range(600):
        run = get(api, "auditor", f"{R}/verify-runs/{run_id}").get_json()
        if run["status"] != "running":
            return run
        time.sleep(0.05)
    raise AssertionError("the verification run did not finish")


def test_tampering_is_found_by_the_reports_and_by_a_verification_run(api: Api, app: Flask, village: Village,
                                                                     db_url: str, tmp_path: Any) -> None:
    app.config["BUREAU_KEY_FILE"] = str(tmp_path / "bureau.pem")
    run_id = str(uuid.uuid4())
    started = api.as_("auditor").post(f"{R}/verify-runs", json={"id": run_id})
    assert started.status_code == 202 and started.get_json()["id"] == run_id
    run = wait_for_run(api, run_id)
    assert run["status"] == "ok" and run["head"]["seq"] == 8 and run["progress"] == 1.0
    replay = api.as_("auditor").post(f"{R}/verify-runs", json={"id": run_id})
    assert replay.status_code == 202 and replay.get_json()["status"] == "ok"
    assert api.as_("auditor").post("/api/v1/checkpoints", json={"id": str(uuid.uuid4())}).status_code == 201

    sale = village.sales[0]
    engine = make_engine(db_url)
    try:
        tamper(engine, "UPDATE ledger_transfers SET amount = amount - 10 WHERE seq = :seq", seq=sale.seq)
    finally:
        engine.dispose()

    body = get(api, "auditor", f"{R}/reconciliation").get_json()
    assert not body["ok"]
    failing = {i["name"]: i for i in body["identities"] if not i["ok"]}
    assert {"flows", "redeemed_lines"} <= set(failing)
    assert sale.seq in failing["flows"]["transfers"] and sale.seq in failing["redeemed_lines"]["transfers"]
    behind = get(api, "auditor", f"{R}/transfers?seq={sale.seq}").get_json()["transfers"]
    assert behind[0]["seq"] == sale.seq and behind[0]["amount"] == sale.points - 10

    run_id = str(uuid.uuid4())
    api.as_("auditor").post(f"{R}/verify-runs", json={"id": run_id})
    run = wait_for_run(api, run_id)
    assert run["status"] == "failed" and run["problem_count"] >= 1
    first = run["report"]["problems"][0]
    assert (first["seq"], first["what"]) == (sale.seq, "hash_mismatch")
    assert run["report"]["anchor"]["seq"] == 8  # the checkpoint signed before was checked too

    refused = api.as_("auditor").post("/api/v1/checkpoints", json={"id": str(uuid.uuid4())})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "ledger_not_intact"
    assert refused.get_json()["error"]["details"]["seq"] == sale.seq
    runs = get(api, "auditor", f"{R}/verify-runs").get_json()["runs"]
    assert [r["status"] for r in runs[:2]] == ["failed", "ok"]


def test_a_cached_balance_changed_behind_the_ledger_is_named(api: Api, village: Village, db_url: str) -> None:
    account = village.members[0][2]
    engine = make_engine(db_url)
    try:
        tamper(engine, "UPDATE ledger_accounts SET balance = balance + 100 WHERE id = :id", id=account)
    finally:
        engine.dispose()
    body = get(api, "auditor", f"{R}/reconciliation?store=DSC").get_json()
    cached = next(i for i in body["identities"] if i["name"] == "cached_balances")
    assert not cached["ok"] and cached["accounts"] == [account] and cached["difference"] == 100
    assert cached["transfers"]  # the account's last entry, whose balance the cache should equal


def test_anomalies_name_the_transfers_behind_them(api: Api, village: Village) -> None:
    from ledger import rules

    v = village
    # After hours: opening hours that exclude this very moment.
    now = v.now().astimezone(SHOP_TZ)
    opening, closing = (now + timedelta(hours=1)).strftime("%H:00"), (now + timedelta(hours=2)).strftime("%H:00")
    # A clerk whose sales are voided far more often than the other's: the manager sells and keeps every sale.
    member = v.register("DSC", "钱多")
    v.earn(member, 600)  # 100
    v.donate(member, 30000)  # 300
    clerk_sales = [v.sell(member, [("6972449445466", 1)]) for _ in range(3)]
    for sale in clerk_sales:
        v.void(sale)
    manager = v.principal("manager-dsc")
    from pos.services import checkout

    for _ in range(4):
        cmd = checkout.SaleCommand(uuid.uuid4(), v.card(member), (("6972449445466", 1),))
        v.uow.run(lambda s, c=cmd: checkout.checkout(s, manager, c))
    # A member at the daily cap.
    capped = v.register("DSC", "满格")
    v.earn(capped, rules.DAILY_CAP_MINUTES)
    body = get(api, "auditor", f"{R}/anomalies?hours={opening}-{closing}").get_json()
    kinds = {}
    for flag in body["flags"]:
        kinds.setdefault(flag["kind"], []).append(flag)
    after = {f["store"]: f for f in kinds["after_hours"]}
    assert after["DSC"]["figures"]["redemptions"] == 1 + 3 + 4 and after["XHC"]["figures"]["redemptions"] == 2
    assert set(after["XHC"]["transfers"]) == {s.seq for s in v.sales if s.store == "XHC"}
    (voids,) = kinds["void_share"]
    assert (voids["store"], voids["subject"], voids["figures"]["voids"]) == ("DSC", "clerk-dsc", 3)
    assert len(voids["transfers"]) == 3
    (cap,) = kinds["daily_cap"]
    assert cap["subject"] == "满格" and cap["figures"]["minutes"] == rules.DAILY_CAP_MINUTES
    assert body["counts"]["daily_cap"] == 1 and body["settings"]["opening"] == opening

    assert get(api, "auditor", f"{R}/anomalies?hours=25:00-26:00").status_code == 400

    # The workbook: the flags counted by kind and by shop on 汇总, each shop's flags on its own sheet.
    label = {"recorder_hours": "记录人人均时长偏高", "daily_cap": "会员达到每日时长上限",
             "void_share": "店员作废比例偏高", "after_hours": "营业时间外兑换"}
    book = workbook(api, "auditor", f"{R}/anomalies.xlsx?hours={opening}-{closing}", body)
    assert [s["store"] for s in body["stores"]] == ["DSC", "XHC"]
    by_kind, by_shop = tables(book["汇总"])
    assert by_kind[0] == ("异常类型", "笔数")
    assert by_kind[1:] == [(label[k], n) for k, n in body["counts"].items()] + [("合计", len(body["flags"]))]
    assert by_shop[0] == ("门店", "门店名称", *(label[k] for k in body["counts"]), "合计")
    assert [row[:2] for row in by_shop[1:]] == [(s["store"], s["name"]) for s in body["stores"]]
    for code, _, *figures in by_shop[1:]:
        mine = [f for f in body["flags"] if f["store"] == code]
        assert figures == [sum(1 for f in mine if f["kind"] == k) for k in body["counts"]] + [len(mine)], code
    assert sum(row[-1] for row in by_shop[1:]) == len(body["flags"]) == 2 + 1 + 1
    for shop in body["stores"]:
        (flags,) = tables(shop_sheet(book, shop["store"]))
        assert flags[0] == ("异常类型", "门店", "对象", "数据", "相关转账（seq）")
        assert [(r[0], r[1], r[2] or "", r[4]) for r in flags[1:]] == [  # an empty cell reads back as None
            (label[f["kind"]], f["store"], f["subject"], ", ".join(str(s) for s in f["transfers"]))
            for f in body["flags"] if f["store"] == shop["store"]]
    answer = get(api, "auditor", f"{R}/anomalies.csv?hours={opening}-{closing}")
    assert answer.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert len(rows) == 1 + len(body["flags"]) and [r[2] for r in rows[1:]] == [f["subject"] for f in body["flags"]]

    own = get(api, "manager-dsc", f"{R}/anomalies?hours={opening}-{closing}").get_json()
    assert {f["store"] for f in own["flags"]} == {"DSC"} and [s["store"] for s in own["stores"]] == ["DSC"]
    assert workbook(api, "manager-dsc", f"{R}/anomalies.xlsx?hours={opening}-{closing}", own).sheetnames[1] \
        .startswith("DSC")


def test_recorders_far_above_the_others_are_flagged(api: Api, uow: UnitOfWork) -> None:
    v = Village(uow)
    members = [v.register("DSC", f"会员{i}") for i in range(3)]
    from ledger.earning import approve_contribution, record_volunteer_hours

    def hours(member: int, minutes: int, recorder: str, approver: str) -> None:
        contribution = uuid.uuid4()

        def work(session: Any) -> None:
            record_volunteer_hours(session, id=contribution, member_id=v.members[member][0], minutes=minutes,
                                   actor=recorder)
            approve_contribution(session, contribution, approver)

        uow.run(work)

    hours(members[0], 60, "manager-dsc", "manager2-dsc")
    hours(members[1], 60, "manager2-dsc", "manager-dsc")
    hours(members[2], 11 * 60, "coordinator-dsc", "manager-dsc")
    body = get(api, "auditor", f"{R}/anomalies").get_json()
    (flag,) = [f for f in body["flags"] if f["kind"] == "recorder_hours"]
    assert flag["subject"] == "coordinator-dsc" and flag["figures"]["hours_per_member"] == 11.0
    assert len(flag["transfers"]) == 1


def test_the_dashboard_and_its_charts(api: Api, village: Village) -> None:
    name = '南岭<script>alert("x")</script>&社区'
    created = api.as_("admin").post("/api/v1/stores", json={"code": "NLSQ", "name": name})
    assert created.status_code == 201
    body = get(api, "auditor", f"{R}/dashboard").get_json()
    month = village.now().astimezone(SHOP_TZ).strftime("%Y-%m")
    assert body["months"][-1] == month and len(body["months"]) == 12
    last = body["monthly"][-1]
    assert (last["issued"], last["redeemed"]) == (170, 135 - 50)
    assert [c["points"] for c in body["top_categories"]] == sorted((c["points"] for c in body["top_categories"]),
                                                                 reverse=True)
    stock = {s["store"]: s for s in body["stock_value"]}
    assert set(stock) == {"DSC", "XHC", "NLSQ"} and stock["NLSQ"]["points"] == 0
    for chart in ("monthly", "categories", "stock"):
        answer = get(api, "auditor", f"{R}/charts/{chart}.svg")
        assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
        root = ET.fromstring(answer.data)  # well-formed XML: every text escaped
        assert root.tag.endswith("svg")
        assert b"<script" not in answer.data
    stock_svg = get(api, "auditor", f"{R}/charts/stock.svg").data.decode()
    assert "&lt;script&gt;" in stock_svg and "&amp;" in stock_svg
    per_shop = get(api, "auditor", f"{R}/charts/monthly.svg?shop=XHC")
    assert per_shop.status_code == 200 and "XHC" in per_shop.data.decode()
    assert get(api, "manager-dsc", f"{R}/charts/monthly.svg?shop=XHC").status_code == 400

    # The workbook: the selection's months, top categories and stock on 汇总; each shop's own on its sheet.
    book = workbook(api, "auditor", f"{R}/dashboard.xlsx", body)
    months, categories, stock_rows = tables(book["汇总"])
    assert months[0] == ("月份", "发放合计", "兑换（扣除作废）")
    assert months[1:] == [(m["month"], m["issued"], m["redeemed"]) for m in body["monthly"]] + [
        ("合计", 170, 85)]
    assert categories[0] == ("类别", "笔数", "积分")
    assert [r[1:] for r in categories[1:]] == [(c["count"], c["points"]) for c in body["top_categories"]]
    assert stock_rows[0] == ("门店", "门店名称", "库存价值", "件数", "品种")
    assert stock_rows[1:-1] == [(s["store"], s["name"], s["points"], s["units"], s["products"])
                                for s in body["stock_value"]]
    assert stock_rows[-1][0] == "合计" and stock_rows[-1][2] == sum(s["points"] for s in body["stock_value"])
    shop_totals = []
    for shop in body["stores"]:
        months, categories, stock_rows = tables(shop_sheet(book, shop["store"]))
        assert months[1:-1] == [(m["month"], m["issued"], m["redeemed"]) for m in shop["monthly"]]
        shop_totals.append(months[-1][1:])
        assert [r[2] for r in categories[1:]] == [c["points"] for c in shop["top_categories"]]
        # every point issued this month came from a contribution of some category
        assert sum(c["points"] for c in shop["top_categories"]) == months[-1][1], shop["store"]
        assert stock_rows[1:] == [(stock[shop["store"]]["store"], stock[shop["store"]]["name"],
                                   stock[shop["store"]]["points"], stock[shop["store"]]["units"],
                                   stock[shop["store"]]["products"])]
    assert [sum(column) for column in zip(*shop_totals, strict=True)] == [170, 85]
    assert {s["store"]: sum(c["points"] for c in s["top_categories"]) for s in body["stores"]} == {
        "DSC": 110, "XHC": 60, "NLSQ": 0}
    csv_rows = list(csv.reader(io.StringIO(get(api, "auditor", f"{R}/dashboard.csv").data.decode("utf-8-sig"))))
    assert ["合计", month, "170", "85"] in csv_rows


def test_the_transfers_behind_show_a_manager_only_their_own_shop(api: Api, village: Village) -> None:
    seqs = ",".join(str(s) for s in range(1, 12))
    every = get(api, "auditor", f"{R}/transfers?seq={seqs}").get_json()
    assert [t["seq"] for t in every["transfers"]] == list(range(1, 9)) and every["missing"] == [9, 10, 11]
    sale = every["transfers"][5]
    assert sale["code"] == "redemption" and sale["cause"]["kind"] == "sale"
    assert sale["debit"]["kind"] == "member" and sale["debit"]["holder"] == "史玉兰"
    assert sale["credit"]["kind"] == "redemption_sink" and sale["reversed_by"] == 7
    assert every["transfers"][6]["reverses"] == 6
    own = get(api, "manager-dsc", f"{R}/transfers?seq={seqs}").get_json()
    assert {t["store"] for t in own["transfers"]} == {"DSC"} and own["hidden"] == 4
    assert get(api, "auditor", f"{R}/transfers?seq=abc").status_code == 400
    assert get(api, "auditor", f"{R}/transfers?seq=,").status_code == 400


def test_the_journal_as_a_plain_text_accounting_file(api: Api, village: Village) -> None:
    answer = get(api, "auditor", f"{R}/journal.txt")
    text = answer.data.decode()
    assert answer.status_code == 200 and text.count("(#") == 8
    assert "members:DSC:" in text and "sinks:XHC" in text and "programme" in text
    first = text.split("\n\n")[0].splitlines()
    assert first[0].endswith("volunteer_hours contribution:" + first[0].split("contribution:")[1])
    amounts = [int(line.split()[-1]) for line in first[1:]]
    assert sum(amounts) == 0 and sorted(amounts) == [-40, 40]
