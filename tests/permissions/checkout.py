"""Sales and shifts. Each shop has a completed sale by its clerk ({sale}, in the clerk's open shift {shift}) and a
sale by its manager (so both have a shift to close), a member with points ({card}) and goods in stock."""

import uuid

from tests.permissions import Case, Shop

RICE = "6982606870703"
SELLERS = frozenset({"clerk", "manager"})
READERS = frozenset({"clerk", "manager", "auditor", "admin"})
MANAGER = frozenset({"manager"})
S = "/api/v1/sales"
SH = "/api/v1/shifts"


def sale(shop: Shop) -> dict:
    return {"id": str(uuid.uuid4()), "card_number": shop.card, "store": shop.store,
            "lines": [{"barcode": RICE, "qty": 1}]}


def sale_to(shop: Shop) -> dict:
    """No shop named: the caller's own, selling to the shop's member (the other shop's: refused)."""
    return {"id": str(uuid.uuid4()), "card_number": shop.card, "lines": [{"barcode": RICE, "qty": 1}]}


CASES = [
    Case("POST", S, SELLERS, body=sale, shop_scoped=True, expect=201),
    Case("POST", S, SELLERS, body=sale_to, shop_scoped=True, expect=201, note="the shop's member"),
    Case("POST", f"{S}/quote", SELLERS, body=sale, shop_scoped=True),
    Case("POST", f"{S}/quote", SELLERS, body=sale_to, shop_scoped=True, note="the shop's member"),
    Case("GET", S, READERS, path=f"{S}?store={{store}}", shop_scoped=True),
    Case("GET", f"{S}/<sale_id>", READERS, path=f"{S}/{{sale}}", shop_scoped=True),
    Case("POST", f"{S}/<sale_id>/void", MANAGER, path=f"{S}/{{sale}}/void", body=lambda shop: {"reason": "test"},
         shop_scoped=True),
    Case("POST", f"{S}/<sale_id>/reprint", SELLERS, path=f"{S}/{{sale}}/reprint", shop_scoped=True, expect=201),
    # Each closes their own shift: the clerk's and the manager's are both open.
    Case("POST", f"{SH}/close", SELLERS, body=lambda shop: {"id": str(uuid.uuid4())}, expect=201),
    Case("GET", f"{SH}/current", SELLERS),
    Case("GET", SH, READERS, path=f"{SH}?store={{store}}", shop_scoped=True),
    Case("GET", f"{SH}/<shift_id>", READERS, path=f"{SH}/{{shift}}", shop_scoped=True),
]
