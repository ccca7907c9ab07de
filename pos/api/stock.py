"""Stock routes: receipts (入库), adjustments, stocktakes (盘点), transfers, levels, value, movements, check.

A manager acts on their own shop only (403 otherwise); the bureau (auditor, admin) reads every shop. Every
creating POST is exactly-once by its client `id` (pos.idempotency.create_once); the movements it writes carry
`ref = "<kind>:<id>"`.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from flask import Blueprint
from pydantic import Field
from sqlalchemy.orm import Session

from core.errors import ValidationFailed
from core.stores import Store, get_store_by_code
from inventory import stock
from inventory.models import ADJUSTMENT_REASONS
from inventory.products import get_product
from pos import db
from pos.api.common import DB_INT_MAX, Schema, endpoint
from pos.auth import current_principal
from pos.idempotency import create_once

bp = Blueprint("stock", __name__)

MANAGER = ("manager",)
READERS = ("manager", "auditor", "admin")
MAX_LINES = 1000

StoreCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,16}$")]
BarcodeText = Annotated[str, Field(min_length=1, max_length=32)]
Qty = Annotated[int, Field(strict=True, ge=1, le=stock.MAX_QTY)]
Note = Annotated[str, Field(max_length=stock.NOTE_MAX)]


class LineIn(Schema):
    barcode: BarcodeText
    qty: Qty


class ReceiptIn(Schema):
    id: UUID
    store: StoreCode
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    note: Note | None = None


class AdjustmentIn(Schema):
    id: UUID
    store: StoreCode
    barcode: BarcodeText
    qty_delta: Annotated[int, Field(strict=True, ge=-stock.MAX_QTY, le=stock.MAX_QTY)]
    reason: Literal[ADJUSTMENT_REASONS]  # type: ignore[valid-type]
    note: Note | None = None


class CountIn(Schema):
    barcode: BarcodeText
    counted: Annotated[int, Field(strict=True, ge=0, le=stock.MAX_QTY)]


class StocktakeIn(Schema):
    id: UUID
    store: StoreCode
    counts: list[CountIn] = Field(min_length=1, max_length=10 * MAX_LINES)
    note: Note | None = None


class TransferIn(Schema):
    id: UUID
    from_store: StoreCode
    to_store: StoreCode
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    note: Note | None = None


class SettingsIn(Schema):
    store: StoreCode
    allow_negative: Annotated[bool, Field(strict=True)]


class ReorderLevelIn(Schema):
    store: StoreCode
    barcode: BarcodeText
    reorder_level: Annotated[int, Field(strict=True, ge=0, le=stock.MAX_QTY)]


class StoreQuery(Schema):
    store: StoreCode | None = None


class LevelsQuery(StoreQuery):
    low: bool = False
    after: Annotated[str, Field(max_length=13)] | None = None
    limit: Annotated[int, Field(ge=1, le=5000)] = 1000


class MovementsQuery(StoreQuery):
    barcode: BarcodeText | None = None
    before: Annotated[int, Field(ge=1, le=DB_INT_MAX)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


def shop_for(code: str | None) -> Store:
    """The shop a request is about: the named one (403 if it is not the caller's), or the caller's own.
    The bureau has no shop of its own, so it must name one."""
    principal = current_principal()
    if code is None:
        if principal.store_code is None:
            raise ValidationFailed("which shop?", store="required")
        code = principal.store_code
    store = get_store_by_code(db.session(), code)
    principal.require_store(store.id)
    return store


def movement_json(m: stock.MovementView) -> dict:
    return {"id": m.id, "barcode": m.barcode, "name": m.name, "kind": m.kind, "reason": m.reason,
            "qty_delta": m.qty_delta, "level_after": m.level_after, "ref": m.ref, "actor": m.actor,
            "at": m.at.isoformat(), "note": m.note}


def level_json(level: stock.LevelView) -> dict:
    return {"barcode": level.barcode, "name": level.name, "category": level.category, "unit": level.unit,
            "points_price": level.points_price, "active": level.active, "qty": level.qty,
            "reorder_level": level.reorder_level, "low": level.low, "version": level.version}


@bp.post("/stock/receipts")
@endpoint(roles=MANAGER, body=ReceiptIn, summary="Receive goods into a shop (入库)")
def receive(body: ReceiptIn):
    store, actor = shop_for(body.store), current_principal().username

    def work(session: Session):
        moved = stock.receive(session, store.id, body.lines, ref=f"receipt:{body.id}", actor=actor, note=body.note)
        return {"receipt_id": str(body.id), "store": store.code, "lines": [movement_json(m) for m in moved]}, 201

    return create_once(db.unit_of_work(), "stock.receipts", str(body.id), body, work)


@bp.post("/stock/adjustments")
@endpoint(roles=MANAGER, body=AdjustmentIn, summary="Adjust a shop's stock with a reason")
def adjust(body: AdjustmentIn):
    store, actor = shop_for(body.store), current_principal().username

    def work(session: Session):
        moved = stock.adjust(session, store.id, body.barcode, body.qty_delta, body.reason,
                             ref=f"adjustment:{body.id}", actor=actor, note=body.note)
        return {"adjustment_id": str(body.id), "store": store.code, "movement": movement_json(moved)}, 201

    return create_once(db.unit_of_work(), "stock.adjustments", str(body.id), body, work)


@bp.post("/stock/stocktakes")
@endpoint(roles=MANAGER, body=StocktakeIn, summary="Record a stocktake (盘点); differences become movements")
def stocktake(body: StocktakeIn):
    store, actor = shop_for(body.store), current_principal().username

    def work(session: Session):
        lines = stock.stocktake(session, store.id, body.counts, ref=f"stocktake:{body.id}", actor=actor,
                                note=body.note)
        return {"stocktake_id": str(body.id), "store": store.code,
                "differences": sum(1 for line in lines if line.difference),
                "lines": [{"barcode": line.barcode, "name": line.name, "expected": line.expected,
                           "counted": line.counted, "difference": line.difference} for line in lines]}, 201

    return create_once(db.unit_of_work(), "stock.stocktakes", str(body.id), body, work)


@bp.post("/stock/transfers")
@endpoint(roles=MANAGER, body=TransferIn, summary="Transfer goods from the caller's shop to another")
def transfer(body: TransferIn):
    source, actor = shop_for(body.from_store), current_principal().username
    target = get_store_by_code(db.session(), body.to_store)

    def work(session: Session):
        moved = stock.transfer(session, source.id, target.id, body.lines, ref=f"transfer:{body.id}", actor=actor,
                               note=body.note)
        after = {(m.kind, m.barcode): m.level_after for m in moved}
        return {"transfer_id": str(body.id), "from_store": source.code, "to_store": target.code,
                "lines": [{"barcode": m.barcode, "name": m.name, "qty": m.qty_delta,
                           "from_level_after": after[("transfer_out", m.barcode)], "to_level_after": m.level_after}
                          for m in moved if m.kind == "transfer_in"]}, 201

    return create_once(db.unit_of_work(), "stock.transfers", str(body.id), body, work)


@bp.get("/stock")
@endpoint(roles=READERS, query=LevelsQuery, summary="A shop's stock levels (low: under the reorder level)")
def levels(query: LevelsQuery):
    store = shop_for(query.store)
    session = db.session()
    rows = stock.stock_levels(session, store.id, low_only=query.low, after=query.after, limit=query.limit)
    return {"store": store.code, "allow_negative": stock.negative_stock_allowed(session, store.id),
            "levels": [level_json(level) for level in rows],
            "next_after": rows[-1].barcode if len(rows) == query.limit else None}


@bp.get("/stock/value")
@endpoint(roles=READERS, query=StoreQuery, summary="What a shop's stock on hand is worth in points")
def value(query: StoreQuery):
    store = shop_for(query.store)
    worth = stock.stock_value(db.session(), store.id)
    return {"store": store.code, "points": worth.points, "units": worth.units, "products": worth.products}


@bp.get("/stock/movements")
@endpoint(roles=READERS, query=MovementsQuery, summary="A shop's stock movements, newest first")
def list_movements(query: MovementsQuery):
    store = shop_for(query.store)
    session = db.session()
    product_id = get_product(session, query.barcode).id if query.barcode else None
    rows = stock.movements(session, store.id, product_id=product_id, before_id=query.before, limit=query.limit)
    return {"store": store.code, "movements": [movement_json(m) for m in rows],
            "next_before": rows[-1].id if len(rows) == query.limit else None}


@bp.get("/stock/check")
@endpoint(roles=READERS, query=StoreQuery, summary="Prove every cached level equals the sum of its movements")
def check(query: StoreQuery):
    store = shop_for(query.store)
    problems = stock.check_levels(db.session(), store.id)
    return {"store": store.code, "ok": not problems,
            "problems": [{"product_id": p.product_id, "what": p.what, "expected": p.expected, "found": p.found,
                          "movement_id": p.movement_id} for p in problems]}


@bp.put("/stock/settings")
@endpoint(roles=("manager", "admin"), body=SettingsIn, summary="A shop's stock policy: allow negative stock")
def settings(body: SettingsIn):
    store = shop_for(body.store)
    db.unit_of_work().run(lambda session: stock.set_negative_stock_allowed(session, store.id, body.allow_negative))
    return {"store": store.code, "allow_negative": body.allow_negative}


@bp.put("/stock/reorder-levels")
@endpoint(roles=MANAGER, body=ReorderLevelIn, summary="Set a product's reorder level in a shop")
def reorder_level(body: ReorderLevelIn):
    store = shop_for(body.store)
    level = db.unit_of_work().run(
        lambda session: stock.set_reorder_level(session, store.id, body.barcode, body.reorder_level))
    return {"store": store.code, **level_json(level)}
