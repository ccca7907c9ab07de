"""The ledger against the shops' stock: the points redeemed at a shop against the goods that left it.

Three records of every sale, written by three packages in one transaction (`pos.services.checkout`):
- the ledger's redemption transfer (ref `sale:<id>`, the member → the shop's sink) and, for a void, its
  reversal;
- checkout's sale with its lines, each at the price it sold for (`sale_lines`: qty × points_price);
- the inventory's stock movements (kind `sale`, ref `sale:<id>`; a void's `void_return`, ref `void:<id>`),
  stamped with the very instant the sale (or the void) carries.

Two identities per shop, each counted over the records' own position in time:
- `redeemed_lines` — the ledger against checkout, over the journal's cut: the points redeemed less the
  points of redemptions reversed = the lines (qty × price) of the sales whose redemption transfer is in the
  period, less those of the sales whose reversal is;
- `redeemed_stock` — checkout against the inventory, over the period's instants (the sale and its movements
  carry the same one): the sales of the period less its voids = the goods that left the shop's stock through
  sales, valued at the catalogue price in force when they left (`product_prices`), less the goods voids put
  back, valued at the price they were sold for.

Both are a handful of aggregate queries over covering indexes (`pos.bureau.models`); a failing identity names
the transfers behind it with per-sale queries, which run only then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    Text,
    Uuid,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
)

from inventory.models import SALE, VOID_RETURN, ProductPrice, StockMovement
from ledger.models import REDEMPTION, REVERSAL
from pos.bureau.identity import MAX_LISTED, Identity
from pos.bureau.journal import transfers
from pos.bureau.periods import Cut, Period
from pos.sales import Sale, SaleLine

sales_table = Sale.__table__
lines_table = SaleLine.__table__
movements = StockMovement.__table__
prices = ProductPrice.__table__
FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass
class SalesCheck:
    """One shop's (or a set's) sales side for the period."""

    store_id: int | None = None
    ledger_redeemed: int = 0
    ledger_voided: int = 0  # reversals of redemptions
    lines_points: int = 0  # lines of the sales whose redemption is in the journal's cut
    lines_qty: int = 0
    void_lines_points: int = 0  # lines of the sales whose reversal is in the cut
    void_lines_qty: int = 0
    sales: int = 0  # sales made in the period (by their time)
    sales_points: int = 0
    voids: int = 0  # sales voided in the period (by the void's time)
    voids_points: int = 0
    stock_units_out: int = 0
    stock_value_out: int = 0
    stock_units_back: int = 0
    stock_value_back: int = 0
    identities: list[Identity] = field(default_factory=list)

    @property
    def ledger_net(self) -> int:
        return self.ledger_redeemed - self.ledger_voided

    @property
    def lines_net(self) -> int:
        return self.lines_points - self.void_lines_points

    @property
    def sales_net(self) -> int:
        return self.sales_points - self.voids_points

    @property
    def stock_net(self) -> int:
        return self.stock_value_out - self.stock_value_back

    def add(self, other: SalesCheck) -> None:
        for name in ("ledger_redeemed", "ledger_voided", "lines_points", "lines_qty", "void_lines_points",
                     "void_lines_qty", "sales", "sales_points", "voids", "voids_points", "stock_units_out",
                     "stock_value_out", "stock_units_back", "stock_value_back"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ledger": {"redeemed": self.ledger_redeemed, "voided": self.ledger_voided, "net": self.ledger_net},
            "lines": {"points": self.lines_points, "qty": self.lines_qty, "voided_points": self.void_lines_points,
                      "voided_qty": self.void_lines_qty, "net": self.lines_net},
            "sales": {"count": self.sales, "points": self.sales_points, "voids": self.voids,
                      "voided_points": self.voids_points, "net": self.sales_net},
            "stock": {"units_out": self.stock_units_out, "value_out": self.stock_value_out,
                      "units_back": self.stock_units_back, "value_back": self.stock_value_back,
                      "net_value": self.stock_net},
        }

    def make_identities(self) -> None:
        self.identities = [
            Identity("redeemed_lines", self.ledger_net, self.lines_net,
                     terms={"ledger_redeemed": self.ledger_redeemed, "ledger_voided": self.ledger_voided,
                            "lines_points": self.lines_points, "void_lines_points": self.void_lines_points}),
            Identity("redeemed_stock", self.sales_net, self.stock_net,
                     terms={"sales_points": self.sales_points, "voids_points": self.voids_points,
                            "stock_value_out": self.stock_value_out, "stock_value_back": self.stock_value_back,
                            "stock_units_out": self.stock_units_out, "stock_units_back": self.stock_units_back}),
        ]


def reconcile_sales(conn: Connection, period: Period, position: Cut, ledger: dict[int, tuple[int, int]]
                    ) -> dict[int | None, SalesCheck]:
    """`ledger`: per shop, the points redeemed and the points of redemptions reversed in the journal's cut
    (from the reconciliation's pass over the journal)."""
    checks: dict[int | None, SalesCheck] = {}
    for store_id, (redeemed, voided) in ledger.items():
        checks[store_id] = SalesCheck(store_id, ledger_redeemed=redeemed, ledger_voided=voided)
    if not checks:
        return checks
    start = period.start or FAR_PAST
    end = period.end or FAR_FUTURE
    _lines(conn, position, checks)
    _sales_in_time(conn, start, end, checks)
    _stock(conn, start, end, checks)
    for store_id, check in checks.items():
        check.make_identities()
        lines, stock = check.identities
        if not lines.ok:
            lines.transfers = behind_lines(conn, position, store_id)
            lines.detail = "sales_lines_disagree"
        if not stock.ok:
            stock.transfers = behind_stock(conn, start, end, store_id)
            stock.detail = "sales_stock_disagree"
    return checks


def combine(checks: Iterable[SalesCheck]) -> SalesCheck:
    """The shops together: the figures summed, an identity failing where any shop's fails."""
    total = SalesCheck()
    parts = list(checks)
    for check in parts:
        total.add(check)
    total.make_identities()
    for index, identity in enumerate(total.identities):
        for check in parts:
            own = check.identities[index]
            if not own.ok:
                identity.rows_disagree = True
                identity.transfers.extend(own.transfers)
                identity.detail = own.detail
        identity.transfers = sorted(set(identity.transfers))[:MAX_LISTED]
    return total


# ------------------------------------------------------------------------------------------------ queries


def _in_cut(column: Any, position: Cut) -> Any:
    return and_(column > position.lo, column <= position.hi)


def _lines(conn: Connection, position: Cut, checks: dict[int | None, SalesCheck]) -> None:
    s, line = sales_table, lines_table
    for seq_column, voids in ((s.c.transfer_seq, False), (s.c.reversal_seq, True)):
        query = (select(s.c.store_id, func.sum(line.c.points), func.sum(line.c.qty))
                 .select_from(s.join(line, line.c.sale_id == s.c.id))
                 .where(s.c.store_id.in_(list(checks)), _in_cut(seq_column, position))
                 .group_by(s.c.store_id))
        for store_id, points, qty in conn.execute(query):
            check = checks[store_id]
            if voids:
                check.void_lines_points += int(points)
                check.void_lines_qty += int(qty)
            else:
                check.lines_points += int(points)
                check.lines_qty += int(qty)


def _sales_in_time(conn: Connection, start: datetime, end: datetime, checks: dict[int | None, SalesCheck]) -> None:
    s = sales_table
    made = (select(s.c.store_id, func.count(), func.sum(s.c.points_total))
            .where(s.c.store_id.in_(list(checks)), s.c.created_at >= start, s.c.created_at < end)
            .group_by(s.c.store_id))
    for store_id, count, points in conn.execute(made):
        checks[store_id].sales += int(count)
        checks[store_id].sales_points += int(points)
    # `reversal_seq > 0` reads the few voided sales through their unique index (the shops are filtered here,
    # so that no other index looks better to the planner).
    store = s.c.store_id + literal_column("0")
    voided = (select(store, func.count(), func.sum(s.c.points_total))
              .where(s.c.reversal_seq > 0, s.c.voided_at >= start, s.c.voided_at < end)
              .group_by(store))
    for store_id, count, points in conn.execute(voided):
        if store_id not in checks:
            continue
        checks[store_id].voids += int(count)
        checks[store_id].voids_points += int(points)


def price_windows() -> Any:
    """Each catalogue price with the instants it was in force: [valid_from, the next price's valid_from).
    Of two prices from the same instant the later row counts, as in `inventory.products`. Materialised: a few
    rows, computed once, not once per movement."""
    p, same = prices.alias("p"), prices.alias("same")
    kept = (select(p.c.product_id, p.c.points_price, p.c.valid_from)
            .where(~exists().where(same.c.product_id == p.c.product_id, same.c.valid_from == p.c.valid_from,
                                   same.c.id > p.c.id))
            .subquery("kept"))
    until = func.lead(kept.c.valid_from).over(partition_by=kept.c.product_id, order_by=kept.c.valid_from)
    return (select(kept.c.product_id, kept.c.points_price, kept.c.valid_from.label("valid_from"),
                   until.label("valid_to"))
            .cte("price_windows").prefix_with("MATERIALIZED"))


def _stock(conn: Connection, start: datetime, end: datetime, checks: dict[int | None, SalesCheck]) -> None:
    m = movements
    windows = price_windows()
    out = (select(m.c.store_id, func.sum(-m.c.qty_delta), func.sum(-m.c.qty_delta * windows.c.points_price))
           .select_from(windows.join(m, and_(m.c.product_id == windows.c.product_id, m.c.kind == SALE,
                                             m.c.at >= windows.c.valid_from,
                                             or_(windows.c.valid_to.is_(None), m.c.at < windows.c.valid_to))))
           .where(m.c.store_id.in_(list(checks)), m.c.at >= start, m.c.at < end)
           .group_by(m.c.store_id))
    for store_id, units, value in conn.execute(out):
        checks[store_id].stock_units_out += int(units)
        checks[store_id].stock_value_out += int(value)
    # What voids put back is valued at the price it was sold for: the voided sale's line of that product.
    s, line = sales_table, lines_table
    value = m.c.qty_delta * func.coalesce(line.c.points_price, 0)
    back = (select(m.c.store_id, func.sum(m.c.qty_delta), func.sum(value))
            .select_from(m.join(s, sale_named_by(conn, m.c.ref, "void:", s.c.id))
                         .outerjoin(line, and_(line.c.sale_id == s.c.id, line.c.product_id == m.c.product_id)))
            .where(m.c.kind == VOID_RETURN, m.c.store_id.in_(list(checks)), m.c.at >= start, m.c.at < end)
            .group_by(m.c.store_id))
    for store_id, units, value in conn.execute(back):
        checks[store_id].stock_units_back += int(units)
        checks[store_id].stock_value_back += int(value)


UUID_TEXT = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def sale_named_by(conn: Connection, ref: Any, prefix: str, sale_id: Any) -> Any:
    """The join condition of a movement's `ref` (`prefix` + a sale's id) to the sale, driven from the ref, so
    that each movement finds its sale by primary key: SQLite stores ids as 32 hex digits; PostgreSQL casts the
    ref's id to uuid, only when it has a uuid's shape (one malformed ref must not fail the whole report)."""
    tail = func.substr(ref, len(prefix) + 1)
    if conn.dialect.name == "sqlite":
        return type_coerce(sale_id, String) == func.replace(tail, "-", "")
    return sale_id == case((tail.regexp_match(UUID_TEXT), cast(tail, Uuid)), else_=None)


def ref_of(conn: Connection, prefix: str, sale_id: Any) -> Any:
    """`prefix` + the sale's id as checkout writes it into refs (hyphenated), from the stored column."""
    if conn.dialect.name == "sqlite":
        raw = type_coerce(sale_id, String)  # 32 hex digits
        return (literal(prefix) + func.substr(raw, 1, 8) + "-" + func.substr(raw, 9, 4) + "-"
                + func.substr(raw, 13, 4) + "-" + func.substr(raw, 17, 4) + "-" + func.substr(raw, 21, 12))
    return literal(prefix) + cast(sale_id, Text)


# ------------------------------------------------------------------------------------------ behind a failure


def behind_lines(conn: Connection, position: Cut, store_id: int | None) -> list[int]:
    """The shop's transfers in the cut that do not agree with a sale: a redemption (or its reversal) with no
    sale (or no voided sale), and a sale whose redemption amount is not the sum of its lines."""
    t, s, line = transfers, sales_table, lines_table
    found: set[int] = set()
    orphans = (select(t.c.seq).select_from(t.outerjoin(s, s.c.transfer_seq == t.c.seq))
               .where(_in_cut(t.c.seq, position), t.c.code == REDEMPTION, t.c.store_id == store_id,
                      s.c.id.is_(None))
               .order_by(t.c.seq).limit(MAX_LISTED))
    found.update(conn.execute(orphans).scalars())
    original = transfers.alias("original")
    loose = (select(t.c.seq)
             .select_from(t.join(original, original.c.seq == t.c.reverses_seq)
                          .outerjoin(s, s.c.reversal_seq == t.c.seq))
             .where(_in_cut(t.c.seq, position), t.c.code == REVERSAL, original.c.code == REDEMPTION,
                    t.c.store_id == store_id, s.c.id.is_(None))
             .order_by(t.c.seq).limit(MAX_LISTED))
    found.update(conn.execute(loose).scalars())
    totals = (select(line.c.sale_id.label("sale_id"), func.sum(line.c.points).label("points"))
              .group_by(line.c.sale_id).subquery())
    for seq_column in (s.c.transfer_seq, s.c.reversal_seq):
        ledger_side = t.alias("ledger_side")
        disagreeing = (select(seq_column)
                       .select_from(s.join(ledger_side, ledger_side.c.seq == seq_column)
                                    .outerjoin(totals, totals.c.sale_id == s.c.id))
                       .where(_in_cut(seq_column, position), s.c.store_id == store_id,
                              or_(totals.c.points.is_(None), ledger_side.c.amount != totals.c.points,
                                  ledger_side.c.store_id.is_distinct_from(s.c.store_id)))
                       .order_by(seq_column).limit(MAX_LISTED))
        found.update(conn.execute(disagreeing).scalars())
    return sorted(int(x) for x in found)[:MAX_LISTED]


def behind_stock(conn: Connection, start: datetime, end: datetime, store_id: int | None) -> list[int]:
    """The transfers of the shop's sales (and voids) of the period whose goods did not move as sold: a
    product sold in another quantity than its line says, at another price than the catalogue's at the time, a
    movement with no line, or in another shop; and movements of no sale at all (named by nothing in the
    journal, they are counted but cannot be listed here)."""
    s, line, m = sales_table, lines_table, movements
    windows = price_windows()
    found: set[int] = set()
    for prefix, kind, sign, moment, seq_column in (("sale:", SALE, -1, s.c.created_at, s.c.transfer_seq),
                                                   ("void:", VOID_RETURN, 1, s.c.voided_at, s.c.reversal_seq)):
        moved = (select(m.c.ref.label("ref"), m.c.product_id.label("product_id"), m.c.store_id.label("store_id"),
                        func.sum(sign * m.c.qty_delta).label("qty"))
                 .where(m.c.kind == kind, m.c.at >= start, m.c.at < end)
                 .group_by(m.c.ref, m.c.product_id, m.c.store_id).subquery())
        ref = ref_of(conn, prefix, s.c.id)
        by_line = (
            select(seq_column)
            .select_from(s.join(line, line.c.sale_id == s.c.id)
                         .outerjoin(moved, and_(moved.c.ref == ref, moved.c.product_id == line.c.product_id))
                         .outerjoin(windows, and_(windows.c.product_id == line.c.product_id,
                                                  windows.c.valid_from <= s.c.created_at,
                                                  or_(windows.c.valid_to.is_(None),
                                                      s.c.created_at < windows.c.valid_to))))
            .where(s.c.store_id == store_id, moment >= start, moment < end,
                   or_(moved.c.qty.is_(None), moved.c.qty != line.c.qty, moved.c.store_id != s.c.store_id,
                       and_(literal(kind) == SALE, windows.c.points_price.is_distinct_from(line.c.points_price))))
            .limit(MAX_LISTED))
        found.update(x for x in conn.execute(by_line).scalars() if x is not None)
        stray = (select(seq_column)
                 .select_from(moved.join(s, ref_of(conn, prefix, s.c.id) == moved.c.ref)
                              .outerjoin(line, and_(line.c.sale_id == s.c.id,
                                                    line.c.product_id == moved.c.product_id)))
                 .where(moved.c.store_id == store_id, line.c.sale_id.is_(None))
                 .limit(MAX_LISTED))
        found.update(x for x in conn.execute(stray).scalars() if x is not None)
    return sorted(int(x) for x in found)[:MAX_LISTED]
