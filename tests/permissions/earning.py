"""Earning: categories, rates, activities and attendance, contributions and their approval, organisations, the
public notice. Rows that name a record use an id nobody has, so the roles that pass meet 404 (or 422 for an
unissued card): what matters here is who passes the role and shop checks. Approving another shop's real
contribution, scanning another shop's card and the like are refused in tests/integration/test_earning_api.py."""

import uuid

from tests.permissions import PUBLIC, Case

NOBODY = "00000000-0000-4000-8000-000000000000"
UNISSUED_CARD = "1000000000000002"
RECORDERS = frozenset({"coordinator", "manager"})
READERS = frozenset({"coordinator", "manager", "auditor", "admin"})
CATEGORY_READERS = frozenset({"coordinator", "manager", "clerk", "auditor", "admin"})
LIST_READERS = frozenset({"manager", "auditor", "admin"})
MANAGER = frozenset({"manager"})
ADMIN = frozenset({"admin"})
A = "/api/v1/activities"
C = "/api/v1/contributions"


def new_activity(store: str) -> dict:
    return {"id": str(uuid.uuid4()), "title": "权限测试", "category": "环境整治", "store": store,
            "starts_at": "2026-01-05T09:00:00+08:00"}


def scan(store: str) -> dict:
    return {"id": str(uuid.uuid4()), "card_number": UNISSUED_CARD, "action": "in"}


def hours(store: str) -> dict:
    return {"id": str(uuid.uuid4()), "card_number": UNISSUED_CARD, "kind": "volunteer_hours", "minutes": 60}


CASES = [
    Case("GET", "/api/v1/activity-categories", CATEGORY_READERS),
    Case("PUT", "/api/v1/activity-categories/<int:category_id>", ADMIN, path="/api/v1/activity-categories/1",
         body=lambda store: {"points_per_hour": 10}),
    Case("POST", A, RECORDERS, body=new_activity, shop_scoped=True),
    Case("GET", A, READERS, path=f"{A}?store={{store}}", shop_scoped=True),
    Case("GET", f"{A}/<activity_id>", READERS, path=f"{A}/{NOBODY}"),
    Case("POST", f"{A}/<activity_id>/attendance", RECORDERS, path=f"{A}/{NOBODY}/attendance", body=scan),
    Case("POST", f"{A}/<activity_id>/bulk", RECORDERS, path=f"{A}/{NOBODY}/bulk",
         body=lambda store: {"id": str(uuid.uuid4()), "card_numbers": [UNISSUED_CARD], "minutes": 60}),
    Case("POST", C, RECORDERS, body=hours),
    Case("POST", f"{C}/quote", RECORDERS, body=lambda store: {"lines": [{"barcode": "6920244418529", "qty": 1}]}),
    Case("GET", C, LIST_READERS, path=f"{C}?store={{store}}&status=pending", shop_scoped=True),
    Case("GET", f"{C}/<contribution_id>", READERS, path=f"{C}/{NOBODY}"),
    Case("POST", f"{C}/<contribution_id>/receipt", RECORDERS, path=f"{C}/{NOBODY}/receipt"),
    Case("POST", f"{C}/<contribution_id>/approve", MANAGER, path=f"{C}/{NOBODY}/approve"),
    Case("POST", f"{C}/<contribution_id>/reject", MANAGER, path=f"{C}/{NOBODY}/reject",
         body=lambda store: {"reason": "权限测试"}),
    Case("POST", "/api/v1/organisations", MANAGER, shop_scoped=True,
         body=lambda store: {"id": str(uuid.uuid4()), "name": f"权限测试 {uuid.uuid4().hex[:6]}", "store": store}),
    Case("GET", "/api/v1/organisations", READERS, path="/api/v1/organisations?store={store}", shop_scoped=True),
    Case("GET", "/api/v1/earning/rates", CATEGORY_READERS),
    Case("PUT", "/api/v1/earning/rates", ADMIN, body=lambda store: {"points_per_hour": 10,
                                                                     "cash_points_per_yuan": "1"}),
    # The public notice (公示) is public by design in every form: approved points, masked names.
    *[Case("GET", f"/api/v1/notices{suffix}", PUBLIC, path=f"/api/v1/notices{suffix}?store={{store}}")
      for suffix in ("", ".csv", ".xlsx")],
]
