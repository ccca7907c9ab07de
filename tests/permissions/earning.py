"""Earning: categories, rates, activities and attendance, contributions and their approval, organisations, the
public notice. Each shop has an activity ({activity}), pending volunteer hours ({contribution}) and a pending cash
donation with its receipt ({donation}), both recorded by the coordinator, so the manager may decide them. A scan
or a bulk entry uses a new member each time (`fresh_card`): a second scan-in of the same member answers 200."""

import uuid

from tests.permissions import PUBLIC, Case, Shop

OIL = "6920244418529"
RECORDERS = frozenset({"coordinator", "manager"})
READERS = frozenset({"coordinator", "manager", "auditor", "admin"})
CATEGORY_READERS = frozenset({"coordinator", "manager", "clerk", "auditor", "admin"})
LIST_READERS = frozenset({"manager", "auditor", "admin"})
MANAGER = frozenset({"manager"})
ADMIN = frozenset({"admin"})
A = "/api/v1/activities"
C = "/api/v1/contributions"


def new_activity(shop: Shop) -> dict:
    return {"id": str(uuid.uuid4()), "title": "权限测试", "category": "环境整治", "store": shop.store,
            "starts_at": "2026-01-05T09:00:00+08:00"}


def scan(shop: Shop) -> dict:
    return {"id": str(uuid.uuid4()), "card_number": shop.fresh_card(), "action": "in"}


def hours(shop: Shop) -> dict:
    return {"id": str(uuid.uuid4()), "card_number": shop.card, "kind": "volunteer_hours", "minutes": 60}


CASES = [
    Case("GET", "/api/v1/activity-categories", CATEGORY_READERS),
    Case("PUT", "/api/v1/activity-categories/<int:category_id>", ADMIN, path="/api/v1/activity-categories/1",
         body=lambda shop: {"points_per_hour": 10}),
    Case("POST", A, RECORDERS, body=new_activity, shop_scoped=True, expect=201),
    Case("GET", A, READERS, path=f"{A}?store={{store}}", shop_scoped=True),
    Case("GET", f"{A}/<activity_id>", READERS, path=f"{A}/{{activity}}", shop_scoped=True),
    Case("POST", f"{A}/<activity_id>/attendance", RECORDERS, path=f"{A}/{{activity}}/attendance", body=scan,
         shop_scoped=True, expect=201),
    Case("POST", f"{A}/<activity_id>/bulk", RECORDERS, path=f"{A}/{{activity}}/bulk", shop_scoped=True, expect=201,
         body=lambda shop: {"id": str(uuid.uuid4()), "card_numbers": [shop.fresh_card()], "minutes": 60}),
    # Hours for a member of the shop named by the card: another shop's member is refused.
    Case("POST", C, RECORDERS, body=hours, shop_scoped=True, expect=201),
    Case("POST", f"{C}/quote", RECORDERS, body=lambda shop: {"lines": [{"barcode": OIL, "qty": 1}]}),
    Case("GET", C, LIST_READERS, path=f"{C}?store={{store}}&status=pending", shop_scoped=True),
    Case("GET", f"{C}/<contribution_id>", READERS, path=f"{C}/{{contribution}}", shop_scoped=True),
    Case("POST", f"{C}/<contribution_id>/receipt", RECORDERS, path=f"{C}/{{donation}}/receipt", shop_scoped=True,
         expect=201),
    Case("POST", f"{C}/<contribution_id>/approve", MANAGER, path=f"{C}/{{contribution}}/approve", shop_scoped=True),
    Case("POST", f"{C}/<contribution_id>/reject", MANAGER, path=f"{C}/{{donation}}/reject", shop_scoped=True,
         body=lambda shop: {"reason": "权限测试"}),
    Case("POST", "/api/v1/organisations", MANAGER, shop_scoped=True, expect=201,
         body=lambda shop: {"id": str(uuid.uuid4()), "name": f"权限测试 {uuid.uuid4().hex[:6]}",
                            "store": shop.store}),
    Case("GET", "/api/v1/organisations", READERS, path="/api/v1/organisations?store={store}", shop_scoped=True),
    Case("GET", "/api/v1/earning/rates", CATEGORY_READERS),
    Case("PUT", "/api/v1/earning/rates", ADMIN, body=lambda shop: {"points_per_hour": 10,
                                                                    "cash_points_per_yuan": "1"}),
    # The public notice (公示) is public by design in every form: approved points, masked names.
    *[Case("GET", f"/api/v1/notices{suffix}", PUBLIC, path=f"/api/v1/notices{suffix}?store={{store}}")
      for suffix in ("", ".csv", ".xlsx")],
]
