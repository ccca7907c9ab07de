"""Every route × every role × own shop / other shop gets the status the permission table expects.

The databases of this module hold the world of `tests/world.py`: real objects in both shops, so that a route
naming a sale, a member, a card, a shift, an activity, a contribution, a print job or a user meets a real one of
the caller's shop — and a real one of the other shop, which a shop user must be refused. Each test still gets its
own copy of that database: what one case changes (a void, an approval, a closed shift) no other case sees.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from openpyxl import load_workbook
from werkzeug.test import TestResponse

from pos import create_app
from tests.permissions import BUREAU, PUBLIC, Case, Shop, all_cases
from tests.support import STORES, Api
from tests.world import OTHER, OWN, WorldTemplates, shops_of, world_templates

CASES = all_cases()
USERS = {"admin": "admin", "auditor": "auditor", "manager": "manager-dsc", "clerk": "clerk-dsc",
         "coordinator": "coordinator-dsc", "print_agent": "agent-dsc"}
SKIP_RULES = {"/static/<path:filename>"}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldTemplates]:
    """Overrides the conftest's: this module's databases hold the world."""
    yield from world_templates(tmp_path_factory)


@pytest.fixture
def shops(templates: WorldTemplates, db_url: str, app: Flask) -> dict[str, Shop]:
    return shops_of(templates, db_url, app)


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
