"""Members and cards. The seeded databases have no members, so the rows that name one meet 404 (or 422
unknown_card) for the roles that pass: what matters here is who passes the role and shop checks. Reading and
changing another shop's real members is refused in tests/integration/test_members_api.py."""

import uuid

from tests.permissions import Case

NOBODY = "00000000-0000-4000-8000-000000000000"
UNISSUED_CARD = "1000000000000002"  # a valid check digit, never issued
REGISTRARS = frozenset({"manager", "clerk"})
READERS = frozenset({"manager", "clerk", "coordinator", "auditor", "admin"})
STATEMENT_READERS = frozenset({"manager", "clerk", "auditor", "admin"})
MANAGER = frozenset({"manager"})
M = "/api/v1/members"


def new_member(store: str) -> dict:
    return {"id": str(uuid.uuid4()), "name": "权限测试", "store": store, "consent": True}


CASES = [
    Case("POST", M, REGISTRARS, body=new_member, shop_scoped=True),
    Case("GET", "/api/v1/cards/<card_number>", READERS, path=f"/api/v1/cards/{UNISSUED_CARD}"),
    Case("GET", M, READERS, path=f"{M}?store={{store}}&q=test", shop_scoped=True),
    Case("GET", f"{M}/<member_id>", READERS, path=f"{M}/{NOBODY}"),
    Case("GET", f"{M}/<member_id>/statement", STATEMENT_READERS, path=f"{M}/{NOBODY}/statement"),
    Case("POST", f"{M}/<member_id>/cards", MANAGER, path=f"{M}/{NOBODY}/cards",
         body=lambda store: {"id": str(uuid.uuid4())}),
    Case("GET", f"{M}/<member_id>/card.svg", MANAGER, path=f"{M}/{NOBODY}/card.svg"),
    Case("GET", f"{M}/<member_id>/card.png", MANAGER, path=f"{M}/{NOBODY}/card.png"),
    Case("POST", f"{M}/<member_id>/card/print", REGISTRARS, path=f"{M}/{NOBODY}/card/print"),
    Case("GET", f"{M}/cards/sheet", MANAGER, path=f"{M}/cards/sheet?store={{store}}", shop_scoped=True),
]
