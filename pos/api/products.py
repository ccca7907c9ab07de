"""Product routes: create, look up by barcode (with this shop's stock), edit, change price, price history, labels.

The catalogue is shared by every shop; stock is per shop (pos/api/stock.py).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from flask import Blueprint, Response
from pydantic import Field
from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationFailed
from inventory import products, stock
from inventory.barcodes import shelf_label, validate_product_code
from inventory.models import DEFAULT_UNIT, Product
from pos import db
from pos.api.common import Schema, endpoint
from pos.api.stock import BarcodeText, StoreQuery, shop_for
from pos.auth import current_principal
from pos.idempotency import create_once
from pos.services import printing

bp = Blueprint("products", __name__)

PointsPrice = Annotated[int, Field(strict=True, ge=1, le=products.MAX_POINTS_PRICE)]
Name = Annotated[str, Field(min_length=1, max_length=products.NAME_MAX)]
Unit = Annotated[str, Field(min_length=1, max_length=products.UNIT_MAX)]
Category = Annotated[str, Field(max_length=products.CATEGORY_MAX)]


class ProductIn(Schema):
    """`barcode` may be left out for goods without one: they get an in-store code, and then `id` is required so
    a retried request does not create the product twice."""

    id: UUID | None = None
    barcode: BarcodeText | None = None
    name: Name
    points_price: PointsPrice
    unit: Unit = DEFAULT_UNIT
    category: Category = ""


class ProductPatch(Schema):
    name: Name | None = None
    unit: Unit | None = None
    category: Category | None = None
    active: Annotated[bool, Field(strict=True)] | None = None


class PriceIn(Schema):
    points_price: PointsPrice


class LabelPrintIn(Schema):
    store: Annotated[str, Field(pattern=r"^[A-Z0-9]{2,16}$")] | None = Field(
        default=None, description="optional; only the caller's own shop")
    copies: int = Field(default=1, strict=True, ge=1, le=printing.MAX_LABEL_COPIES,
                        description=f"labels to print, 1..{printing.MAX_LABEL_COPIES}")


def _existing(barcode: str) -> Product:
    """The product a path names; a missing one is a 404 like any other resource."""
    product = products.find_product(db.session(), barcode)
    if product is None:
        raise NotFound("no product with this barcode", barcode=validate_product_code(barcode))
    return product


def product_json(p: Product) -> dict:
    return {"id": p.id, "barcode": p.barcode, "name": p.name, "category": p.category, "unit": p.unit,
            "points_price": p.points_price, "active": p.active, "internal_code": p.internal_code}


@bp.post("/products")
@endpoint(roles=("manager",), body=ProductIn, summary="Add a product to the catalogue")
def create(body: ProductIn):
    if body.barcode is None and body.id is None:
        raise ValidationFailed("id or barcode", id="required when there is no barcode")
    # Exactly once per client id, or else per barcode: a retried POST answers what the first one did.
    key = str(body.id) if body.id else validate_product_code(body.barcode or "")
    actor = current_principal().username

    def work(session: Session):
        product = products.create_product(session, barcode=body.barcode, name=body.name,
                                          points_price=body.points_price, unit=body.unit, category=body.category,
                                          actor=actor)
        return product_json(product), 201

    return create_once(db.unit_of_work(), "products", key, body, work)


@bp.get("/products/<barcode>")
@endpoint(roles=("clerk", "manager", "auditor", "admin"), query=StoreQuery,
          summary="A product by barcode, with the stock of the caller's shop (or ?store= for the bureau)")
def show(barcode: str, query: StoreQuery):
    principal = current_principal()
    store = shop_for(query.store) if query.store or principal.store_code else None
    found = stock.lookup(db.session(), barcode, store.id if store else None)
    if found is None:
        raise NotFound("no product with this barcode", barcode=validate_product_code(barcode))
    answer = product_json(found.product)
    answer["stock"] = None if store is None else {"store": store.code, "qty": found.qty,
                                                  "reorder_level": found.reorder_level, "low": found.low}
    return answer


@bp.patch("/products/<barcode>")
@endpoint(roles=("manager",), body=ProductPatch, summary="Change a product's name, unit, category or active flag")
def edit(barcode: str, body: ProductPatch):
    fields = body.model_dump(exclude_none=True)
    if not fields:
        raise ValidationFailed("nothing to change", body="name, unit, category or active")
    _existing(barcode)
    product = db.unit_of_work().run(lambda session: products.update_product(session, barcode, **fields))
    return product_json(product)


@bp.put("/products/<barcode>/price")
@endpoint(roles=("manager",), body=PriceIn, summary="Set a product's points price from now on (kept as history)")
def set_price(barcode: str, body: PriceIn):
    actor = current_principal().username
    _existing(barcode)
    product = db.unit_of_work().run(
        lambda session: products.change_price(session, barcode, body.points_price, actor=actor))
    return product_json(product)


@bp.get("/products/<barcode>/prices")
@endpoint(roles=("manager", "auditor", "admin"), summary="A product's price history, oldest first")
def prices(barcode: str):
    session = db.session()
    product = _existing(barcode)
    return {"barcode": product.barcode, "points_price": product.points_price,
            "history": [{"points_price": row.points_price, "valid_from": row.valid_from.isoformat(),
                         "actor": row.actor} for row in products.price_history(session, product.id)]}


def _label(barcode: str, fmt: str) -> Response:
    product = _existing(barcode)
    image = shelf_label(product.barcode, product.name, product.points_price, unit=product.unit, fmt=fmt)  # type: ignore[arg-type]
    return Response(image, mimetype="image/svg+xml" if fmt == "svg" else "image/png")


@bp.get("/products/<barcode>/label.svg")
@endpoint(roles=("manager",), summary="The shelf label (name, points price, barcode) as SVG")
def label_svg(barcode: str):
    return _label(barcode, "svg")


@bp.get("/products/<barcode>/label.png")
@endpoint(roles=("manager",), summary="The shelf label as PNG")
def label_png(barcode: str):
    return _label(barcode, "png")


@bp.post("/products/<barcode>/label/print")
@endpoint(roles=("manager", "clerk"), body=LabelPrintIn,
          summary="Send the shelf label (name, points price, barcode) to the shop's receipt printer")
def label_print(barcode: str, body: LabelPrintIn):
    store = shop_for(body.store)  # the named shop (403 unless it is the caller's) or their own, before any lookup
    return db.unit_of_work().run(lambda session: printing.print_shelf_label(
        session, store, barcode, copies=body.copies)), 201
