"""The ledger against the shops' stock: the points redeemed at a shop against the goods that left it.

Three records of every sale, written by three packages in one transaction (`pos.services.checkout`):
- the ledger's redemption transfer (ref `sale:<id>`, the member → the shop's sink) and, for a void, its
  reversal;
- checkout's sale with its lines, each at the price it sold for (`sale_lines`: qty × points_price);
- the inventory's stock movements (kind `sale`, ref `sale:<id>`; a void's `void_return`, ref `void:<id>`).

A sale belongs to the period of its redemption transfer and a void to the period of its reversal (the sale's
`transfer_seq` and `reversal_seq`), so the three are counted over exactly the journal's cut. Per shop:
- `redeemed_lines`: redeemed − voided in the ledger = the sale lines' qty × price of the period's sales, less
  those of its voids;
- `redeemed_stock`: the same ledger figure = the goods that left the shop's stock through those sales (their
  movements, valued at the price each line sold for), less what voids put back.

A failing identity names the transfers behind it: redemptions with no sale, sales whose transfer, lines and
movements disagree, reversals with no voided sale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, String, Text, and_, case, cast, func, literal, or_, select, type_coerce

from inventory.models import SALE, VOID_RETURN, StockMovement
from ledger.models import REDEMPTION, REVERSAL
from pos.bureau.identity import MAX_LISTED, Identity
from pos.bureau.journal import transfers
from pos.bureau.periods import Cut
from pos.sales import Sale, SaleLine

sales_table = Sale.__table__
lines_table = SaleLine.__table__
movements = StockMovement.__table__


@dataclass
class SalesCheck:
    """One shop's (or a set's) sales side for the period."""

    store_id: int | None = None
    ledger_redeemed: int = 0
    ledger_voided: int = 0  # reversals of redemptions
    sales: int = 0
    sales_points: int = 0  # the sales' own totals (points_total)
    voids: int = 0
    voids_points: int = 0
    lines_points: int = 0
    lines_qty: int = 0
    void_lines_points: int = 0
    void_lines_qty: int = 0
    stock_units_out: int = 0
    stock_value_out: int = 0
    stock_units_back: int = 0
    stock_value_back: int = 0
    unmatched_movements: int = 0  # a movement of a product the sale has no line for, or of another shop
    identities: list[Any] = field(default_factory=list)

    @property
    def ledger_net(self) -> int:
        return self.ledger_redeemed - self.ledger_voided

    def add(self, other: SalesCheck) -> None:
        for name in ("ledger_redeemed", "ledger_voided", "sales", "sales_points", "voids", "voids_points",
                     "lines_points", "lines_qty", "void_lines_points", "void_lines_qty", "stock_units_out",
                     "stock_value_out", "stock_units_back", "stock_value_back", "unmatched_movements"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ledger": {"redeemed": self.ledger_redeemed, "voided": self.ledger_voided, "net": self.ledger_net},
            "sales": {"count": self.sales, "points": self.sales_points, "voids": self.voids,
                      "voided_points": self.voids_points},
            "lines": {"points": self.lines_points, "qty": self.lines_qty, "voided_points": self.void_lines_points,
                      "voided_qty": self.void_lines_qty, "net": self.lines_points - self.void_lines_points},
            "stock": {"units_out": self.stock_units_out, "value_out": self.stock_value_out,
                      "units_back": self.stock_units_back, "value_back": self.stock_value_back,
                      "net_value": self.stock_value_out - self.stock_value_back,
                      "unmatched_movements": self.unmatched_movements},
        }


def reconcile_sales(conn: Connection, position: Cut, ledger: dict[int, tuple[int, int]]
                    ) -> dict[int | None, SalesCheck]:
    """`ledger`: per shop, the points redeemed and the points of redemptions reversed in the period (from
    the reconciliation's pass over the journal)."""
    checks: dict[int | None, SalesCheck] = {}
    for store_id, (redeemed, voided) in ledger.items():
        checks[store_id] = SalesCheck(store_id, ledger_redeemed=redeemed, ledger_voided=voided)
    _headers(conn, position, checks)
    _lines(conn, position, checks)
    _stock(conn, position, checks)
    for store_id, check in checks.items():
        lines = Identity("redeemed_lines", check.ledger_net, check.lines_points - check.void_lines_points,
                         terms={"ledger_redeemed": check.ledger_redeemed, "ledger_voided": check.ledger_voided,
                                "sales_points": check.sales_points, "voided_points": check.voids_points,
                                "lines_points": check.lines_points, "void_lines_points": check.void_lines_points})
        stock = Identity("redeemed_stock", check.ledger_net, check.stock_value_out - check.stock_value_back,
                         terms={"ledger_net": check.ledger_net, "stock_value_out": check.stock_value_out,
                                "stock_value_back": check.stock_value_back, "stock_units_out": check.stock_units_out,
                                "stock_units_back": check.stock_units_back, "lines_qty": check.lines_qty,
                                "void_lines_qty": check.void_lines_qty,
                                "unmatched_movements": check.unmatched_movements})
        if check.unmatched_movements or check.stock_units_out != check.lines_qty \
                or check.stock_units_back != check.void_lines_qty:
            stock.rows_disagree = True
        if check.sales_points != check.lines_points or check.voids_points != check.void_lines_points:
            lines.rows_disagree = True
        for identity in (lines, stock):
            if not identity.ok:
                identity.transfers = behind(conn, position, store_id)
                identity.detail = "sales whose ledger transfer, lines and stock movements disagree"
        check.identities = [lines, stock]
    return checks


def combine(checks: Iterable[SalesCheck]) -> SalesCheck:
    """The shops together: the figures summed, an identity failing where any shop's fails."""
    total = SalesCheck()
    parts = list(checks)
    for check in parts:
        total.add(check)
    for index, name in enumerate(("redeemed_lines", "redeemed_stock")):
        right = (total.lines_points - total.void_lines_points if index == 0
                 else total.stock_value_out - total.stock_value_back)
        identity = Identity(name, total.ledger_net, right)
        for check in parts:
            own = check.identities[index]
            identity.terms = {k: identity.terms.get(k, 0) + v for k, v in own.terms.items()}
            if not own.ok:
                identity.rows_disagree = True
                identity.transfers.extend(own.transfers)
        identity.transfers = sorted(set(identity.transfers))[:MAX_LISTED]
        if not identity.ok:
            identity.detail = "sales whose ledger transfer, lines and stock movements disagree"
        total.identities.append(identity)
    return total


# ------------------------------------------------------------------------------------------------ queries


def _in(column: Any, position: Cut) -> Any:
    return and_(column > position.lo, column <= position.hi)


def _headers(conn: Connection, position: Cut, checks: dict[int | None, SalesCheck]) -> None:
    s = sales_table
    for seq_column, voids in ((s.c.transfer_seq, False), (s.c.reversal_seq, True)):
        query = (select(s.c.store_id, func.count(), func.sum(s.c.points_total))
                 .where(_in(seq_column, position), s.c.store_id.in_(list(checks))).group_by(s.c.store_id))
        for store_id, count, points in conn.execute(query):
            check = checks[store_id]
            if voids:
                check.voids += int(count)
                check.voids_points += int(points)
            else:
                check.sales += int(count)
                check.sales_points += int(points)


def _lines(conn: Connection, position: Cut, checks: dict[int | None, SalesCheck]) -> None:
    s, line = sales_table, lines_table
    for seq_column, voids in ((s.c.transfer_seq, False), (s.c.reversal_seq, True)):
        query = (select(s.c.store_id, func.sum(line.c.points), func.sum(line.c.qty))
                 .select_from(s.join(line, line.c.sale_id == s.c.id))
                 .where(_in(seq_column, position), s.c.store_id.in_(list(checks))).group_by(s.c.store_id))
        for store_id, points, qty in conn.execute(query):
            check = checks[store_id]
            if voids:
                check.void_lines_points += int(points)
                check.void_lines_qty += int(qty)
            else:
                check.lines_points += int(points)
                check.lines_qty += int(qty)


def sale_ref_of(conn: Connection, prefix: str, sale_id: Any) -> Any:
    """`prefix` + the sale's id as checkout writes it into refs (hyphenated), from the stored column."""
    if conn.dialect.name == "sqlite":
        raw = type_coerce(sale_id, String)  # 32 hex digits
        return (literal(prefix) + func.substr(raw, 1, 8) + "-" + func.substr(raw, 9, 4) + "-"
                + func.substr(raw, 13, 4) + "-" + func.substr(raw, 17, 4) + "-" + func.substr(raw, 21, 12))
    return literal(prefix) + cast(sale_id, Text)


def _stock(conn: Connection, position: Cut, checks: dict[int | None, SalesCheck]) -> None:
    s, line, m = sales_table, lines_table, movements
    for seq_column, prefix, kind, sign in ((s.c.transfer_seq, "sale:", SALE, -1),
                                           (s.c.reversal_seq, "void:", VOID_RETURN, 1)):
        units = sign * m.c.qty_delta
        unmatched = or_(line.c.sale_id.is_(None), m.c.store_id != s.c.store_id)
        query = (
            select(s.c.store_id, func.sum(units), func.sum(units * func.coalesce(line.c.points_price, 0)),
                   func.sum(case((unmatched, 1), else_=0)))
            .select_from(
                s.join(m, and_(m.c.ref == sale_ref_of(conn, prefix, s.c.id), m.c.kind == kind))
                .outerjoin(line, and_(line.c.sale_id == s.c.id, line.c.product_id == m.c.product_id)))
            .where(_in(seq_column, position), s.c.store_id.in_(list(checks)))
            .group_by(s.c.store_id)
        )
        for store_id, qty, value, stray in conn.execute(query):
            check = checks[store_id]
            check.unmatched_movements += int(stray)
            if kind == SALE:
                check.stock_units_out += int(qty)
                check.stock_value_out += int(value)
            else:
                check.stock_units_back += int(qty)
                check.stock_value_back += int(value)


def behind(conn: Connection, position: Cut, store_id: int | None) -> list[int]:
    """The transfers of the shop's period whose sale does not agree: a redemption (or its reversal) with no
    sale (or no voided sale), and every sale whose transfer, lines and stock movements disagree."""
    t, s, line, m = transfers, sales_table, lines_table, movements
    found: set[int] = set()
    orphans = (select(t.c.seq).select_from(t.outerjoin(s, s.c.transfer_seq == t.c.seq))
               .where(_in(t.c.seq, position), t.c.code == REDEMPTION, t.c.store_id == store_id, s.c.id.is_(None))
               .order_by(t.c.seq).limit(MAX_LISTED))
    found.update(conn.execute(orphans).scalars())
    original = transfers.alias("original")
    loose_reversals = (
        select(t.c.seq)
        .select_from(t.join(original, original.c.seq == t.c.reverses_seq)
                     .outerjoin(s, s.c.reversal_seq == t.c.seq))
        .where(_in(t.c.seq, position), t.c.code == REVERSAL, original.c.code == REDEMPTION,
               t.c.store_id == store_id, s.c.id.is_(None))
        .order_by(t.c.seq).limit(MAX_LISTED))
    found.update(conn.execute(loose_reversals).scalars())

    for seq_column, prefix, kind, sign in ((s.c.transfer_seq, "sale:", SALE, -1),
                                           (s.c.reversal_seq, "void:", VOID_RETURN, 1)):
        line_totals = (select(line.c.sale_id.label("sale_id"), func.sum(line.c.points).label("points"),
                              func.sum(line.c.qty).label("qty"))
                       .group_by(line.c.sale_id).subquery())
        units = sign * m.c.qty_delta
        stock_totals = (
            select(s.c.id.label("sale_id"), func.sum(units).label("qty"),
                   func.sum(units * func.coalesce(line.c.points_price, 0)).label("value"),
                   func.sum(case((or_(line.c.sale_id.is_(None), m.c.store_id != s.c.store_id), 1), else_=0))
                   .label("stray"))
            .select_from(s.join(m, and_(m.c.ref == sale_ref_of(conn, prefix, s.c.id), m.c.kind == kind))
                         .outerjoin(line, and_(line.c.sale_id == s.c.id, line.c.product_id == m.c.product_id)))
            .where(_in(seq_column, position), s.c.store_id == store_id)
            .group_by(s.c.id).subquery())
        ledger_side = t.alias("ledger_side")
        disagreeing = (
            select(seq_column)
            .select_from(s.join(ledger_side, ledger_side.c.seq == seq_column)
                         .outerjoin(line_totals, line_totals.c.sale_id == s.c.id)
                         .outerjoin(stock_totals, stock_totals.c.sale_id == s.c.id))
            .where(_in(seq_column, position), s.c.store_id == store_id,
                   or_(ledger_side.c.amount != s.c.points_total,
                       line_totals.c.points.is_(None), line_totals.c.points != s.c.points_total,
                       stock_totals.c.value.is_(None), stock_totals.c.value != line_totals.c.points,
                       stock_totals.c.qty != line_totals.c.qty, stock_totals.c.stray != 0))
            .order_by(seq_column).limit(MAX_LISTED))
        found.update(conn.execute(disagreeing).scalars())
    return sorted(int(x) for x in found)[:MAX_LISTED]
