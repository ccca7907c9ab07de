"""Members and cards. Each shop has a member ({member}) with points and an active card ({card})."""

import uuid

from tests.permissions import Case, Shop

REGISTRARS = frozenset({"manager", "clerk"})
READERS = frozenset({"manager", "clerk", "coordinator", "auditor", "admin"})
STATEMENT_READERS = frozenset({"manager", "clerk", "auditor", "admin"})
MANAGER = frozenset({"manager"})
M = "/api/v1/members"


def new_member(shop: Shop) -> dict:
    return {"id": str(uuid.uuid4()), "name": "权限测试", "store": shop.store, "consent": True}


CASES = [
    Case("POST", M, REGISTRARS, body=new_member, shop_scoped=True, expect=201),
    Case("GET", "/api/v1/cards/<card_number>", READERS, path="/api/v1/cards/{card}", shop_scoped=True),
    Case("GET", M, READERS, path=f"{M}?store={{store}}&q=test", shop_scoped=True),
    Case("GET", f"{M}/<member_id>", READERS, path=f"{M}/{{member}}", shop_scoped=True),
    Case("GET", f"{M}/<member_id>/statement", STATEMENT_READERS, path=f"{M}/{{member}}/statement",
         shop_scoped=True),
    Case("POST", f"{M}/<member_id>/cards", MANAGER, path=f"{M}/{{member}}/cards", shop_scoped=True, expect=201,
         body=lambda shop: {"id": str(uuid.uuid4())}),
    Case("GET", f"{M}/<member_id>/card.svg", MANAGER, path=f"{M}/{{member}}/card.svg", shop_scoped=True),
    Case("GET", f"{M}/<member_id>/card.png", MANAGER, path=f"{M}/{{member}}/card.png", shop_scoped=True),
    Case("POST", f"{M}/<member_id>/card/print", REGISTRARS, path=f"{M}/{{member}}/card/print", shop_scoped=True,
         expect=201),
    Case("GET", f"{M}/cards/sheet", MANAGER, path=f"{M}/cards/sheet?store={{store}}", shop_scoped=True),
]
