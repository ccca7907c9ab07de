"""The inventory's refusals, with API.md's codes (pos/errors.py maps codes to HTTP statuses)."""

from __future__ import annotations

from core.errors import DomainError


class InvalidBarcode(DomainError):
    """Not a well-formed EAN-13 / EAN-8 / UPC-A code. `details`: barcode, reason (and expected check digit)."""

    code = "invalid_barcode"


class UnknownProduct(DomainError):
    """No such product, or it is no longer sold. `details`: barcodes (list)."""

    code = "unknown_product"


class ProductExists(DomainError):
    code = "product_exists"


class OutOfStock(DomainError):
    """Details `lines`: one entry per short line with barcode, name, requested, available and short."""

    code = "out_of_stock"


class AlreadyReturned(DomainError):
    """The goods of this sale were already put back (a second void of the same sale)."""

    code = "already_voided"
