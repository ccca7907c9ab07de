"""Products and stock. The catalogue is shared by every shop (its rows are not shop-scoped); stock, labels and
settings belong to a shop. Both shops stock the world's goods ({OIL} among them)."""

import uuid

from tests.permissions import Case, Shop

OIL = "6920244418529"  # in the catalogue, in stock in both shops
NEW_BARCODE = "6901234567892"  # valid check digit, not in the catalogue
MANAGER = frozenset({"manager"})
READERS = frozenset({"manager", "auditor", "admin"})
P = "/api/v1/products"
S = "/api/v1/stock"


def _id() -> str:
    return str(uuid.uuid4())


def _other(shop: Shop) -> str:
    return "XHC" if shop.store == "DSC" else "DSC"


CASES = [
    Case("POST", P, MANAGER, body=lambda shop: {"barcode": NEW_BARCODE, "name": "测试商品", "points_price": 5},
         expect=201),
    Case("GET", f"{P}/<barcode>", frozenset({"clerk", "manager", "auditor", "admin"}),
         path=f"{P}/{OIL}?store={{store}}", shop_scoped=True),
    Case("PATCH", f"{P}/<barcode>", MANAGER, path=f"{P}/{OIL}", body=lambda shop: {"name": "改名"}),
    Case("PUT", f"{P}/<barcode>/price", MANAGER, path=f"{P}/{OIL}/price", body=lambda shop: {"points_price": 9}),
    Case("GET", f"{P}/<barcode>/prices", READERS, path=f"{P}/{OIL}/prices"),
    Case("GET", f"{P}/<barcode>/label.svg", MANAGER, path=f"{P}/{OIL}/label.svg"),
    Case("GET", f"{P}/<barcode>/label.png", MANAGER, path=f"{P}/{OIL}/label.png"),
    Case("POST", f"{P}/<barcode>/label/print", frozenset({"manager", "clerk"}), path=f"{P}/{OIL}/label/print",
         body=lambda shop: {"store": shop.store, "copies": 1}, shop_scoped=True, expect=201),
    Case("POST", f"{S}/receipts", MANAGER, shop_scoped=True, expect=201,
         body=lambda shop: {"id": _id(), "store": shop.store, "lines": [{"barcode": OIL, "qty": 1}]}),
    Case("POST", f"{S}/adjustments", MANAGER, shop_scoped=True, expect=201,
         body=lambda shop: {"id": _id(), "store": shop.store, "barcode": OIL, "qty_delta": -1, "reason": "damaged"}),
    Case("POST", f"{S}/stocktakes", MANAGER, shop_scoped=True, expect=201,
         body=lambda shop: {"id": _id(), "store": shop.store, "counts": [{"barcode": OIL, "counted": 0}]}),
    Case("POST", f"{S}/transfers", MANAGER, shop_scoped=True, expect=201,
         body=lambda shop: {"id": _id(), "from_store": shop.store, "to_store": _other(shop),
                            "lines": [{"barcode": OIL, "qty": 1}]}),
    Case("GET", S, READERS, path=f"{S}?store={{store}}", shop_scoped=True),
    Case("GET", f"{S}/value", READERS, path=f"{S}/value?store={{store}}", shop_scoped=True),
    Case("GET", f"{S}/movements", READERS, path=f"{S}/movements?store={{store}}", shop_scoped=True),
    Case("GET", f"{S}/check", READERS, path=f"{S}/check?store={{store}}", shop_scoped=True),
    Case("PUT", f"{S}/settings", frozenset({"manager", "admin"}), shop_scoped=True,
         body=lambda shop: {"store": shop.store, "allow_negative": False}),
    Case("PUT", f"{S}/reorder-levels", MANAGER, shop_scoped=True,
         body=lambda shop: {"store": shop.store, "barcode": OIL, "reorder_level": 3}),
]
