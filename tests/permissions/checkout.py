"""Sales and shifts. The seeded databases have no members, goods or sales, so the roles that pass meet 404 or 422
(unknown card, no open shift): what matters here is who passes the role and shop checks. Selling to another
shop's member, and reading, voiding and reprinting another shop's sale, are refused in
tests/integration/test_checkout_api.py."""

import uuid

from tests.permissions import Case

NO_SALE = "00000000-0000-4000-8000-000000000000"
UNISSUED_CARD = "1000000000000002"
SELLERS = frozenset({"clerk", "manager"})
READERS = frozenset({"clerk", "manager", "auditor", "admin"})
MANAGER = frozenset({"manager"})
S = "/api/v1/sales"
SH = "/api/v1/shifts"


def sale(store: str) -> dict:
    return {"id": str(uuid.uuid4()), "card_number": UNISSUED_CARD, "store": store,
            "lines": [{"barcode": "6920244418529", "qty": 1}]}


CASES = [
    Case("POST", S, SELLERS, body=sale, shop_scoped=True),
    Case("POST", f"{S}/quote", SELLERS, body=sale, shop_scoped=True),
    Case("GET", S, READERS, path=f"{S}?store={{store}}", shop_scoped=True),
    Case("GET", f"{S}/<sale_id>", READERS, path=f"{S}/{NO_SALE}"),
    Case("POST", f"{S}/<sale_id>/void", MANAGER, path=f"{S}/{NO_SALE}/void", body=lambda store: {"reason": "test"}),
    Case("POST", f"{S}/<sale_id>/reprint", SELLERS, path=f"{S}/{NO_SALE}/reprint"),
    Case("POST", f"{SH}/close", SELLERS, body=lambda store: {"id": str(uuid.uuid4())}),
    Case("GET", f"{SH}/current", SELLERS),
    Case("GET", SH, READERS, path=f"{SH}?store={{store}}", shop_scoped=True),
    Case("GET", f"{SH}/<shift_id>", READERS, path=f"{SH}/{NO_SALE}"),
]
