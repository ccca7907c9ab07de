"""The earning routes over HTTP: activities and scans, bulk entry, contributions, approval (four-eyes, exactly
once, also five at once), organisations, rates, the card lookup's pending points, the public notice; shop
scoping and error paths that write nothing."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.db import UnitOfWork
from inventory.products import create_product
from ledger import verify
from ledger.earning import Attendance, Contribution, Organisation
from ledger.models import Transfer
from pos.idempotency import IdempotencyRecord
from pos.print_jobs import PrintJob, job_payload, print_settings
from tests.integration.test_earning_support import local, member
from tests.support import Api

A, C = "/api/v1/activities", "/api/v1/contributions"
EN = {"Accept-Language": "en"}
NOBODY = "00000000-0000-4000-8000-000000000000"


def uid() -> str:
    return str(uuid.uuid4())


def error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()["error"]
    assert body["code"] == code and body["message"]
    return body["details"]


def counts(uow: UnitOfWork) -> tuple[int, ...]:
    return uow.read(lambda s: tuple(s.scalar(select(func.count()).select_from(model)) for model in (
        Contribution, Attendance, Transfer, Organisation, IdempotencyRecord)))


@pytest.fixture
def coordinator(api: Api) -> Api:
    return api.as_("coordinator-dsc")


@pytest.fixture
def manager(api: Api) -> Api:
    return api.as_("manager-dsc")


def open_activity(who: Api, starts_at: datetime, category: Any = "环境整治", title: str = "村道清扫") -> str:
    response = who.post(A, json={"id": uid(), "title": title, "category": category, "store": "DSC",
                                 "starts_at": starts_at.isoformat()})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["activity_id"]


def scan(who: Api, activity_id: str, card: str, action: str, at: datetime, *, id: str | None = None,  # noqa: A002
         headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return who.post(f"{A}/{activity_id}/attendance", headers=headers or {},
                    json={"id": id or uid(), "card_number": card, "action": action, "at": at.isoformat()})


def hours(who: Api, card: str, minutes: int, started_at: datetime | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    body = {"id": uid(), "kind": "volunteer_hours", "card_number": card, "minutes": minutes, **kw}
    if started_at is not None:
        body["started_at"] = started_at.isoformat()
    return who.post(C, json=body)


# ---- activities and scans -------------------------------------------------------------------------------------


def test_open_an_activity_exactly_once_in_your_own_shop(coordinator: Api, api: Api, uow: UnitOfWork) -> None:
    body = {"id": uid(), "title": "敬老院探访", "category": "elderly care visits", "store": "DSC",
            "starts_at": "2026-03-02T09:00:00+08:00"}
    first = coordinator.post(A, json=body)
    assert first.status_code == 201
    answer = first.get_json()
    assert (answer["title"], answer["category"]["name_zh"], answer["category"]["points_per_hour"],
            answer["starts_at"], answer["organiser"]) == (
        "敬老院探访", "助老服务", 12, "2026-03-02T09:00:00+08:00", "coordinator-dsc")
    assert coordinator.post(A, json=body).get_json() == answer
    error(coordinator.post(A, json=body | {"title": "别的"}), 409, "idempotency_conflict")
    error(coordinator.post(A, json=body | {"id": uid(), "store": "XHC"}), 403, "forbidden")
    error(coordinator.post(A, json=body | {"id": uid(), "category": "不存在"}), 422, "unknown_category")
    error(coordinator.post(A, json=body | {"id": uid(), "starts_at": "2026-03-02T09:00:00"}), 400,
          "validation_error")
    listed = api.as_("auditor").get(f"{A}?store=DSC&from=2026-03-02&to=2026-03-02").get_json()["activities"]
    assert [a["activity_id"] for a in listed] == [answer["activity_id"]]
    assert api.as_("manager-xhc").get(f"{A}?store=XHC").get_json()["activities"] == []
    error(api.as_("coordinator-xhc").get(f"{A}/{answer['activity_id']}"), 403, "forbidden")
    error(coordinator.get(f"{A}?store=DSC&from=2026-03-03&to=2026-03-02"), 400, "validation_error")


def test_scanning_in_and_out(coordinator: Api, uow: UnitOfWork) -> None:
    base = local(3, 8, 30)
    activity_id = open_activity(coordinator, base)
    m, card = member(uow)
    first = scan(coordinator, activity_id, card, "in", base)
    assert first.status_code == 201 and first.get_json()["already_in"] is False
    again = scan(coordinator, activity_id, f" {card[:8]} {card[8:]} ", "in", base + timedelta(minutes=2))
    assert again.status_code == 200
    assert (again.get_json()["already_in"], again.get_json()["attendance_id"]) == (
        True, first.get_json()["attendance_id"])
    out_id = uid()
    out = scan(coordinator, activity_id, card, "out", base + timedelta(hours=2, minutes=30), id=out_id)
    assert out.status_code == 201
    answer = out.get_json()
    assert (answer["minutes"], answer["points"], answer["status"], answer["contribution_id"], answer["name"]) == (
        150, 25, "pending", out_id, "王小英")
    replay = scan(coordinator, activity_id, card, "out", base + timedelta(hours=2, minutes=30), id=out_id)
    assert (replay.status_code, replay.get_json()) == (201, answer)
    before = counts(uow)
    details = error(scan(coordinator, activity_id, card, "out", base + timedelta(hours=3), headers=EN), 422,
                    "not_checked_in")
    assert details == {"activity_id": activity_id}
    message = scan(coordinator, activity_id, card, "out", base + timedelta(hours=3), headers=EN).get_json()
    assert message["error"]["message"] == "This member is not checked in at this activity"
    assert counts(uow) == before
    detail = coordinator.get(f"{A}/{activity_id}").get_json()
    assert (detail["present"], [(a["name"], a["present"], a["minutes"], a["points"]) for a in detail["attendance"]]) \
        == (0, [("王小英", False, 150, 25)])


def test_out_before_in_and_zero_minutes_leave_the_member_checked_in(coordinator: Api, uow: UnitOfWork) -> None:
    base = local(3, 8)
    activity_id = open_activity(coordinator, base)
    _, card = member(uow)
    assert scan(coordinator, activity_id, card, "in", base + timedelta(hours=1)).status_code == 201
    details = error(scan(coordinator, activity_id, card, "out", base), 422, "out_before_in")
    assert set(details) == {"checked_in_at", "at"}
    assert error(scan(coordinator, activity_id, card, "out", base + timedelta(hours=1, seconds=40)), 422,
                 "limit_exceeded")["limit"] == "minutes_range"
    assert coordinator.get(f"{A}/{activity_id}").get_json()["present"] == 1
    assert scan(coordinator, activity_id, card, "out", base + timedelta(hours=2)).status_code == 201


def test_scans_are_refused_for_another_shops_card_or_activity(coordinator: Api, api: Api, uow: UnitOfWork) -> None:
    base = local(3, 8)
    activity_id = open_activity(coordinator, base)
    _, xhc_card = member(uow, "XHC")
    before = counts(uow)
    error(scan(coordinator, activity_id, xhc_card, "in", base), 403, "forbidden")
    _, card = member(uow)
    error(scan(api.as_("coordinator-xhc"), activity_id, card, "in", base), 403, "forbidden")
    error(scan(coordinator, activity_id, "6920244418529", "in", base), 422, "unknown_card")
    error(scan(coordinator, str(uuid.uuid4()), card, "in", base), 404, "not_found")
    error(scan(coordinator, activity_id, card, "in", datetime.now().astimezone() + timedelta(hours=1)), 400,
          "validation_error")
    assert counts(uow)[:2] == before[:2]


# ---- bulk entry -----------------------------------------------------------------------------------------------


def test_bulk_entry_is_all_or_nothing_with_errors_per_card(coordinator: Api, uow: UnitOfWork) -> None:
    base = local(3, 9)
    activity_id = open_activity(coordinator, base, category="应急救援")
    cards = [member(uow, name=name)[1] for name in ("张三", "李四", "王五")]
    busy = cards[2]
    assert hours(coordinator, busy, 11 * 60, local(3, 6)).status_code == 201  # 06:00-17:00: overlaps
    _, xhc_card = member(uow, "XHC")
    before = counts(uow)
    body = {"id": uid(), "card_numbers": [cards[0], "1000000000000002", cards[1], cards[0], busy, xhc_card],
            "minutes": 90}
    details = error(coordinator.post(f"{A}/{activity_id}/bulk", json=body, headers=EN), 422, "bulk_refused")
    assert [(e["index"], e["code"]) for e in details["errors"]] == [
        (1, "unknown_card"), (3, "duplicate_card"), (4, "limit_exceeded"), (5, "forbidden")]
    assert details["errors"][2]["details"]["limit"] == "overlap"
    assert details["errors"][1]["message"] == "The same member appears twice in the list"
    assert counts(uow) == before
    good = {"id": uid(), "card_numbers": cards[:2], "minutes": 90}
    made = coordinator.post(f"{A}/{activity_id}/bulk", json=good)
    assert made.status_code == 201
    answer = made.get_json()
    assert ([(c["name"], c["minutes"], c["points"], c["status"]) for c in answer["contributions"]],
            answer["points_total"]) == ([("张三", 90, 30, "pending"), ("李四", 90, 30, "pending")], 60)
    assert coordinator.post(f"{A}/{activity_id}/bulk", json=good).get_json() == answer
    # The same members again at the same activity is overlapping time.
    again = error(coordinator.post(f"{A}/{activity_id}/bulk", json=good | {"id": uid()}), 422, "bulk_refused")
    assert {e["details"]["limit"] for e in again["errors"]} == {"overlap"}
    assert error(coordinator.post(f"{A}/{activity_id}/bulk", json=good | {"id": uid(), "minutes": 0}), 422,
                 "bulk_refused")["errors"][0]["details"]["limit"] == "minutes_range"


# ---- contributions --------------------------------------------------------------------------------------------


def test_record_hours_and_donations(coordinator: Api, manager: Api, uow: UnitOfWork) -> None:
    _, card = member(uow)
    activity_id = open_activity(coordinator, local(3, 9), category="矛盾调解")
    by_activity = hours(coordinator, card, 40, activity_id=activity_id, note="纸质登记")
    assert by_activity.status_code == 201
    answer = by_activity.get_json()
    assert (answer["status"], answer["points"], answer["rate"]["points_per_hour"], answer["minutes"],
            answer["started_at"], answer["activity"]["id"], answer["note"], answer["donor"]["card_number"]) == (
        "pending", 10, 15, 40, local(3, 9).isoformat(), activity_id, "纸质登记", card)
    by_category = hours(coordinator, card, 30, local(3, 14), category="应急救援")
    assert by_category.get_json()["points"] == 10
    cash_body = {"id": uid(), "kind": "donation", "card_number": card, "amount_fen": 12_345}
    cash = coordinator.post(C, json=cash_body)
    assert cash.status_code == 201
    assert (cash.get_json()["kind"], cash.get_json()["points"], cash.get_json()["rate"]["points_per_yuan"]) == (
        "donation_cash", 123, "1")
    assert coordinator.post(C, json=cash_body).get_json() == cash.get_json()
    error(coordinator.post(C, json=cash_body | {"amount_fen": 12_346}), 409, "idempotency_conflict")
    org = manager.post("/api/v1/organisations", json={"id": uid(), "name": "东山村便民超市", "store": "DSC"})
    assert org.status_code == 201 and org.get_json()["balance"] == 0
    with_org = coordinator.post(C, json={"id": uid(), "kind": "donation_cash",
                                         "organisation_id": org.get_json()["organisation_id"], "amount_fen": 50_000})
    assert (with_org.get_json()["donor"]["type"], with_org.get_json()["points"]) == ("organisation", 500)
    uow.run(lambda s: create_product(s, barcode="6920244418529", name="大豆油 5L", points_price=70, actor="t"))
    goods = coordinator.post(C, json={"id": uid(), "kind": "donation_goods", "card_number": card,
                                      "lines": [{"barcode": "6920244418529", "qty": 2}]})
    assert goods.status_code == 201
    assert (goods.get_json()["points"], goods.get_json()["lines"]) == (140, [
        {"barcode": "6920244418529", "name": "大豆油 5L", "qty": 2, "points_price": 70, "points": 140}])
    assert manager.get("/api/v1/products/6920244418529").get_json()["stock"]["qty"] == 2  # in stock on record
    queue = manager.get(f"{C}?store=DSC&status=pending").get_json()
    assert [c["points"] for c in queue["contributions"]] == [10, 10, 123, 500, 140]
    assert queue["pending_points"] == 783


@pytest.mark.parametrize(("body", "fields"), [
    ({"kind": "volunteer_hours"}, {"minutes"}),
    ({"kind": "volunteer_hours", "minutes": 60, "amount_fen": 100}, {"amount_fen"}),
    ({"kind": "donation"}, {"amount_fen"}),
    ({"kind": "donation", "amount_fen": 0}, {"amount_fen"}),
    ({"kind": "donation", "amount_fen": "100"}, {"amount_fen"}),
    ({"kind": "donation_goods", "lines": []}, {"lines"}),
    ({"kind": "donation_goods", "lines": [{"barcode": "6920244418529", "qty": 0}]}, {"lines.0.qty"}),
    ({"kind": "volunteer_hours", "minutes": 60, "organisation_id": NOBODY}, {"card_number", "organisation_id"}),
    ({"kind": "volunteer_hours", "minutes": 60.5}, {"minutes"}),
    ({"kind": "gift", "minutes": 60}, {"kind"}),
    ({"kind": "volunteer_hours", "minutes": 60, "extra": 1}, {"extra"}),
])
def test_bad_bodies_are_400_naming_the_fields(coordinator: Api, uow: UnitOfWork, body: dict, fields: set) -> None:
    _, card = member(uow)
    before = counts(uow)
    details = error(coordinator.post(C, json={"id": uid(), "card_number": card, **body}), 400, "validation_error")
    assert set(details) == fields
    assert counts(uow) == before


@pytest.mark.parametrize(("minutes", "limit"), [(0, "minutes_range"), (-5, "minutes_range"),
                                                (1441, "minutes_range"), (13 * 60, "daily_cap")])
def test_limits_over_http_are_422_naming_the_limit(coordinator: Api, uow: UnitOfWork, minutes: int,
                                                    limit: str) -> None:
    _, card = member(uow)
    before = counts(uow)
    details = error(hours(coordinator, card, minutes, local(3, 6)), 422, "limit_exceeded")
    assert details["limit"] == limit
    assert counts(uow) == before


# ---- approval -------------------------------------------------------------------------------------------------


def test_approval_is_a_second_managers_and_posts_once(coordinator: Api, manager: Api, api: Api,
                                                      uow: UnitOfWork) -> None:
    _, card = member(uow)
    own = hours(manager, card, 60, local(3, 8)).get_json()["contribution_id"]
    details = error(manager.post(f"{C}/{own}/approve", headers=EN), 403, "four_eyes")
    assert details == {"recorded_by": "manager-dsc"}
    error(api.as_("manager-xhc").post(f"{C}/{own}/approve"), 403, "forbidden")
    error(coordinator.post(f"{C}/{own}/approve"), 403, "forbidden")
    approved = api.as_("manager2-dsc").post(f"{C}/{own}/approve")
    assert approved.status_code == 200
    answer = approved.get_json()
    assert (answer["status"], answer["points"], answer["balance_after"]) == ("posted", 10, 10)
    again = error(api.as_("manager2-dsc").post(f"{C}/{own}/approve"), 409, "already_decided")
    assert again == {"status": "posted", "decided_by": "manager2-dsc", "transfer_seq": answer["transfer_seq"]}
    error(manager.post(f"{C}/{own}/reject", json={"reason": "x"}), 409, "already_decided")
    transfers = uow.read(lambda s: [(t.seq, t.ref, t.amount) for t in s.scalars(select(Transfer))])
    assert transfers == [(answer["transfer_seq"], f"contribution:{own}", 10)]
    detail = api.as_("auditor").get(f"{C}/{own}").get_json()
    assert (detail["status"], detail["decided_by"], detail["transfer_seq"]) == (
        "posted", "manager2-dsc", answer["transfer_seq"])


def test_rejection_keeps_the_record(coordinator: Api, manager: Api, uow: UnitOfWork) -> None:
    _, card = member(uow)
    cid = hours(coordinator, card, 60, local(3, 8)).get_json()["contribution_id"]
    error(manager.post(f"{C}/{cid}/reject", json={"reason": ""}), 400, "validation_error")
    rejected = manager.post(f"{C}/{cid}/reject", json={"reason": "重复登记"})
    assert rejected.get_json()["status"] == "rejected"
    error(manager.post(f"{C}/{cid}/approve"), 409, "already_decided")
    listed = manager.get(f"{C}?store=DSC&status=rejected").get_json()["contributions"]
    assert [(c["contribution_id"], c["reason"], c["points"]) for c in listed] == [(cid, "重复登记", 10)]
    assert counts(uow)[2] == 0


def test_five_approvals_at_once_post_one_transfer(app: Flask, api: Api, coordinator: Api, uow: UnitOfWork) -> None:
    _, card = member(uow)
    cid = hours(coordinator, card, 120, local(3, 8)).get_json()["contribution_id"]
    headers = {"Authorization": f"Bearer {api.token_for('manager-dsc')}"}
    barrier = threading.Barrier(5)
    statuses: list[int] = []

    def approve() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"{C}/{cid}/approve", headers=headers).status_code)

    threads = [threading.Thread(target=approve) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409, 409, 409, 409]
    assert uow.read(lambda s: s.scalar(select(func.count()).select_from(Transfer)
                                       .where(Transfer.ref == f"contribution:{cid}"))) == 1
    assert uow.read(lambda s: verify(s).ok)
    assert coordinator.get(f"/api/v1/cards/{card}").get_json()["balance"] == 20


def test_pending_points_show_on_the_card_and_move_to_the_balance_on_approval(coordinator: Api, manager: Api,
                                                                               uow: UnitOfWork) -> None:
    _, card = member(uow)
    first = hours(coordinator, card, 60, local(3, 8)).get_json()["contribution_id"]
    hours(coordinator, card, 90, local(3, 10))
    looked_up = coordinator.get(f"/api/v1/cards/{card}").get_json()
    assert (looked_up["balance"], looked_up["pending_points"]) == (0, 25)
    manager.post(f"{C}/{first}/approve")
    looked_up = manager.get(f"/api/v1/cards/{card}").get_json()
    assert (looked_up["balance"], looked_up["pending_points"]) == (10, 15)


def test_organisations_are_a_shops_and_names_are_unique_there(manager: Api, api: Api, uow: UnitOfWork) -> None:
    body = {"id": uid(), "name": "荣成海洋食品有限公司", "store": "DSC"}
    assert manager.post("/api/v1/organisations", json=body).status_code == 201
    assert manager.post("/api/v1/organisations", json=body).status_code == 201  # a replay
    error(manager.post("/api/v1/organisations", json=body | {"id": uid()}), 409, "conflict")
    error(manager.post("/api/v1/organisations", json=body | {"id": uid(), "store": "XHC"}), 403, "forbidden")
    assert api.as_("manager-xhc").post("/api/v1/organisations", json=body | {"id": uid(), "store": "XHC"}
                                       ).status_code == 201
    listed = api.as_("coordinator-dsc").get("/api/v1/organisations").get_json()["organisations"]
    assert [(o["name"], o["store"]) for o in listed] == [("荣成海洋食品有限公司", "DSC")]
    org_id = listed[0]["organisation_id"]
    error(api.as_("coordinator-xhc").post(C, json={"id": uid(), "kind": "donation", "organisation_id": org_id,
                                                   "amount_fen": 100}), 403, "forbidden")


def test_the_bureau_sets_the_rates_for_what_is_recorded_next(api: Api, coordinator: Api, uow: UnitOfWork) -> None:
    _, card = member(uow)
    before = coordinator.post(C, json={"id": uid(), "kind": "donation", "card_number": card, "amount_fen": 1000})
    admin = api.as_("admin")
    error(admin.put("/api/v1/earning/rates", json={"points_per_hour": 10, "cash_points_per_yuan": "0"}), 400,
          "validation_error")
    error(admin.put("/api/v1/earning/rates", json={"points_per_hour": 0, "cash_points_per_yuan": "1"}), 400,
          "validation_error")
    rates = admin.put("/api/v1/earning/rates", json={"points_per_hour": 12, "cash_points_per_yuan": "0.5"})
    assert rates.get_json() == {"points_per_hour": 12, "cash_points_per_yuan": "0.5", "daily_cap_minutes": 720,
                                "max_minutes": 1440}
    after = coordinator.post(C, json={"id": uid(), "kind": "donation", "card_number": card, "amount_fen": 1000})
    assert (before.get_json()["points"], after.get_json()["points"]) == (10, 5)
    assert hours(coordinator, card, 60, local(3, 8)).get_json()["points"] == 12  # no category: the default
    categories = coordinator.get("/api/v1/activity-categories").get_json()
    assert categories["default_points_per_hour"] == 12
    assert categories["categories"][0] == {"id": 1, "name_zh": "环境整治", "name_en": "environment cleanup",
                                           "points_per_hour": 10, "own_rate": True}
    admin.put("/api/v1/activity-categories/1", json={"points_per_hour": None})
    assert coordinator.get("/api/v1/activity-categories").get_json()["categories"][0]["points_per_hour"] == 12
    error(admin.put("/api/v1/activity-categories/999", json={"points_per_hour": 5}), 422, "unknown_category")


# ---- the public notice ----------------------------------------------------------------------------------------


def test_the_notice_is_public_masks_names_and_escapes_html(client, coordinator: Api, manager: Api,  # type: ignore[no-untyped-def]
                                                           api: Api, uow: UnitOfWork) -> None:
    base = local(3, 9)
    activity_id = open_activity(coordinator, base, title='<script>alert("x")</script>')
    _, wang = member(uow, name="王小英")
    _, li = member(uow, name="李四")
    _, odd = member(uow, name="<b>赵</b>")
    posted = hours(coordinator, wang, 90, activity_id=activity_id).get_json()["contribution_id"]
    pending = hours(coordinator, li, 60, local(3, 14)).get_json()["contribution_id"]
    tagged = coordinator.post(C, json={"id": uid(), "kind": "donation", "card_number": odd, "amount_fen": 10_050})
    org = manager.post("/api/v1/organisations", json={"id": uid(), "name": "A&B 商行", "store": "DSC"}).get_json()
    gift = coordinator.post(C, json={"id": uid(), "kind": "donation", "organisation_id": org["organisation_id"],
                                     "amount_fen": 20_000}).get_json()["contribution_id"]
    for cid in (posted, tagged.get_json()["contribution_id"], gift):
        assert manager.post(f"{C}/{cid}/approve").status_code == 200
    assert manager.get(f"{C}/{pending}").get_json()["status"] == "pending"
    day = base.date().isoformat()
    public = client.get(f"/api/v1/notices?store=DSC&from={day}&to={day}", headers=EN)
    assert public.status_code == 200
    notice = public.get_json()
    assert [(e["name"], e["kind"], e["points"]) for e in notice["entries"]] == [
        ("王*英", "volunteer_hours", 15)]
    assert notice["entries"][0]["what"] == ('environment cleanup · <script>alert("x")</script> · 1 h 30 min')
    whole = client.get(f"/api/v1/notices?store=DSC&from={local(3).date()}&to={local(-1).date()}").get_json()
    assert sorted((e["name"], e["points"]) for e in whole["entries"]) == [
        ("<******>", 100), ("A&B 商行", 200), ("王*英", 15)]
    assert "李*" not in {e["name"] for e in whole["entries"]}  # pending: not on the notice
    assert "王小英" not in public.get_data(as_text=True)

    page = client.get(f"/notice/DSC?from={day}&to={local(-1).date()}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "积分公示" in html and "东山村信用超市" in html and "王*英" in html
    assert "王小英" not in html and "李四" not in html and "<b>" not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "A&amp;B 商行" in html
    assert "&lt;******&gt;" in html
    assert client.get("/notice/NOPE").status_code == 404
    assert client.get("/notice/DSC?from=2026-02-30").status_code == 400
    assert client.get("/notice/DSC?from=2026-03-02&to=2026-03-01").status_code == 400
    error(client.get("/api/v1/notices?store=NOPE"), 404, "not_found")
    error(client.get("/api/v1/notices?store=DSC&from=2020-01-01&to=2026-01-01"), 400, "validation_error")
    english = client.get(f"/notice/DSC?from={day}&to={day}", headers=EN).get_data(as_text=True)
    assert "Points notice" in english and "1 h 30 min" in english


def test_the_notice_as_csv_and_xlsx_row_for_row_as_the_json(client, coordinator: Api, manager: Api,  # type: ignore[no-untyped-def]
                                                            uow: UnitOfWork) -> None:
    activity_id = open_activity(coordinator, local(3, 9), title="村道清扫")
    _, wang = member(uow, name="王小英")
    _, odd = member(uow, name="<b>赵</b>")
    _, li = member(uow, name="李四")
    approved = [hours(coordinator, wang, 90, activity_id=activity_id).get_json()["contribution_id"],
                coordinator.post(C, json={"id": uid(), "kind": "donation", "card_number": odd,
                                          "amount_fen": 10_050}).get_json()["contribution_id"]]
    hours(coordinator, li, 60, local(3, 14))  # pending: on no form of the notice
    for cid in approved:
        assert manager.post(f"{C}/{cid}/approve").status_code == 200
    query = f"store=DSC&from={local(3).date()}&to={local(-1).date()}"
    notice = client.get(f"/api/v1/notices?{query}").get_json()
    assert sorted(e["name"] for e in notice["entries"]) == ["<******>", "王*英"]
    expected = [[e["date"], e["name"], e["what"], e["points"]] for e in notice["entries"]]

    answer = client.get(f"/api/v1/notices.csv?{query}")  # no login: public like the JSON
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith(
        f'attachment; filename="creditmart-notice-DSC-{local(3).date()}_{local(-1).date()}.csv"')
    assert answer.data.startswith("\ufeff".encode())  # UTF-8 with a BOM, as every CSV export, for Excel
    header, *rows, total = csv.reader(io.StringIO(answer.data.decode("utf-8-sig")))
    assert header == ["日期", "姓名", "事项", "积分"]
    assert rows == [[str(value) for value in row] for row in expected]
    assert total == ["合计", "", "", str(notice["total_points"])] and notice["total_points"] == 15 + 100
    text = answer.data.decode("utf-8-sig")
    assert "王小英" not in text and "李" not in text and "<b>" not in text

    answer = client.get(f"/api/v1/notices.xlsx?{query}")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == ["汇总", "DSC 东山村信用超市"]
    summary = [r for r in book["汇总"].iter_rows(values_only=True) if any(r)]
    assert summary[-2:] == [("门店", "门店名称", "笔数", "积分"), ("DSC", "东山村信用超市", 2, 115)]
    sheet = [r for r in book["DSC 东山村信用超市"].iter_rows(values_only=True) if any(r)]
    table = sheet[sheet.index(("日期", "姓名", "事项", "积分")) + 1:]
    assert [list(r) for r in table[:-1]] == expected
    assert table[-1] == ("合计", None, None, notice["total_points"])
    assert sum(r[3] for r in table[:-1]) == notice["total_points"]

    english = client.get(f"/api/v1/notices.csv?{query}", headers=EN).data.decode("utf-8-sig")
    assert english.startswith("Date,Name,For,Points\r\n") and "Donated 100.50 yuan" in english
    error(client.get("/api/v1/notices.csv?store=NOPE"), 404, "not_found")
    error(client.get("/api/v1/notices.xlsx?store=DSC&from=2026-03-02&to=2026-03-01"), 400, "validation_error")


def test_a_cash_donation_queues_its_receipt_with_the_record(coordinator: Api, manager: Api, uow: UnitOfWork) -> None:
    _, card = member(uow, name="杨明")
    body = {"id": uid(), "kind": "donation", "card_number": card, "amount_fen": 5_000, "note": "助学"}
    made = coordinator.post(C, json=body)
    assert made.status_code == 201
    receipt = made.get_json()["receipt"]
    assert receipt["status"] == "queued"
    assert coordinator.post(C, json=body).get_json()["receipt"] == receipt  # a replay queues nothing new

    def jobs(session) -> list[tuple[str, str, bytes]]:  # type: ignore[no-untyped-def]
        return [(str(j.id), j.ref, job_payload(j, print_settings({}))) for j in session.scalars(
            select(PrintJob).where(PrintJob.kind == "donation_receipt").order_by(PrintJob.created_at))]
    [(job_id, ref, payload)] = uow.read(jobs)
    assert (job_id, ref) == (receipt["job_id"], body["id"])
    for text in ("捐赠收据", "杨明", "待审核", "助学"):
        assert text.encode("gb18030") in payload, text
    shown = coordinator.get(f"{C}/{body['id']}").get_json()["receipt"]  # the recording tablet follows it
    assert (shown["job_id"], shown["status"], shown["last_error"]) == (receipt["job_id"], "queued", None)
    manager.post(f"{C}/{body['id']}/approve")
    again = coordinator.post(f"{C}/{body['id']}/receipt")
    assert again.status_code == 201
    assert "已入账".encode("gb18030") in uow.read(jobs)[-1][2]
    assert coordinator.get(f"{C}/{body['id']}").get_json()["receipt"]["job_id"] == again.get_json()["job_id"]
    hours_id = hours(coordinator, card, 60, local(3, 8)).get_json()["contribution_id"]
    assert "receipt" not in coordinator.get(f"{C}/{hours_id}").get_json()
    error(coordinator.post(f"{C}/{hours_id}/receipt"), 422, "no_receipt")
    error(manager.post(f"{C}/{uid()}/receipt"), 404, "not_found")


def test_a_goods_donation_queues_a_receipt_listing_the_goods(coordinator: Api, manager: Api,
                                                             uow: UnitOfWork) -> None:
    """捐赠物品 gets its 捐赠收据 too: each item with qty × points value, the total, and no ￥ amount."""
    from tests.escpos_decoder import assert_prints_well

    _, card = member(uow, name="杨明")
    uow.run(lambda s: create_product(s, barcode="6920244418529", name="大豆油 5L", points_price=70, actor="t"))
    uow.run(lambda s: create_product(s, barcode="6982606870703", name="东北大米 5kg", points_price=35, actor="t"))
    body = {"id": uid(), "kind": "donation_goods", "card_number": card, "note": "爱心企业",
            "lines": [{"barcode": "6920244418529", "qty": 2}, {"barcode": "6982606870703", "qty": 1}]}
    made = coordinator.post(C, json=body)
    assert made.status_code == 201 and made.get_json()["receipt"]["status"] == "queued"
    assert coordinator.post(C, json=body).get_json()["receipt"] == made.get_json()["receipt"]

    def payloads(session) -> list[bytes]:  # type: ignore[no-untyped-def]
        return [job_payload(j, print_settings({})) for j in session.scalars(
            select(PrintJob).where(PrintJob.kind == "donation_receipt", PrintJob.ref == body["id"])
            .order_by(PrintJob.created_at))]
    [first] = uow.read(payloads)
    printed = assert_prints_well(first, 58, expected=["捐赠收据", "杨明", "大豆油 5L", "2×70", "140",
                                                      "东北大米 5kg", "1×35", "175（待审核）", "爱心企业"])
    assert "￥" not in printed.text and "捐赠金额" not in printed.text
    manager.post(f"{C}/{body['id']}/approve")
    assert coordinator.post(f"{C}/{body['id']}/receipt").status_code == 201
    assert_prints_well(uow.read(payloads)[-1], 58, expected=["175（已入账）", "大豆油 5L"])


def test_goods_are_valued_before_they_are_recorded(coordinator: Api, manager: Api, api: Api,
                                                    uow: UnitOfWork) -> None:
    """The donations page shows each line's points before anything is recorded, without the counter's product
    lookup: the same products, merged and priced as recording would, and the same refusals."""
    uow.run(lambda s: create_product(s, barcode="6920244418529", name="大豆油 5L", points_price=70, unit="桶",
                                     actor="t"))
    uow.run(lambda s: create_product(s, barcode="6982606870703", name="东北大米 5kg", points_price=35, unit="袋",
                                     actor="t"))
    before = counts(uow)
    lines = [{"barcode": "6920244418529", "qty": 2}, {"barcode": "６９８２６０６８７０７０３", "qty": 1},
             {"barcode": "6920244418529", "qty": 1}]
    quote = coordinator.post(f"{C}/quote", json={"lines": lines})
    assert quote.status_code == 200, quote.get_data(as_text=True)
    assert quote.get_json() == {"points": 245, "lines": [
        {"barcode": "6920244418529", "name": "大豆油 5L", "unit": "桶", "qty": 3, "points_price": 70, "points": 210},
        {"barcode": "6982606870703", "name": "东北大米 5kg", "unit": "袋", "qty": 1, "points_price": 35,
         "points": 35}]}
    assert counts(uow) == before
    assert manager.get("/api/v1/products/6920244418529").get_json()["stock"]["qty"] == 0  # nothing received
    unknown = error(coordinator.post(f"{C}/quote", json={"lines": [{"barcode": "4006381333931", "qty": 1}]}),
                    422, "unknown_product")
    assert unknown["barcodes"] == ["4006381333931"]
    assert error(coordinator.post(f"{C}/quote", json={"lines": [{"barcode": "12345", "qty": 1}]}),
                 422, "invalid_barcode")["barcode"] == "12345"
    assert set(error(coordinator.post(f"{C}/quote", json={"lines": []}), 400, "validation_error")) == {"lines"}
    error(api.as_("clerk-dsc").post(f"{C}/quote", json={"lines": lines}), 403, "forbidden")
