"""Every route × every role × own shop / other shop gets the status the permission table expects.

The databases of this module start from their own template: the usual seed plus a small world built once per
engine through the API and the domain layer (`build_world`), with real objects in both shops, so that a route
naming a sale, a member, a card, a shift, an activity, a contribution, a print job or a user meets a real one of
the caller's shop — and a real one of the other shop, which a shop user must be refused. Each test still gets its
own copy of that database: what one case changes (a void, an approval, a closed shift) no other case sees.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from werkzeug.test import TestResponse

from core.db import UnitOfWork, utcnow
from pos import create_app
from tests.conftest import TEST_SECRET
from tests.databases import Templates
from tests.integration.test_checkout_api import OIL, RICE, add_goods, give_points, register_member, sale_body
from tests.integration.test_earning_support import SHANGHAI, activity, member
from tests.permissions import BUREAU, PUBLIC, Case, Shop, all_cases
from tests.support import STORES, Api, password_for, seed_database

CASES = all_cases()
OWN, OTHER = "DSC", "XHC"
USERS = {"admin": "admin", "auditor": "auditor", "manager": "manager-dsc", "clerk": "clerk-dsc",
         "coordinator": "coordinator-dsc", "print_agent": "agent-dsc"}
SKIP_RULES = {"/static/<path:filename>"}
C = "/api/v1/contributions"


# ---------------------------------------------------------------------------------------------- the world


def _created(response: TestResponse, status: int = 201) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _build_shop(api: Api, uow: UnitOfWork, store: str) -> dict[str, str | int]:
    """One shop's objects, made as the shop's people make them."""
    s = store.lower()
    clerk, manager, coordinator = (api.as_(f"{who}-{s}") for who in ("clerk", "manager", "coordinator"))
    add_goods(api, store)
    shopper = register_member(api, store, name="权限测试")
    give_points(uow, shopper["member_id"], 1000)
    card = shopper["card_number"]

    # The first print job of the shop: the card, claimed by the shop's agent and failed for good.
    job = _created(clerk.post(f"/api/v1/members/{shopper['member_id']}/card/print"))["job_id"]
    claimed = _created(api.as_(f"agent-{s}").post("/api/v1/print-jobs/claim", json={}), 200)["job"]
    assert claimed["job_id"] == job, claimed
    _created(api.as_(f"agent-{s}").post(f"/api/v1/print-jobs/{job}/result",
                                       json={"ok": False, "error": "paper out", "retryable": False}), 200)

    sale = _created(clerk.post("/api/v1/sales", json=sale_body(card, [(RICE, 1)])))
    _created(manager.post("/api/v1/sales", json=sale_body(card, [(OIL, 1)])))  # the manager's shift is open too
    started = (utcnow() - timedelta(hours=2)).astimezone(SHANGHAI)
    hours = _created(coordinator.post(C, json={"id": str(uuid.uuid4()), "kind": "volunteer_hours",
                                               "card_number": card, "minutes": 60}))
    donation = _created(coordinator.post(C, json={"id": str(uuid.uuid4()), "kind": "donation_cash",
                                                  "card_number": card, "amount_fen": 2000}))
    assert (hours["status"], donation["status"]) == ("pending", "pending")
    user = _created(manager.post("/api/v1/users", json={"username": f"perm-clerk-{s}", "role": "clerk",
                                                        "password": password_for("perm"), "store": store}))
    return {"store": store, "member": shopper["member_id"], "card": card, "sale": sale["sale_id"],
            "shift": sale["shift_id"], "activity": str(activity(uow, store, starts_at=started)),
            "contribution": hours["contribution_id"], "donation": donation["contribution_id"], "job": job,
            "user": user["id"]}


def build_world(url: str, workdir: Path) -> dict[str, dict[str, str | int]]:
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": TEST_SECRET,
                      "BUREAU_KEY_FILE": str(workdir / "bureau-key.pem")})
    try:
        api = Api(app, app.test_client())
        uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)
        return {store: _build_shop(api, uow, store) for store in (OWN, OTHER)}
    finally:
        app.extensions["creditmart.db"].engine.dispose()  # a PostgreSQL template takes no open connections


class WorldTemplates(Templates):
    """The seeded templates with the world added; `worlds[engine]` holds its objects' ids."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, self._seed)
        self.worlds: dict[str, dict[str, dict[str, str | int]]] = {}

    def _seed(self, url: str) -> None:
        seed_database(url)
        self.worlds[_engine(url)] = build_world(url, self.workdir)


def _engine(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldTemplates]:
    """Overrides the conftest's: this module's databases are cloned from the seed with the world."""
    t = WorldTemplates(tmp_path_factory.mktemp("permission-world"))
    yield t
    t.close()


@pytest.fixture
def shops(templates: WorldTemplates, db_url: str, app: Flask) -> dict[str, Shop]:
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)

    def fresh_card(store: str) -> str:
        return member(uow, store, name="新会员")[1]

    return {store: Shop(**objects, fresh_card=lambda store=store: fresh_card(store))  # type: ignore[arg-type]
            for store, objects in templates.worlds[_engine(db_url)].items()}


def test_the_world_is_what_the_table_names(shops: dict[str, Shop], api: Api) -> None:
    """The objects exist, each in its own shop, as the bureau reads them."""
    auditor = api.as_("auditor")
    for code, shop in shops.items():
        assert auditor.get(shop.resolve("/api/v1/sales/{sale}")).get_json()["store"] == code
        assert auditor.get(shop.resolve("/api/v1/members/{member}")).get_json()["card_number"] == shop.card
        assert auditor.get(shop.resolve("/api/v1/shifts/{shift}")).status_code == 200
        assert auditor.get(shop.resolve("/api/v1/contributions/{contribution}")).get_json()["status"] == "pending"
        assert auditor.get(shop.resolve("/api/v1/contributions/{donation}")).get_json()["status"] == "pending"
        jobs = api.as_(f"manager-{code.lower()}").get("/api/v1/print-jobs").get_json()["jobs"]
        assert {job["job_id"]: job["status"] for job in jobs}[shop.job] == "failed"
    assert shops[OWN].sale != shops[OTHER].sale and shops[OWN].card != shops[OTHER].card


# ---------------------------------------------------------------------------------------------- the table


def test_every_route_is_in_the_table() -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:///:memory:", "SECRET_KEY": "x" * 40})
    listed = {(c.method, c.rule) for c in CASES}
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule in SKIP_RULES or not (rule.rule.startswith("/api/") or rule.rule == "/healthz"):
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if (method, rule.rule) not in listed:
                missing.append(f"{method} {rule.rule}")
    assert not missing, f"routes missing from tests/permissions: {sorted(missing)}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_table_is_complete(case: Case) -> None:
    """Each row says what every allowed role gets, and a row naming a shop's objects is checked in both shops."""
    if not isinstance(case.expect, int):
        assert set(case.expect) == set(case.allowed), "expect names exactly the allowed roles"
    if case.allowed != PUBLIC and re.search(r"\{\w+\}", case.path or ""):
        assert case.shop_scoped, "a path naming a shop's objects must be checked against the other shop's"


def _call(api: Api, case: Case, shop: Shop) -> TestResponse:
    body = case.body(shop) if case.body else None
    response = api._call(case.method, case.url(shop), json=body)
    response.get_data()  # a streamed answer (the journal) runs to its end and closes its snapshot
    response.close()
    return response


def _expected_other(case: Case, role: str) -> int:
    if role not in case.allowed:
        return 403
    return case.expected(role) if role in BUREAU else 403


@pytest.mark.parametrize("case", CASES, ids=str)
def test_route_permissions(api: Api, shops: dict[str, Shop], case: Case) -> None:
    own, other = shops[OWN], shops[OTHER]
    if case.allowed == PUBLIC:
        response = _call(api, case, own)
        assert response.status_code == case.expect, response.get_data(as_text=True)[:300]
        return
    assert _call(api, case, own).status_code == 401, "no token must be 401"
    wrong = []
    for role, username in USERS.items():
        caller = api.as_(username)
        calls = [(OWN, own, case.expected(role) if role in case.allowed else 403)]
        if case.shop_scoped:
            calls.append((OTHER, other, _expected_other(case, role)))
        for code, shop, expected in calls:
            response = _call(caller, case, shop)
            if response.status_code != expected:
                wrong.append(f"{role} on {code}'s: expected {expected}, got {response.status_code} "
                             f"{response.get_data(as_text=True)[:200]}")
    assert not wrong, f"{case.method} {case.url(own)}:\n" + "\n".join(wrong)


def _text(response: TestResponse) -> str:
    if response.mimetype.endswith("spreadsheetml.sheet"):
        book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                         for cell in row if cell is not None)
    return response.get_data().decode("utf-8", "replace")


LISTINGS = [case for case in CASES
            if case.method == "GET" and case.shop_scoped and "store={store}" in (case.path or "")]


@pytest.mark.parametrize("case", LISTINGS, ids=str)
def test_a_shop_user_naming_no_shop_sees_only_their_own(api: Api, shops: dict[str, Shop], case: Case) -> None:
    """The listings and reports above, without `store=`: a shop user gets their own shop's, nothing of the other's
    (the other shop's code, name and objects appear nowhere in the answer)."""
    other = shops[OTHER]
    path = re.sub(r"store=\{store\}&?", "", case.path or "").rstrip("?&")
    traces = {"XHC", STORES[OTHER], other.member, other.card, other.sale, other.shift, other.activity,
              other.contribution, other.donation, other.job}
    for role, username in USERS.items():
        if role in BUREAU or role not in case.allowed:
            continue
        response = api.as_(username).get(path)
        assert response.status_code == case.expected(role), response.get_data(as_text=True)[:300]
        seen = sorted(trace for trace in traces if trace in _text(response))
        assert not seen, f"{role} of {OWN} on {path} sees {OTHER}'s {seen}"
