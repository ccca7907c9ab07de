"""The bureau's dashboard: points issued against redeemed per month and shop, the top activity categories, and
the stock value of each shop, as data (for the page's tables and the exports) and as SVG charts.

Months are shop-time (Asia/Shanghai) calendar months; each month is its own cut of the journal, so its figures
are the reconciliation's for that month (redeemed is net of voids).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from inventory.stock import stock_value
from ledger.models import DONATION, REDEMPTION, REVERSAL, VOLUNTEER_HOURS
from pos.bureau import charts, journal
from pos.bureau.journal import transfers
from pos.bureau.periods import SHOP_TZ, Cut, Period, cut, head_seq, local_midnight, seq_before
from pos.bureau.reconciliation import CategoryLine, categories_by_store, merge_categories

MAX_MONTHS = 36
TOP_CATEGORIES = 10


@dataclass
class MonthFigures:
    month: str  # YYYY-MM
    issued: int = 0
    redeemed: int = 0  # net of voids


@dataclass
class StoreStock:
    code: str
    name: str
    points: int
    units: int
    products: int


@dataclass
class Dashboard:
    period: Period
    cut: Cut
    selected: list[str] | None
    months: list[str]
    by_store: dict[str, list[MonthFigures]]  # shop code → one entry per month
    total: list[MonthFigures]
    categories: list[CategoryLine]
    stock: list[StoreStock]
    names: dict[str, str] = field(default_factory=dict)
    store_categories: dict[str, list[CategoryLine]] = field(default_factory=dict)  # shop code → its top lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {**self.period.to_dict(), **self.cut.to_dict()}, "stores_selected": self.selected,
            "months": self.months,
            "monthly": [{"month": m.month, "issued": m.issued, "redeemed": m.redeemed} for m in self.total],
            "stores": [{"store": code, "name": self.names.get(code, ""),
                        "monthly": [{"month": m.month, "issued": m.issued, "redeemed": m.redeemed} for m in months],
                        "top_categories": [c.to_dict() for c in self.store_categories.get(code, [])]}
                       for code, months in self.by_store.items()],
            "top_categories": [c.to_dict() for c in self.categories],
            "stock_value": [{"store": s.code, "name": s.name, "points": s.points, "units": s.units,
                             "products": s.products} for s in self.stock],
        }


def month_starts(period: Period, now: datetime) -> list[date]:
    """The first days of the months the period touches (the last 12 up to now when it is open-ended)."""
    end = (period.end or now).astimezone(SHOP_TZ)
    last = date(end.year, end.month, 1)
    if period.end is not None and end == end.replace(day=1, hour=0, minute=0, second=0, microsecond=0):
        last = _add_months(last, -1)  # a period ending at a month's first instant does not touch that month
    first = _add_months(last, -11)
    if period.start is not None:
        start = period.start.astimezone(SHOP_TZ)
        first = max(date(start.year, start.month, 1), _add_months(last, -(MAX_MONTHS - 1)))
    months = []
    while first <= last:
        months.append(first)
        first = _add_months(first, 1)
    return months


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def build(session: Session, period: Period, store_ids: Sequence[int] | None = None,
          now: datetime | None = None) -> Dashboard:
    conn = session.connection()
    names = journal.store_names(conn)
    selected = list(names) if store_ids is None else list(dict.fromkeys(store_ids))
    codes = {s: names[s][0] for s in selected if s in names}
    starts = month_starts(period, now or utcnow())
    head = head_seq(conn)
    bounds = [seq_before(conn, local_midnight(d), head, default=0) for d in starts]
    bounds.append(seq_before(conn, local_midnight(_add_months(starts[-1], 1)), head, default=head))
    labels = [d.strftime("%Y-%m") for d in starts]
    by_store = {codes[s]: [MonthFigures(label) for label in labels] for s in selected if s in codes}
    t, original = transfers, transfers.alias("original")
    for i in range(len(labels)):
        lo, hi = bounds[i], bounds[i + 1]
        if hi <= lo:
            continue
        in_month = (t.c.seq > lo) & (t.c.seq <= hi)
        flows = (select(t.c.store_id, t.c.code, func.sum(t.c.amount))
                 .where(in_month, t.c.code.in_((VOLUNTEER_HOURS, DONATION, REDEMPTION)), t.c.store_id.in_(selected))
                 .group_by(t.c.store_id, t.c.code))
        for store_id, code, amount in conn.execute(flows):
            figures = by_store[codes[store_id]][i]
            if code == REDEMPTION:
                figures.redeemed += int(amount)
            else:
                figures.issued += int(amount)
        voids = (select(t.c.store_id, func.sum(t.c.amount))
                 .select_from(t.join(original, original.c.seq == t.c.reverses_seq))
                 .where(in_month, t.c.code == REVERSAL, original.c.code == REDEMPTION, t.c.store_id.in_(selected))
                 .group_by(t.c.store_id))
        for store_id, amount in conn.execute(voids):
            by_store[codes[store_id]][i].redeemed -= int(amount)
    total = [MonthFigures(label) for label in labels]
    for months in by_store.values():
        for i, m in enumerate(months):
            total[i].issued += m.issued
            total[i].redeemed += m.redeemed
    position = cut(conn, period)
    groups = categories_by_store(conn, position, list(selected))
    top = merge_categories(groups.values())[:TOP_CATEGORIES]
    store_top = {code: merge_categories([groups.get(store_id, [])])[:TOP_CATEGORIES]
                 for store_id, code in codes.items()}
    stock = []
    for store_id in selected:
        if store_id in codes:
            value = stock_value(session, store_id)
            stock.append(StoreStock(codes[store_id], names[store_id][1], value.points, value.units, value.products))
    stock.sort(key=lambda s: (-s.points, s.code))
    return Dashboard(period, position, None if store_ids is None else [codes[s] for s in selected if s in codes],
                     labels, by_store, total, top, stock, {code: names[s][1] for s, code in codes.items()},
                     store_top)


def chart(board: Dashboard, name: str, lang: str, store: str | None = None) -> str:
    """One of the dashboard's charts as an SVG document: `monthly` (all the selected shops, or `store`'s),
    `categories`, `stock`."""
    from pos.i18n import translate

    def t(key: str) -> str:
        return translate(f"bureau.chart.{key}", lang)

    if name == "monthly":
        months = board.by_store.get(store, []) if store else board.total
        title = t("monthly") + (f" · {store} {board.names.get(store, '')}" if store else "")
        return charts.grouped_bars(title, [m.month for m in months],
                                   [(t("issued"), [m.issued for m in months]),
                                    (t("redeemed"), [m.redeemed for m in months])])
    if name == "categories":
        rows = [(_category_label(c, lang), c.points) for c in board.categories]
        return charts.horizontal_bars(t("categories"), rows)
    if name == "stock":
        return charts.horizontal_bars(t("stock"), [(f"{s.code} {s.name}", s.points) for s in board.stock])
    raise ValueError(f"no chart {name!r}")


def _category_label(line: CategoryLine, lang: str) -> str:
    from pos.i18n import translate

    if line.category_id is not None:
        return line.name_en if lang == "en" and line.name_en else line.name_zh
    return translate(f"bureau.kind.{line.kind}", lang)


def monthly_rows(board: Dashboard) -> list[tuple[str, str, int, int]]:
    """(shop, month, issued, redeemed) for the exports."""
    rows: list[tuple[str, str, int, int]] = []
    for code, months in board.by_store.items():
        rows.extend((code, m.month, m.issued, m.redeemed) for m in months)
    return rows
