"""Stock per shop, changed only by appending movements.

Every change goes through `_post`: it locks the level rows it touches (SELECT ... FOR UPDATE on PostgreSQL; on
SQLite the transaction already holds the one writer lock, BEGIN IMMEDIATE), checks every line against the shop's
negative-stock setting, and only then writes: one movement per line, and the cached level with its version.
A refusal (`OutOfStock`) names every short line and writes nothing.

All functions take the caller's Session and never commit. `ref` says what caused a movement ("sale:<uuid>",
"receipt:<uuid>", ...) and `actor` who did it (a username, "cli", "demo").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import NotFound, ValidationFailed
from inventory.barcodes import validate_product_code
from inventory.errors import AlreadyReturned, OutOfStock
from inventory.models import (
    ADJUSTMENT,
    ADJUSTMENT_REASONS,
    DONATION_IN,
    REASONS_IN,
    REASONS_OUT,
    RECEIPT,
    SALE,
    STOCKTAKE,
    TRANSFER_IN,
    TRANSFER_OUT,
    VOID_RETURN,
    Product,
    StockLevel,
    StockMovement,
    StockSettings,
)
from inventory.products import get_product, products_by_barcodes

MAX_QTY = 999_999
REF_MAX, ACTOR_MAX, NOTE_MAX = 80, 64, 200


# ---- what the operations answer ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """A line of goods by barcode (scanned or typed; normalised and validated on use)."""

    barcode: str
    qty: int


@dataclass(frozen=True)
class Count:
    """A stocktake count: how many were found on the shelf."""

    barcode: str
    counted: int


@dataclass(frozen=True)
class MovementView:
    id: int
    store_id: int
    product_id: int
    barcode: str
    name: str
    kind: str
    reason: str | None
    qty_delta: int
    level_after: int
    ref: str
    actor: str
    at: datetime
    note: str | None


@dataclass(frozen=True)
class SoldLine:
    """One line of a sale, at the price it sold for (the sale keeps this price; later changes do not touch it)."""

    product_id: int
    barcode: str
    name: str
    unit: str
    qty: int
    points_price: int
    level_after: int

    @property
    def points(self) -> int:
        return self.qty * self.points_price


@dataclass(frozen=True)
class CountedLine:
    product_id: int
    barcode: str
    name: str
    expected: int
    counted: int

    @property
    def difference(self) -> int:
        return self.counted - self.expected


@dataclass(frozen=True)
class LevelView:
    store_id: int
    product_id: int
    barcode: str
    name: str
    category: str
    unit: str
    points_price: int
    active: bool
    qty: int
    reorder_level: int
    version: int

    @property
    def low(self) -> bool:
        """Under the reorder level (a level of 0 means nobody asked to be told)."""
        return self.qty < self.reorder_level


@dataclass(frozen=True)
class StockValue:
    store_id: int
    points: int  # sum of qty × current points price, over products with stock on hand
    units: int
    products: int


@dataclass(frozen=True)
class LevelProblem:
    store_id: int
    product_id: int
    what: str  # "cached_level" (cache ≠ sum of movements) or "level_after" (a movement's running level is wrong)
    expected: int
    found: int
    movement_id: int | None = None


# ---- settings ----------------------------------------------------------------------------------------------

def negative_stock_allowed(session: Session, store_id: int) -> bool:
    """Whether this shop may sell or take out more than it has (off unless the shop turned it on)."""
    return bool(session.scalar(select(StockSettings.allow_negative).where(StockSettings.store_id == store_id)))


def set_negative_stock_allowed(session: Session, store_id: int, allowed: bool, *, at: datetime | None = None) -> None:
    settings = session.get(StockSettings, store_id)
    if settings is None:
        settings = StockSettings(store_id=store_id)
        session.add(settings)
    settings.allow_negative = allowed
    settings.updated_at = at or utcnow()
    session.flush()


# ---- the operations ----------------------------------------------------------------------------------------

def receive(session: Session, store_id: int, lines: Iterable[Any], *, ref: str, actor: str,
            note: str | None = None, at: datetime | None = None) -> list[MovementView]:
    """入库: goods received into a shop. `lines`: `Line`s, (barcode, qty) pairs, or objects with those fields."""
    changes = [_Change(store_id, product, qty, RECEIPT) for product, qty in _resolve(session, lines)]
    return _post(session, changes, ref=ref, actor=actor, note=note, at=at)


def donation_in(session: Session, store_id: int, lines: Iterable[Any], *, ref: str, actor: str,
                note: str | None = None, at: datetime | None = None) -> list[MovementView]:
    """捐赠入库: donated goods entering a shop's stock (crediting the donor is the ledger's part, in `pos`)."""
    changes = [_Change(store_id, product, qty, DONATION_IN) for product, qty in _resolve(session, lines)]
    return _post(session, changes, ref=ref, actor=actor, note=note, at=at)


def adjust(session: Session, store_id: int, barcode: str, qty_delta: int, reason: str, *, ref: str, actor: str,
           note: str | None = None, at: datetime | None = None) -> MovementView:
    """An adjustment with a reason: damaged, expired, lost (take away), found (add), correction (either way)."""
    problems: dict[str, str] = {}
    if reason not in ADJUSTMENT_REASONS:
        problems["reason"] = f"one of {', '.join(ADJUSTMENT_REASONS)}"
    if not _is_whole(qty_delta) or qty_delta == 0 or abs(qty_delta) > MAX_QTY:
        problems["qty_delta"] = "a non-zero whole number within ±999999"
    elif reason in REASONS_OUT and qty_delta > 0:
        problems["qty_delta"] = f"must be negative for {reason}"
    elif reason in REASONS_IN and qty_delta < 0:
        problems["qty_delta"] = f"must be positive for {reason}"
    if problems:
        raise ValidationFailed("invalid adjustment", **problems)
    product = get_product(session, barcode)
    [movement] = _post(session, [_Change(store_id, product, qty_delta, ADJUSTMENT)], ref=ref, actor=actor,
                       note=note, at=at, reason=reason)
    return movement


def stocktake(session: Session, store_id: int, counts: Iterable[Any], *, ref: str, actor: str,
              note: str | None = None, at: datetime | None = None) -> list[CountedLine]:
    """盘点: counted quantities in; each difference from the books becomes a `stocktake` movement.

    Products not counted are left alone (a stocktake may cover one shelf). Counting one product twice in the
    same stocktake is refused. Returns every counted line with what the books said.
    """
    raw = [_pair(item, "counted", minimum=0, index=i) for i, item in enumerate(counts)]
    if not raw:
        raise ValidationFailed("nothing counted", counts="at least one count")
    products = products_by_barcodes(session, (code for code, _ in raw))
    counted: dict[int, tuple[Product, int]] = {}
    for code, qty in raw:
        product = products[validate_product_code(code)]
        if product.id in counted:
            raise ValidationFailed("counted twice", counts=f"{product.barcode} is counted more than once")
        counted[product.id] = (product, qty)
    levels = _lock_levels(session, store_id, counted, create=set())
    result = [CountedLine(p.id, p.barcode, p.name, levels[p.id].qty if p.id in levels else 0, qty)
              for p, qty in counted.values()]
    changes = [_Change(store_id, counted[line.product_id][0], line.difference, STOCKTAKE)
               for line in result if line.difference]
    if changes:
        _post(session, changes, ref=ref, actor=actor, note=note, at=at, check=False)
    return result


def transfer(session: Session, from_store_id: int, to_store_id: int, lines: Iterable[Any], *, ref: str,
             actor: str, note: str | None = None, at: datetime | None = None) -> list[MovementView]:
    """调拨: out of one shop and into another, in the caller's one transaction (both or neither)."""
    if from_store_id == to_store_id:
        raise ValidationFailed("a transfer needs two shops", to_store="must differ from from_store")
    resolved = _resolve(session, lines)
    changes = [_Change(from_store_id, product, -qty, TRANSFER_OUT) for product, qty in resolved]
    changes += [_Change(to_store_id, product, qty, TRANSFER_IN) for product, qty in resolved]
    return _post(session, changes, ref=ref, actor=actor, note=note, at=at)


def sell(session: Session, store_id: int, lines: Iterable[Any], ref: str, actor: str, *,
         at: datetime | None = None) -> list[SoldLine]:
    """Take sold goods out of a shop's stock; called by checkout inside the sale's transaction.

    `lines`: `Line`s, (barcode, qty) pairs, or objects with `.barcode` and `.qty`; lines of the same product are
    merged (the answer has one line per product, in the order first scanned). Locks the level rows. Refuses with
    `InvalidBarcode`, `UnknownProduct` (also for a product taken off sale), or `OutOfStock` naming each short
    line and its shortfall — writing nothing. Each answered line carries the current points price.
    """
    resolved = _resolve(session, lines, active_only=True)
    movements = _post(session, [_Change(store_id, product, -qty, SALE) for product, qty in resolved],
                      ref=ref, actor=actor, at=at)
    return [SoldLine(product.id, product.barcode, product.name, product.unit, qty, product.points_price,
                     movement.level_after)
            for (product, qty), movement in zip(resolved, movements, strict=True)]


def return_stock(session: Session, store_id: int, lines: Iterable[Any], ref: str, actor: str, *,
                 note: str | None = None, at: datetime | None = None) -> list[MovementView]:
    """作废退回: goods of a voided sale back into stock (products taken off sale since are accepted too)."""
    changes = [_Change(store_id, product, qty, VOID_RETURN) for product, qty in _resolve(session, lines)]
    return _post(session, changes, ref=ref, actor=actor, note=note, at=at)


def return_sale(session: Session, sale_ref: str, ref: str, actor: str, *,
                at: datetime | None = None) -> list[MovementView]:
    """Put back exactly what the movements of `sale_ref` took out, once (`AlreadyReturned` the second time)."""
    sold = list(session.scalars(select(StockMovement).where(StockMovement.ref == sale_ref,
                                                           StockMovement.kind == SALE)
                                .order_by(StockMovement.id)))
    if not sold:
        raise NotFound("no stock movements for this sale", ref=sale_ref)
    products = {p.id: p for p in session.scalars(select(Product).where(
        Product.id.in_({m.product_id for m in sold})))}
    for store_id in sorted({m.store_id for m in sold}):
        # Lock first, then look: a concurrent second return waits here and then sees the first one's movements.
        _lock_levels(session, store_id, {m.product_id: None for m in sold if m.store_id == store_id},
                     create=set())
    if session.scalar(select(StockMovement.id).where(StockMovement.ref == ref, StockMovement.kind == VOID_RETURN)
                      .limit(1)) is not None:
        raise AlreadyReturned("this sale's goods were already returned", ref=ref)
    changes = [_Change(m.store_id, products[m.product_id], -m.qty_delta, VOID_RETURN) for m in sold]
    return _post(session, changes, ref=ref, actor=actor, at=at)


def set_reorder_level(session: Session, store_id: int, barcode: str, reorder_level: int, *,
                      at: datetime | None = None) -> LevelView:
    if not _is_whole(reorder_level) or not 0 <= reorder_level <= MAX_QTY:
        raise ValidationFailed("invalid reorder level", reorder_level="a whole number 0..999999")
    product = get_product(session, barcode)
    level = _lock_levels(session, store_id, {product.id: None}, create={product.id})[product.id]
    level.reorder_level = reorder_level
    level.version += 1
    level.updated_at = at or utcnow()
    session.flush()
    return _level_view(level, product)


# ---- queries -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProductStock:
    """A product as the counter sees it: the product and, for a shop, its stock there."""

    product: Product
    store_id: int | None
    qty: int
    reorder_level: int

    @property
    def low(self) -> bool:
        return self.qty < self.reorder_level


def lookup(session: Session, code: str, store_id: int | None = None) -> ProductStock | None:
    """The product with this scanned/typed code and its stock in `store_id`, in one indexed query; None when no
    product has the code. A malformed code raises `InvalidBarcode`."""
    query = (select(Product, StockLevel.qty, StockLevel.reorder_level)
             .outerjoin(StockLevel, (StockLevel.product_id == Product.id) & (StockLevel.store_id == store_id))
             .where(Product.barcode == validate_product_code(code)))
    row = session.execute(query).first()
    if row is None:
        return None
    product, qty, reorder_level = row
    return ProductStock(product, store_id, qty or 0, reorder_level or 0)


def level_of(session: Session, store_id: int, product_id: int) -> tuple[int, int]:
    """(qty, reorder_level) of a product in a shop; (0, 0) when it never had stock there."""
    row = session.execute(select(StockLevel.qty, StockLevel.reorder_level)
                          .where(StockLevel.store_id == store_id, StockLevel.product_id == product_id)).first()
    return (row.qty, row.reorder_level) if row else (0, 0)


def stock_levels(session: Session, store_id: int, *, low_only: bool = False, after: str | None = None,
                 limit: int | None = None) -> list[LevelView]:
    """A shop's levels by barcode; `low_only` keeps those under their reorder level; `after` pages by barcode."""
    query = (select(StockLevel, Product).join(Product, Product.id == StockLevel.product_id)
             .where(StockLevel.store_id == store_id).order_by(Product.barcode))
    if low_only:
        query = query.where(StockLevel.qty < StockLevel.reorder_level)
    if after:
        query = query.where(Product.barcode > after)
    if limit is not None:
        query = query.limit(limit)
    return [_level_view(level, product) for level, product in session.execute(query)]


def low_stock(session: Session, store_id: int) -> list[LevelView]:
    return stock_levels(session, store_id, low_only=True)


def stock_value(session: Session, store_id: int) -> StockValue:
    """What a shop's stock on hand is worth in points at current prices (negative levels count as none)."""
    row = session.execute(
        select(func.coalesce(func.sum(StockLevel.qty * Product.points_price), 0).label("points"),
               func.coalesce(func.sum(StockLevel.qty), 0).label("units"),
               func.count().label("products"))
        .join(Product, Product.id == StockLevel.product_id)
        .where(StockLevel.store_id == store_id, StockLevel.qty > 0)).one()
    return StockValue(store_id, int(row.points), int(row.units), int(row.products))


def movements(session: Session, store_id: int, *, product_id: int | None = None, before_id: int | None = None,
              limit: int = 100) -> list[MovementView]:
    """A shop's movements, newest first; `before_id` pages back."""
    query = (select(StockMovement, Product).join(Product, Product.id == StockMovement.product_id)
             .where(StockMovement.store_id == store_id).order_by(StockMovement.id.desc()).limit(limit))
    if product_id is not None:
        query = query.where(StockMovement.product_id == product_id)
    if before_id is not None:
        query = query.where(StockMovement.id < before_id)
    return [_movement_view(m, p) for m, p in session.execute(query)]


def check_levels(session: Session, store_id: int | None = None) -> list[LevelProblem]:
    """Proves the cache: every level equals the sum of its movements, and every movement's `level_after` is the
    running sum up to it. An empty list means all agree."""
    levels = select(StockLevel.store_id, StockLevel.product_id, StockLevel.qty)
    sums = (select(StockMovement.store_id, StockMovement.product_id, func.sum(StockMovement.qty_delta))
            .group_by(StockMovement.store_id, StockMovement.product_id))
    chain = (select(StockMovement.id, StockMovement.store_id, StockMovement.product_id, StockMovement.qty_delta,
                    StockMovement.level_after)
             .order_by(StockMovement.store_id, StockMovement.product_id, StockMovement.id))
    if store_id is not None:
        levels = levels.where(StockLevel.store_id == store_id)
        sums = sums.where(StockMovement.store_id == store_id)
        chain = chain.where(StockMovement.store_id == store_id)
    cached = {(s, p): q for s, p, q in session.execute(levels)}
    summed = {(s, p): int(q) for s, p, q in session.execute(sums)}
    problems = [LevelProblem(s, p, "cached_level", summed.get((s, p), 0), cached.get((s, p), 0))
                for s, p in sorted(cached.keys() | summed.keys())
                if cached.get((s, p), 0) != summed.get((s, p), 0)]
    running: dict[tuple[int, int], int] = {}
    for movement_id, s, p, delta, level_after in session.execute(chain):
        running[(s, p)] = running.get((s, p), 0) + delta
        if level_after != running[(s, p)]:
            problems.append(LevelProblem(s, p, "level_after", running[(s, p)], level_after, movement_id))
    return problems


# ---- the one way stock changes -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Change:
    store_id: int
    product: Product
    delta: int
    kind: str


def _post(session: Session, changes: Sequence[_Change], *, ref: str, actor: str, note: str | None = None,
          at: datetime | None = None, reason: str | None = None, check: bool = True) -> list[MovementView]:
    _require_context(ref=ref, actor=actor, note=note)
    at = at or utcnow()
    by_store: dict[int, dict[int, int]] = {}
    for change in changes:
        deltas = by_store.setdefault(change.store_id, {})
        deltas[change.product.id] = deltas.get(change.product.id, 0) + change.delta
    levels: dict[tuple[int, int], StockLevel] = {}
    shortages: list[dict[str, Any]] = []
    products = {change.product.id: change.product for change in changes}
    for store_id in sorted(by_store):  # one lock order everywhere, so two transfers cannot deadlock
        deltas = by_store[store_id]
        allow_negative = negative_stock_allowed(session, store_id)
        # A level row is created only when goods arrive (or may go negative): a refused sale writes nothing.
        create = {pid for pid, delta in deltas.items() if delta > 0 or allow_negative}
        for pid, level in _lock_levels(session, store_id, deltas, create=create).items():
            levels[(store_id, pid)] = level
        if not check or allow_negative:
            continue
        for pid, delta in deltas.items():
            available = levels[(store_id, pid)].qty if (store_id, pid) in levels else 0
            if delta < 0 and available + delta < 0:
                product = products[pid]
                shortages.append({"store_id": store_id, "barcode": product.barcode, "name": product.name,
                                  "requested": -delta, "available": available, "short": -(available + delta)})
    if shortages:
        raise OutOfStock("not enough stock", lines=shortages)
    written: list[tuple[StockMovement, Product]] = []
    for change in changes:
        level = levels[(change.store_id, change.product.id)]
        level.qty += change.delta
        level.version += 1
        level.updated_at = at
        movement = StockMovement(store_id=change.store_id, product_id=change.product.id, qty_delta=change.delta,
                                 kind=change.kind, reason=reason, ref=ref, actor=actor, at=at,
                                 level_after=level.qty, note=note)
        session.add(movement)
        written.append((movement, change.product))
    session.flush()
    return [_movement_view(m, p) for m, p in written]


def _lock_levels(session: Session, store_id: int, product_ids: Iterable[int] | Mapping[int, Any], *,
                 create: set[int]) -> dict[int, StockLevel]:
    """The level rows of these products in this shop, locked for this transaction, creating those in `create`.

    PostgreSQL: SELECT ... FOR UPDATE, in product order. SQLite ignores FOR UPDATE; its BEGIN IMMEDIATE has
    already made this transaction the only writer. `populate_existing` refreshes rows this session loaded earlier.
    """
    ids = sorted(set(product_ids))
    levels = _select_for_update(session, store_id, ids)
    missing = [pid for pid in ids if pid not in levels and pid in create]
    if missing:
        _insert_levels_if_absent(session, store_id, missing)
        levels.update(_select_for_update(session, store_id, missing))
    return levels


def _select_for_update(session: Session, store_id: int, product_ids: list[int]) -> dict[int, StockLevel]:
    if not product_ids:
        return {}
    query = (select(StockLevel).where(StockLevel.store_id == store_id, StockLevel.product_id.in_(product_ids))
             .order_by(StockLevel.product_id).with_for_update().execution_options(populate_existing=True))
    return {level.product_id: level for level in session.scalars(query)}


def insert_levels_if_absent(session: Session) -> Any:
    """INSERT INTO stock_levels ... ON CONFLICT DO NOTHING, for SQLite or PostgreSQL: a concurrent transaction
    creating the same level row makes us wait for it and move on, instead of failing on the primary key."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(StockLevel.__table__).on_conflict_do_nothing(index_elements=["store_id", "product_id"])


def _insert_levels_if_absent(session: Session, store_id: int, product_ids: list[int]) -> None:
    now = utcnow()
    rows = [{"store_id": store_id, "product_id": pid, "qty": 0, "version": 0, "reorder_level": 0, "updated_at": now}
            for pid in product_ids]
    session.execute(insert_levels_if_absent(session), rows)


# ---- input shaping -----------------------------------------------------------------------------------------

def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pair(item: Any, qty_field: str, *, minimum: int, index: int) -> tuple[str, int]:
    if isinstance(item, tuple):
        code, qty = item
    elif isinstance(item, Mapping):
        code, qty = item["barcode"], item[qty_field]
    else:
        code, qty = item.barcode, getattr(item, qty_field)
    if not isinstance(code, str):
        raise ValidationFailed("invalid line", **{f"lines.{index}.barcode": "a barcode string"})
    if not _is_whole(qty) or not minimum <= qty <= MAX_QTY:
        raise ValidationFailed("invalid line", **{f"lines.{index}.{qty_field}": f"a whole number {minimum}..999999"})
    return code, qty


def _resolve(session: Session, lines: Iterable[Any], *, active_only: bool = False) -> list[tuple[Product, int]]:
    """Lines as (product, qty), one per product in first-seen order (the same product scanned twice adds up)."""
    raw = [_pair(item, "qty", minimum=1, index=i) for i, item in enumerate(lines)]
    if not raw:
        raise ValidationFailed("no lines", lines="at least one line")
    products = products_by_barcodes(session, (code for code, _ in raw), active_only=active_only)
    merged: dict[int, tuple[Product, int]] = {}
    for code, qty in raw:
        product = products[validate_product_code(code)]
        merged[product.id] = (product, merged.get(product.id, (product, 0))[1] + qty)
    return list(merged.values())


def _require_context(*, ref: str, actor: str, note: str | None) -> None:
    problems = {}
    if not ref or len(ref) > REF_MAX:
        problems["ref"] = f"1..{REF_MAX} characters"
    if not actor or len(actor) > ACTOR_MAX:
        problems["actor"] = f"1..{ACTOR_MAX} characters"
    if note is not None and len(note) > NOTE_MAX:
        problems["note"] = f"at most {NOTE_MAX} characters"
    if problems:
        raise ValidationFailed("invalid movement", **problems)


def _level_view(level: StockLevel, product: Product) -> LevelView:
    return LevelView(level.store_id, product.id, product.barcode, product.name, product.category, product.unit,
                     product.points_price, product.active, level.qty, level.reorder_level, level.version)


def _movement_view(movement: StockMovement, product: Product) -> MovementView:
    return MovementView(movement.id, movement.store_id, product.id, product.barcode, product.name, movement.kind,
                        movement.reason, movement.qty_delta, movement.level_after, movement.ref, movement.actor,
                        movement.at, movement.note)
