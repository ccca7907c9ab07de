"""Every route × every role × own shop / other shop gets the status the permission table expects."""

from __future__ import annotations

import pytest
from flask import Flask

from pos import create_app
from tests.permissions import PUBLIC, Case, all_cases
from tests.support import Api

CASES = all_cases()
OWN, OTHER = "DSC", "XHC"
USERS = {"admin": "admin", "auditor": "auditor", "manager": "manager-dsc", "clerk": "clerk-dsc",
         "coordinator": "coordinator-dsc", "print_agent": "agent-dsc"}
SKIP_RULES = {"/static/<path:filename>"}


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


def _call(api: Api, case: Case, store: str):  # type: ignore[no-untyped-def]
    body = case.body(store) if case.body else None
    return api._call(case.method, case.url(store), json=body)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.rule}")
def test_route_permissions(app: Flask, api: Api, case: Case) -> None:
    if case.allowed == PUBLIC:
        status = _call(api, case, OWN).status_code
        assert status != 403 and status < 500, f"public {case.rule} answered {status}"
        return
    assert _call(api, case, OWN).status_code == 401, "no token must be 401"
    for role, username in USERS.items():
        caller = api.as_(username)
        status = _call(caller, case, OWN).status_code
        assert status < 500, f"{role} on {case.method} {case.rule} got a server error"
        if role in case.allowed:
            assert status not in (401, 403), f"{role} should pass {case.method} {case.rule}, got {status}"
            if case.shop_scoped and role not in ("admin", "auditor"):
                other = _call(caller, case, OTHER).status_code
                assert other == 403, f"{role} of {OWN} on {OTHER}'s {case.rule} should be 403, got {other}"
        else:
            assert status == 403, f"{role} should be refused {case.method} {case.rule}, got {status}"
