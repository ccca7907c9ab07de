"""The catalogue: products, their price history, and lookup by barcode."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import ValidationFailed
from inventory.barcodes import INTERNAL_PREFIX, internal_code, internal_serial, validate_product_code
from inventory.errors import ProductExists, UnknownProduct
from inventory.models import DEFAULT_UNIT, Product, ProductPrice

MAX_POINTS_PRICE = 999_999
NAME_MAX, CATEGORY_MAX, UNIT_MAX = 100, 40, 16


def field_problems(*, name: str | None = None, category: str | None = None, unit: str | None = None,
                   points_price: object = None) -> dict[str, str]:
    """What is wrong with product fields (only those given), as {field: reason}. Shared with the CSV import."""
    problems: dict[str, str] = {}
    if name is not None and not name.strip():
        problems["name"] = "empty"
    elif name is not None and len(name.strip()) > NAME_MAX:
        problems["name"] = "too_long"
    if category is not None and len(category.strip()) > CATEGORY_MAX:
        problems["category"] = "too_long"
    if unit is not None and not unit.strip():
        problems["unit"] = "empty"
    elif unit is not None and len(unit.strip()) > UNIT_MAX:
        problems["unit"] = "too_long"
    if points_price is not None and (
        isinstance(points_price, bool) or not isinstance(points_price, int)
        or not 0 < points_price <= MAX_POINTS_PRICE
    ):
        problems["points_price"] = "not_a_whole_number_1_to_999999"
    return problems


def _require(**fields: object) -> None:
    problems = field_problems(**fields)  # type: ignore[arg-type]
    if problems:
        raise ValidationFailed("invalid product", **problems)


def find_product(session: Session, code: str) -> Product | None:
    """The product with this scanned/typed code, or None. A malformed code raises `InvalidBarcode`.

    One indexed lookup on the unique barcode.
    """
    return session.scalars(select(Product).where(Product.barcode == validate_product_code(code))).one_or_none()


def get_product(session: Session, code: str) -> Product:
    """Like `find_product`, but a missing product raises `UnknownProduct`."""
    product = find_product(session, code)
    if product is None:
        raise UnknownProduct("no product with this barcode", barcodes=[validate_product_code(code)])
    return product


def products_by_barcodes(session: Session, codes: Iterable[str], *, active_only: bool = False) -> dict[str, Product]:
    """{canonical code: product} for every code; `UnknownProduct` lists all codes that have none.

    With `active_only`, a product taken off sale counts as unknown (reason "inactive").
    """
    canonical = list(dict.fromkeys(validate_product_code(code) for code in codes))
    found = {p.barcode: p for p in session.scalars(select(Product).where(Product.barcode.in_(canonical)))}
    missing = [code for code in canonical if code not in found]
    inactive = [code for code in canonical if code in found and active_only and not found[code].active]
    if missing or inactive:
        raise UnknownProduct("unknown products", barcodes=missing + inactive,
                             **({"inactive": inactive} if inactive else {}))
    return found


def allocate_internal_code(session: Session) -> str:
    """The next free in-store code (prefix 20): one above the highest we have issued."""
    lowest, highest = internal_code(1), INTERNAL_PREFIX + "9" * 11
    last = session.scalar(select(func.max(Product.barcode))
                          .where(Product.barcode >= lowest, Product.barcode <= highest))
    serial = internal_serial(last) if last else 0
    return internal_code((serial or 0) + 1)


def create_product(session: Session, *, name: str, points_price: int, barcode: str | None = None,
                   unit: str = DEFAULT_UNIT, category: str = "", actor: str,
                   at: datetime | None = None) -> Product:
    """A new product with its first price. Without a barcode it gets an internal code (prefix 20).

    Refuses a malformed barcode (`InvalidBarcode`) and one already in the catalogue (`ProductExists`).
    """
    _require(name=name, category=category, unit=unit, points_price=points_price)
    at = at or utcnow()
    fields = {"name": name.strip(), "category": category.strip(), "unit": unit.strip(),
              "points_price": points_price, "active": True, "created_at": at, "updated_at": at}
    if barcode is not None:
        code = validate_product_code(barcode)
        if session.scalar(select(Product.id).where(Product.barcode == code)) is not None:
            raise ProductExists("a product with this barcode exists", barcode=code)
        product = Product(barcode=code, internal_code=False, **fields)
        session.add(product)
        session.flush()
    else:
        product = _create_with_internal_code(session, fields)
    session.add(ProductPrice(product_id=product.id, points_price=points_price, valid_from=at, actor=actor))
    session.flush()
    return product


def _create_with_internal_code(session: Session, fields: dict[str, object]) -> Product:
    # Two shops allocating at once on PostgreSQL may pick the same next code; the loser's insert fails on the
    # unique index inside a savepoint and it takes the next one (it now sees the winner's row).
    for _attempt in range(10):
        product = Product(barcode=allocate_internal_code(session), internal_code=True, **fields)
        try:
            with session.begin_nested():
                session.add(product)
                session.flush()
            return product
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate an internal product code")


def update_product(session: Session, code: str, *, name: str | None = None, category: str | None = None,
                   unit: str | None = None, active: bool | None = None, at: datetime | None = None) -> Product:
    """Change the descriptive fields of a product (not its price: see `change_price`)."""
    _require(name=name, category=category, unit=unit)
    product = get_product(session, code)
    for field, value in (("name", name), ("category", category), ("unit", unit)):
        if value is not None:
            setattr(product, field, value.strip())
    if active is not None:
        product.active = active
    product.updated_at = at or utcnow()
    session.flush()
    return product


def change_price(session: Session, code: str, points_price: int, *, actor: str,
                 at: datetime | None = None) -> Product:
    """A new price from `at` (default now), kept in the history; the same price again changes nothing."""
    _require(points_price=points_price)
    product = get_product(session, code)
    if product.points_price == points_price:
        return product
    at = at or utcnow()
    session.add(ProductPrice(product_id=product.id, points_price=points_price, valid_from=at, actor=actor))
    product.points_price = points_price
    product.updated_at = at
    session.flush()
    return product


def current_price(session: Session, product_id: int, at: datetime | None = None) -> int:
    """The points price of a product now, or at a past moment `at` (from the history)."""
    if at is None:
        price = session.scalar(select(Product.points_price).where(Product.id == product_id))
    else:
        price = session.scalar(select(ProductPrice.points_price)
                               .where(ProductPrice.product_id == product_id, ProductPrice.valid_from <= at)
                               .order_by(ProductPrice.valid_from.desc(), ProductPrice.id.desc()).limit(1))
    if price is None:
        raise UnknownProduct("no price for this product at that time", product_id=product_id)
    return price


def price_history(session: Session, product_id: int) -> list[ProductPrice]:
    """Oldest first."""
    return list(session.scalars(select(ProductPrice).where(ProductPrice.product_id == product_id)
                                .order_by(ProductPrice.valid_from, ProductPrice.id)))
