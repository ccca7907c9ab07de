"""Products and stock routes. The seeded databases have no products, so allowed roles mostly meet 404/422: what
matters here is who passes the role and shop checks."""

import uuid

from tests.permissions import Case

BARCODE = "6920244418529"  # valid check digit, not seeded
MANAGER = frozenset({"manager"})
READERS = frozenset({"manager", "auditor", "admin"})
P = "/api/v1/products"
S = "/api/v1/stock"


def _id() -> str:
    return str(uuid.uuid4())


CASES = [
    Case("POST", P, MANAGER, body=lambda store: {"barcode": "6901234567892", "name": "测试商品", "points_price": 5}),
    Case("GET", f"{P}/<barcode>", frozenset({"clerk", "manager", "auditor", "admin"}),
         path=f"{P}/{BARCODE}?store={{store}}", shop_scoped=True),
    Case("PATCH", f"{P}/<barcode>", MANAGER, path=f"{P}/{BARCODE}", body=lambda store: {"name": "改名"}),
    Case("PUT", f"{P}/<barcode>/price", MANAGER, path=f"{P}/{BARCODE}/price", body=lambda store: {"points_price": 9}),
    Case("GET", f"{P}/<barcode>/prices", READERS, path=f"{P}/{BARCODE}/prices"),
    Case("GET", f"{P}/<barcode>/label.svg", MANAGER, path=f"{P}/{BARCODE}/label.svg"),
    Case("GET", f"{P}/<barcode>/label.png", MANAGER, path=f"{P}/{BARCODE}/label.png"),
    Case("POST", f"{P}/<barcode>/label/print", frozenset({"manager", "clerk"}), path=f"{P}/{BARCODE}/label/print",
         body=lambda store: {"store": store, "copies": 1}, shop_scoped=True),
    Case("POST", f"{S}/receipts", MANAGER, shop_scoped=True,
         body=lambda store: {"id": _id(), "store": store, "lines": [{"barcode": BARCODE, "qty": 1}]}),
    Case("POST", f"{S}/adjustments", MANAGER, shop_scoped=True,
         body=lambda store: {"id": _id(), "store": store, "barcode": BARCODE, "qty_delta": -1, "reason": "damaged"}),
    Case("POST", f"{S}/stocktakes", MANAGER, shop_scoped=True,
         body=lambda store: {"id": _id(), "store": store, "counts": [{"barcode": BARCODE, "counted": 0}]}),
    Case("POST", f"{S}/transfers", MANAGER, shop_scoped=True,
         body=lambda store: {"id": _id(), "from_store": store, "to_store": "XHC" if store == "DSC" else "DSC",
                             "lines": [{"barcode": BARCODE, "qty": 1}]}),
    Case("GET", S, READERS, path=f"{S}?store={{store}}", shop_scoped=True),
    Case("GET", f"{S}/value", READERS, path=f"{S}/value?store={{store}}", shop_scoped=True),
    Case("GET", f"{S}/movements", READERS, path=f"{S}/movements?store={{store}}", shop_scoped=True),
    Case("GET", f"{S}/check", READERS, path=f"{S}/check?store={{store}}", shop_scoped=True),
    Case("PUT", f"{S}/settings", frozenset({"manager", "admin"}), shop_scoped=True,
         body=lambda store: {"store": store, "allow_negative": False}),
    Case("PUT", f"{S}/reorder-levels", MANAGER, shop_scoped=True,
         body=lambda store: {"store": store, "barcode": BARCODE, "reorder_level": 3}),
]
