"""The members API end to end, on SQLite and PostgreSQL: registration and its refusals, card lookup, reissue,
phone masking per role, shop scoping, search, statement, card images, the A4 sheet, and the CLI listing."""

from __future__ import annotations

import io
import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from ledger.accounts import programme_account
from ledger.members import Member, MemberCard
from ledger.models import MEMBER, VOLUNTEER_HOURS, Account
from ledger.posting import NewTransfer, post
from pos.cli import main
from pos.idempotency import IdempotencyRecord
from printers.cards import CARD_PNG_SIZE
from tests.support import Api

M = "/api/v1/members"
XSS = "<img src=x onerror=alert(1)>"


def member_body(store: str = "DSC", **changes: Any) -> dict[str, Any]:
    body = {"id": str(uuid.uuid4()), "name": "史玉兰", "phone": "13318890789", "household": "DSC-003",
            "store": store, "consent": True}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def register(api: Api, username: str = "clerk-dsc", **changes: Any) -> dict[str, Any]:
    store = changes.pop("store", username.rsplit("-", 1)[-1].upper())
    response = api.as_(username).post(M, json=member_body(store, **changes))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def give_points(uow: UnitOfWork, member_id: str, amount: int) -> None:
    def work(session: Session) -> None:
        account_id = session.get(Member, uuid.UUID(member_id)).account_id
        post(session, NewTransfer(id=uuid.uuid4(), debit=programme_account(session).id, credit=account_id,
                                  amount=amount, code=VOLUNTEER_HOURS, ref="test:hours", actor="manager-dsc"))

    uow.run(work)


def stored(uow: UnitOfWork) -> tuple[int, ...]:
    def count(session: Session) -> tuple[int, ...]:
        return (session.scalar(select(func.count()).select_from(Member)),
                session.scalar(select(func.count()).select_from(MemberCard)),
                session.scalar(select(func.count()).select_from(Account).where(Account.kind == MEMBER)),
                session.scalar(select(func.count()).select_from(IdempotencyRecord)))

    return uow.read(count)


# ---------------------------------------------------------------------------------------------- registering


@pytest.mark.parametrize("changes, field", [
    ({"consent": ...}, "consent"),
    ({"consent": False}, "consent"),
    ({"consent": "yes"}, "consent"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "史" * 10_240}, "name"),  # 10 KB of name
    ({"name": "张\n三"}, "name"),
    ({"phone": "1381234"}, "phone"),
    ({"phone": "23812341234"}, "phone"),
    ({"household": "x" * 40}, "household"),
    ({"id": "not-a-uuid"}, "id"),
    ({"store": ...}, "store"),
    ({"extra": 1}, "extra"),
])
def test_registration_refusals_are_a_clear_400_and_store_nothing(api: Api, uow: UnitOfWork,
                                                                 changes: dict[str, Any], field: str) -> None:
    before = stored(uow)
    response = api.as_("clerk-dsc").post(M, json=member_body(**{"store": "DSC", **changes}))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["details"], error
    assert len(response.data) < 2_000  # the 10 KB name is not echoed back
    assert stored(uow) == before


def test_register_then_scan_the_card_then_read_the_statement(api: Api, uow: UnitOfWork) -> None:
    answer = register(api, phone="１３３１８８９０７８９")
    assert set(answer) == {"member_id", "card_number", "name", "store", "balance"}
    assert (answer["name"], answer["store"], answer["balance"]) == ("史玉兰", "DSC", 0)
    assert re.fullmatch(r"[1-9]\d{15}", answer["card_number"])

    give_points(uow, answer["member_id"], 35)
    clerk = api.as_("clerk-dsc")
    card = clerk.get(f"/api/v1/cards/{answer['card_number']}").get_json()
    assert card == {"member_id": answer["member_id"], "name": "史玉兰", "phone_masked": "133****0789",
                    "household": "DSC-003", "store": "DSC", "balance": 35, "status": "active",
                    "card_number": answer["card_number"], "pending_points": 0}

    statement = clerk.get(f"{M}/{answer['member_id']}/statement").get_json()
    assert statement["balance"] == 35 and statement["next_before_seq"] is None
    [entry] = statement["entries"]
    assert (entry["code"], entry["amount"], entry["balance_after"], entry["ref"]) == (
        VOLUNTEER_HOURS, 35, 35, "test:hours")
    assert entry["at"].endswith("+08:00") and isinstance(entry["seq"], int)

    details = api.as_("manager-dsc").get(f"{M}/{answer['member_id']}").get_json()
    assert details["consent_recorded_by"] == "clerk-dsc" and details["consent_at"]
    assert [c["status"] for c in details["cards"]] == ["active"]


def test_statement_pages_by_seq(api: Api, uow: UnitOfWork) -> None:
    member_id = register(api)["member_id"]
    for amount in (1, 2, 3):
        give_points(uow, member_id, amount)
    clerk = api.as_("clerk-dsc")
    first = clerk.get(f"{M}/{member_id}/statement?limit=2").get_json()
    assert [e["amount"] for e in first["entries"]] == [3, 2]
    rest = clerk.get(f"{M}/{member_id}/statement?limit=2&before_seq={first['next_before_seq']}").get_json()
    assert [e["amount"] for e in rest["entries"]] == [1] and rest["next_before_seq"] is None
    assert clerk.get(f"{M}/{member_id}/statement?limit=0").status_code == 400
    assert clerk.get(f"{M}/{member_id}/statement?before_seq=x").status_code == 400


def test_a_replayed_registration_makes_one_member(api: Api, uow: UnitOfWork) -> None:
    before = stored(uow)
    body = member_body("DSC")
    clerk = api.as_("clerk-dsc")
    first = clerk.post(M, json=body)
    second = clerk.post(M, json=body)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert stored(uow)[:3] == tuple(n + 1 for n in before[:3])
    conflict = clerk.post(M, json={**body, "name": "史玉梅"})
    assert conflict.status_code == 409 and conflict.get_json()["error"]["code"] == "idempotency_conflict"
    assert stored(uow)[:3] == tuple(n + 1 for n in before[:3])


def test_unknown_cards_are_422(api: Api) -> None:
    register(api)
    clerk = api.as_("clerk-dsc")
    for scan in ("1000000000000002", "6901234567892", "abc", "1" * 300):
        response = clerk.get(f"/api/v1/cards/{scan}")
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "unknown_card", scan


# ---------------------------------------------------------------------------------------------- reissue


def test_reissue_blocks_the_old_card_and_the_balance_stays(api: Api, uow: UnitOfWork) -> None:
    answer = register(api)
    member_id, old = answer["member_id"], answer["card_number"]
    give_points(uow, member_id, 80)
    manager = api.as_("manager-dsc")
    body = {"id": str(uuid.uuid4())}
    response = manager.post(f"{M}/{member_id}/cards", json=body)
    assert response.status_code == 201
    new = response.get_json()["card_number"]
    assert new != old and response.get_json()["replaces"] == old
    assert manager.post(f"{M}/{member_id}/cards", json=body).get_json()["card_number"] == new  # a replay

    clerk = api.as_("clerk-dsc")
    blocked = clerk.get(f"/api/v1/cards/{old}")
    assert blocked.status_code == 422
    error = blocked.get_json()["error"]
    assert error["code"] == "card_blocked" and error["details"] == {"replaced": True, "name": "史玉兰"}
    assert error["message"] == "该卡已挂失停用：该会员已补办新卡，请使用新卡"  # says a newer card exists
    english = clerk.get(f"/api/v1/cards/{old}", headers={"Accept-Language": "en"}).get_json()["error"]["message"]
    assert english == "This card is blocked: the member has a newer card; please use it"
    assert new not in blocked.get_data(as_text=True)
    card = clerk.get(f"/api/v1/cards/{new}").get_json()
    assert (card["member_id"], card["balance"]) == (member_id, 80)
    assert clerk.post(f"{M}/{member_id}/cards", json={"id": str(uuid.uuid4())}).status_code == 403
    assert manager.post(f"{M}/{uuid.uuid4()}/cards", json={"id": str(uuid.uuid4())}).status_code == 404


# ---------------------------------------------------------------------------------------------- who sees what


def test_phones_are_masked_except_for_managers_and_the_bureau(api: Api) -> None:
    answer = register(api, phone="13812341234")
    paths = [f"/api/v1/cards/{answer['card_number']}", f"{M}/{answer['member_id']}"]
    for username, sees in (("clerk-dsc", False), ("coordinator-dsc", False), ("manager-dsc", True),
                           ("auditor", True), ("admin", True)):
        caller = api.as_(username)
        shown = [caller.get(path).get_json() for path in paths]
        shown.append(caller.get(f"{M}?q=1234" + ("&store=DSC" if username in ("auditor", "admin") else ""))
                     .get_json()["members"][0])
        for member in shown:
            assert member["phone_masked"] == "138****1234", username
            assert (member.get("phone") == "13812341234") is sees, (username, member)
            assert ("phone" in member) is sees


def test_a_shop_neither_reads_nor_changes_another_shops_members(api: Api) -> None:
    theirs = register(api, "clerk-xhc", name="金玉兰", phone="13598022387")
    member_id, card = theirs["member_id"], theirs["card_number"]
    api.as_("manager-xhc").post(f"{M}/{member_id}/cards", json={"id": str(uuid.uuid4())})  # `card` is blocked now
    reissued = api.as_("manager-xhc").get(f"{M}/{member_id}").get_json()["card_number"]
    for username in ("clerk-dsc", "coordinator-dsc", "manager-dsc"):
        caller = api.as_(username)
        for path in (f"/api/v1/cards/{reissued}", f"/api/v1/cards/{card}", f"{M}/{member_id}",
                     f"{M}?store=XHC&q=玉兰"):
            response = caller.get(path)
            assert response.status_code == 403, (username, path)
            assert "金玉兰" not in response.get_data(as_text=True)  # not even the blocked card's name
        assert caller.get(f"{M}?q=玉兰").get_json()["members"] == []  # own shop's search
    manager = api.as_("manager-dsc")
    for path in (f"{M}/{member_id}/statement", f"{M}/{member_id}/card.svg", f"{M}/{member_id}/card.png",
                 f"{M}/cards/sheet?store=XHC"):
        assert manager.get(path).status_code == 403, path
    assert manager.post(f"{M}/{member_id}/cards", json={"id": str(uuid.uuid4())}).status_code == 403
    assert api.as_("clerk-dsc").post(M, json=member_body("XHC")).status_code == 403
    for bureau in ("auditor", "admin"):
        assert api.as_(bureau).get(f"/api/v1/cards/{reissued}").get_json()["name"] == "金玉兰"


def test_search_by_chinese_name_fragment_phone_and_card(api: Api) -> None:
    shi = register(api, name="史玉兰", phone="13318890789")
    register(api, name="曹玉兰", phone="13899260526", household="DSC-023")
    register(api, name="杨明", phone="13239451004")
    register(api, "clerk-xhc", name="金玉兰", phone="13598022387")
    clerk = api.as_("clerk-dsc")

    def names(q: str, caller: Api = clerk, store: str = "") -> list[str]:
        response = caller.get(f"{M}?q={quote(q)}" + (f"&store={store}" if store else ""))
        assert response.status_code == 200, response.get_json()
        return sorted(m["name"] for m in response.get_json()["members"])

    assert names("玉兰") == ["史玉兰", "曹玉兰"]
    assert names("玉兰", api.as_("auditor")) == ["史玉兰", "曹玉兰", "金玉兰"]
    assert names("玉兰", api.as_("auditor"), "XHC") == ["金玉兰"]
    assert names("0789") == ["史玉兰"]
    assert names("13239451004") == ["杨明"]
    assert names(shi["card_number"]) == ["史玉兰"]
    assert names("DSC-023") == ["曹玉兰"]
    assert names("%") == [] and names("王") == []
    assert sorted(m["name"] for m in clerk.get(M).get_json()["members"]) == ["史玉兰", "曹玉兰", "杨明"]
    assert clerk.get(f"{M}?q={'x' * 51}").status_code == 400


# ---------------------------------------------------------------------------------------------- cards on paper


def test_card_images(api: Api) -> None:
    answer = register(api, name=XSS)
    manager = api.as_("manager-dsc")
    svg = manager.get(f"{M}/{answer['member_id']}/card.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert "default-src 'none'" in svg.headers["Content-Security-Policy"]
    root = ET.fromstring(svg.data)
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert XSS in texts and "东山村信用超市" in texts
    assert b"<img" not in svg.data

    png = manager.get(f"{M}/{answer['member_id']}/card.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert Image.open(io.BytesIO(png.data)).size == CARD_PNG_SIZE
    assert api.as_("clerk-dsc").get(f"{M}/{answer['member_id']}/card.png").status_code == 403


def test_the_a4_sheet_escapes_names_and_puts_ten_cards_on_a_page(api: Api) -> None:
    register(api, name=XSS, household="DSC-001")
    for i in range(10):
        register(api, name=f"村民{i}", phone=None, household="DSC-002")
    manager = api.as_("manager-dsc")
    sheet = manager.get(f"{M}/cards/sheet")
    assert sheet.status_code == 200 and sheet.mimetype == "text/html"
    page = sheet.get_data(as_text=True)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script" not in page and "default-src 'none'" in sheet.headers["Content-Security-Policy"]
    assert "@page" in page and "A4" in page
    assert page.count('<section class="sheet"') == 2 and page.count("<svg ") == 11

    household = manager.get(f"{M}/cards/sheet?store=DSC&household=DSC-001").get_data(as_text=True)
    assert household.count("<svg ") == 1
    english = manager.get(f"{M}/cards/sheet?household=NONE", headers={"Accept-Language": "en"})
    assert english.status_code == 200 and "No members match" in english.get_data(as_text=True)


def test_member_list_cli(api: Api, runner: CliRunner) -> None:
    register(api, name="史玉兰", phone="13318890789")
    register(api, "clerk-xhc", name="金玉兰", phone="13598022387")
    result = runner.invoke(main, ["member", "list", "--store", "DSC"])
    assert result.exit_code == 0, result.output
    assert "史玉兰" in result.output and "133****0789" in result.output
    assert "金玉兰" not in result.output and "13318890789" not in result.output
    found = runner.invoke(main, ["member", "list", "-q", "玉兰"])
    assert "史玉兰" in found.output and "金玉兰" in found.output and "2 member(s)" in found.output
    unknown = runner.invoke(main, ["member", "list", "--store", "NOPE"])
    assert unknown.exit_code == 1 and "Traceback" not in unknown.output
