"""Catalogue import and export, CSV in the format of the shared sample catalogue:

    barcode,name,category,points_price,unit,reorder_level

An import checks every row first and reports each bad one with its line number (the header is line 1) and the
reason. With any bad row it imports nothing, unless `partial` is asked for: then the good rows go in and the bad
are still reported. A barcode already in the catalogue updates that product (a new price becomes history). With a
shop, the rows' reorder levels become that shop's; an empty reorder_level leaves the shop's level as it is.

Written for 100,000 rows: validation in plain Python, then bulk Core statements in chunks, never one ORM object
per row.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from inventory.barcodes import validate_product_code
from inventory.errors import InvalidBarcode
from inventory.models import DEFAULT_UNIT, Product, ProductPrice, StockLevel
from inventory.products import field_problems
from inventory.stock import MAX_QTY, insert_levels_if_absent

COLUMNS = ("barcode", "name", "category", "points_price", "unit", "reorder_level")
REQUIRED_COLUMNS = ("barcode", "name", "points_price")
CHUNK = 5000  # below SQLite's limit on bound parameters per statement
_WHOLE = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class CatalogRow:
    line: int
    barcode: str  # canonical
    name: str
    category: str
    points_price: int
    unit: str
    reorder_level: int | None  # None: leave the shop's level as it is


@dataclass(frozen=True)
class RowProblem:
    """A bad row: `line` in the file (header = 1), the `column` at fault (or "file"/"row"), a `reason` code, and
    `params` for the message (pos/i18n/inventory.py has the text: inventory.import.<reason>)."""

    line: int
    column: str
    reason: str
    params: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.params)
        return f"line {self.line}: {self.column}: {self.reason}" + (f" ({extra})" if extra else "")


@dataclass
class ImportReport:
    rows: int = 0  # data rows read
    created: int = 0
    updated: int = 0  # existing products whose name, category, unit or price changed
    unchanged: int = 0
    price_changes: int = 0
    levels_set: int = 0  # shop levels created or given a new reorder level
    problems: list[RowProblem] = field(default_factory=list)
    imported: bool = False  # False: nothing was written

    @property
    def ok(self) -> bool:
        return not self.problems


# ---- reading -----------------------------------------------------------------------------------------------

def decode_catalog(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel adds), else GB18030 — what Excel on a Chinese Windows saves."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _whole(raw: str) -> int | None:
    text = unicodedata.normalize("NFKC", raw).strip()
    return int(text) if _WHOLE.fullmatch(text) else None


def parse_catalog(text: str) -> tuple[list[CatalogRow], list[RowProblem]]:
    """Every good row and every problem; nothing touches the database."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [unicodedata.normalize("NFKC", h).strip().lower() for h in next(reader)]
    except StopIteration:
        return [], [RowProblem(1, "file", "empty")]
    except csv.Error as exc:
        return [], [RowProblem(1, "file", "unreadable", (("error", str(exc)),))]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [RowProblem(1, "header", "missing_columns", (("columns", ",".join(missing)),))]
    position = {name: header.index(name) for name in COLUMNS if name in header}

    rows: list[CatalogRow] = []
    problems: list[RowProblem] = []
    first_line: dict[str, int] = {}
    line = reader.line_num
    while True:
        start = line + 1  # a quoted field may span lines: report where the record starts
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(start, "row", "unreadable", (("error", str(exc)),)))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # blank lines, as spreadsheets leave at the end
        if len(record) != len(header):
            problems.append(RowProblem(start, "row", "field_count", (("expected", len(header)),
                                                                      ("found", len(record)))))
            continue
        row, row_problems = _parse_row(start, {name: record[i] for name, i in position.items()})
        if row is not None and row.barcode in first_line:
            row_problems.append(RowProblem(start, "barcode", "duplicate", (("first_line", first_line[row.barcode]),)))
            row = None
        if row is not None:
            first_line[row.barcode] = start
            rows.append(row)
        problems.extend(row_problems)
    return rows, problems


def _parse_row(line: int, cells: dict[str, str]) -> tuple[CatalogRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []
    barcode = ""
    try:
        barcode = validate_product_code(cells["barcode"])
    except InvalidBarcode as exc:
        params = tuple((k, v) for k, v in exc.details.items() if k != "reason")
        problems.append(RowProblem(line, "barcode", str(exc.details["reason"]), params))
    name = cells["name"].strip()
    category = cells.get("category", "").strip()
    unit = cells.get("unit", "").strip() or DEFAULT_UNIT
    price = _whole(cells["points_price"])
    reorder_raw = cells.get("reorder_level", "").strip()
    reorder = _whole(reorder_raw) if reorder_raw else None
    for column, reason in field_problems(name=name, category=category, unit=unit,
                                         points_price=price if price is not None else -1).items():
        problems.append(RowProblem(line, column, reason))
    if reorder_raw and (reorder is None or reorder > MAX_QTY):
        problems.append(RowProblem(line, "reorder_level", "not_a_whole_number_0_to_999999"))
    if problems:
        return None, problems
    assert price is not None
    return CatalogRow(line, barcode, name, category, price, unit, reorder), problems


# ---- importing ---------------------------------------------------------------------------------------------

def import_catalog(session: Session, data: bytes | str, *, store_id: int | None = None, actor: str,
                   partial: bool = False, at: datetime | None = None) -> ImportReport:
    """Parse and import. Bad rows: nothing is written (unless `partial`); the report lists them all."""
    text = decode_catalog(data) if isinstance(data, bytes) else data
    rows, problems = parse_catalog(text)
    if problems and not partial:
        return ImportReport(rows=len(rows) + len(problems), problems=problems)
    report = import_rows(session, rows, store_id=store_id, actor=actor, at=at)
    report.rows += len(problems)
    report.problems = problems
    return report


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def import_rows(session: Session, rows: Sequence[CatalogRow], *, store_id: int | None = None, actor: str,
                at: datetime | None = None) -> ImportReport:
    """Upsert validated rows in bulk: new products with their first price, changed ones updated (a new price as
    history), and the shop's reorder levels."""
    at = at or utcnow()
    report = ImportReport(rows=len(rows), imported=True)
    products, prices = Product.__table__, ProductPrice.__table__
    existing: dict[str, Any] = {}
    for chunk in _chunks([row.barcode for row in rows]):
        query = select(products.c.id, products.c.barcode, products.c.name, products.c.category, products.c.unit,
                       products.c.points_price).where(products.c.barcode.in_(chunk))
        existing.update({r.barcode: r for r in session.execute(query)})

    new_rows = [row for row in rows if row.barcode not in existing]
    if new_rows:
        session.execute(insert(products), [
            {"barcode": r.barcode, "name": r.name, "category": r.category, "unit": r.unit,
             "points_price": r.points_price, "active": True, "internal_code": False, "created_at": at,
             "updated_at": at} for r in new_rows])
        ids: dict[str, int] = {}
        for chunk in _chunks([row.barcode for row in new_rows]):
            ids.update({barcode: pid for barcode, pid in session.execute(
                select(products.c.barcode, products.c.id).where(products.c.barcode.in_(chunk)))})
        session.execute(insert(prices), [{"product_id": ids[r.barcode], "points_price": r.points_price,
                                          "valid_from": at, "actor": actor} for r in new_rows])
        report.created = len(new_rows)
    else:
        ids = {}

    changed, new_prices = [], []
    for row in rows:
        old = existing.get(row.barcode)
        if old is None:
            continue
        ids[row.barcode] = old.id
        if (old.name, old.category, old.unit, old.points_price) == (row.name, row.category, row.unit,
                                                                     row.points_price):
            report.unchanged += 1
            continue
        changed.append({"b_id": old.id, "b_name": row.name, "b_category": row.category, "b_unit": row.unit,
                        "b_price": row.points_price, "b_at": at})
        if old.points_price != row.points_price:
            new_prices.append({"product_id": old.id, "points_price": row.points_price, "valid_from": at,
                               "actor": actor})
    if changed:
        session.execute(update(products).where(products.c.id == bindparam("b_id")).values(
            name=bindparam("b_name"), category=bindparam("b_category"), unit=bindparam("b_unit"),
            points_price=bindparam("b_price"), updated_at=bindparam("b_at")), changed)
    if new_prices:
        session.execute(insert(prices), new_prices)
    report.updated, report.price_changes = len(changed), len(new_prices)

    if store_id is not None:
        report.levels_set = _set_reorder_levels(session, store_id, rows, ids, at)
    return report


def _set_reorder_levels(session: Session, store_id: int, rows: Sequence[CatalogRow], ids: dict[str, int],
                        at: datetime) -> int:
    levels = StockLevel.__table__
    current: dict[int, int] = {}
    for chunk in _chunks([ids[row.barcode] for row in rows]):
        current.update({pid: level for pid, level in session.execute(
            select(levels.c.product_id, levels.c.reorder_level)
            .where(levels.c.store_id == store_id, levels.c.product_id.in_(chunk)))})
    inserts, updates = [], []
    for row in rows:
        pid = ids[row.barcode]
        if pid not in current:
            inserts.append({"store_id": store_id, "product_id": pid, "qty": 0, "version": 0,
                            "reorder_level": row.reorder_level or 0, "updated_at": at})
        elif row.reorder_level is not None and current[pid] != row.reorder_level:
            updates.append({"b_pid": pid, "b_level": row.reorder_level, "b_at": at})
    if inserts:
        session.execute(insert_levels_if_absent(session), inserts)  # a receipt may create one meanwhile
    if updates:
        # Only the reorder level: qty belongs to the movements. The version moves on, as for any change.
        session.execute(update(levels).where(levels.c.store_id == store_id, levels.c.product_id == bindparam("b_pid"))
                        .values(reorder_level=bindparam("b_level"), version=levels.c.version + 1,
                                updated_at=bindparam("b_at")), updates)
    return len(inserts) + len(updates)


# ---- exporting ---------------------------------------------------------------------------------------------

def export_catalog(session: Session, out: TextIO, *, store_id: int | None = None,
                   include_inactive: bool = False) -> int:
    """Writes the catalogue as CSV (the import's format) to `out`, by barcode; with a shop, its reorder levels.
    Returns the number of products written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    query = select(Product.barcode, Product.name, Product.category, Product.points_price, Product.unit)
    if store_id is not None:
        query = query.add_columns(StockLevel.reorder_level).outerjoin(
            StockLevel, (StockLevel.product_id == Product.id) & (StockLevel.store_id == store_id))
    if not include_inactive:
        query = query.where(Product.active.is_(True))
    count = 0
    for row in session.execute(query.order_by(Product.barcode)):
        reorder = (row.reorder_level or 0) if store_id is not None else ""
        writer.writerow((row.barcode, row.name, row.category, row.points_price, row.unit, reorder))
        count += 1
    return count
