"""The reports as Excel workbooks (openpyxl) and CSV files, with Chinese headers.

Every workbook has a summary sheet (汇总) first and then one sheet per shop:

- Reconciliation: the summary holds the selection's figures, the identities and the activity categories; each
  shop's sheet the same for that shop. CSV: one row per shop and a total row.
- Anomalies: the summary holds the flags counted by kind and by shop; each shop's sheet lists its flags and the
  transfers behind them. CSV: a row per flag.
- Dashboard: the summary holds issued and redeemed per month for the selection, the top categories and the stock
  value per shop; each shop's sheet its own months, categories and stock. CSV: a row per shop and month.
- Public notice (公示): the summary holds the shop's entry count and points; the shop's sheet the entries, with
  the names masked as in the JSON. CSV: a row per entry and a total row.

CSV is UTF-8 with a byte-order mark, so that Excel in a Chinese locale opens it as UTF-8. The figures are the
JSON report's own numbers, written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pos.i18n import translate

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
BAD_FILL = PatternFill("solid", fgColor="F8D7DA")

# The per-shop figures of the reconciliation, in column order: (label key, how to read it from a shop's dict).
FIGURES: list[tuple[str, Any]] = [
    ("issued_volunteer_hours", lambda d: d["issued"]["volunteer_hours"]),
    ("issued_donation", lambda d: d["issued"]["donation"]),
    ("issued_total", lambda d: d["issued"]["total"]),
    ("redeemed", lambda d: d["redeemed"]),
    ("reversed", lambda d: d["reversed"]),
    ("reversals_net", lambda d: d["reversals"]["net"]),
    ("adjusted_net", lambda d: d["adjusted"]["net"]),
    ("cross_shop_net", lambda d: d["cross_shop_net"]),
    ("outstanding_start", lambda d: d["outstanding_start"]),
    ("outstanding", lambda d: d["outstanding"]),
    ("members_balance_total", lambda d: d["members_balance_total"]),
    ("journal_outstanding_now", lambda d: d["journal_outstanding_now"]),
    ("transfers", lambda d: d["transfers"]),
]


def _t(key: str, lang: str, **params: Any) -> str:
    return translate(f"bureau.{key}", lang, **params)


def _header(sheet: Worksheet, row: int, values: Sequence[str]) -> None:
    for col, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=col, value=value)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center")


def _widths(sheet: Worksheet, widths: Sequence[int]) -> None:
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width


def _sheet_title(text: str, used: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ ; and unique in the workbook.
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in text)[:31] or "_"
    title, n = clean, 2
    while title in used:
        title = f"{clean[:28]}~{n}"
        n += 1
    used.add(title)
    return title


def _write_rows(sheet: Worksheet, start_row: int, rows: Sequence[Sequence[Any]]) -> int:
    """A table: rows[0] as the header, the rest as values; returns the first row after it."""
    _header(sheet, start_row, rows[0])
    row = start_row + 1
    for values in rows[1:]:
        for col, value in enumerate(values, start=1):
            sheet.cell(row=row, column=col, value=value)
        row += 1
    return row


def _title(sheet: Worksheet, title: str, *lines: str) -> int:
    """The sheet's title in row 1 and a line of context in each next row; returns the row where tables start
    (after one blank row)."""
    sheet.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    for row, line in enumerate(lines, start=2):
        sheet.cell(row=row, column=1, value=line)
    return len(lines) + 3


def _summary_sheet(book: Workbook, used: set[str], lang: str) -> Worksheet:
    sheet = book.active
    sheet.title = _sheet_title(_t("export.summary", lang), used)
    return sheet


def _shop_label(code: str | None, name: str | None, lang: str) -> str:
    return f"{code or _t('export.no_shop', lang)} {name or ''}".strip()


def _shop_sheet(book: Workbook, used: set[str], code: str | None, name: str | None, lang: str) -> Worksheet:
    """A shop's sheet, named by its code and name (the code first, so a reader finds it by code)."""
    return book.create_sheet(_sheet_title(_shop_label(code, name, lang), used))


def _shops_line(report: dict[str, Any], lang: str) -> str:
    shops = report["stores_selected"]
    return _t("export.shops", lang, shops="、".join(shops) if shops else _t("export.all_shops", lang))


def _workbook_bytes(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return (BOM + out.getvalue()).encode("utf-8")


# ------------------------------------------------------------------------------------------------ reconciliation


def _period_line(report: dict[str, Any], lang: str) -> str:
    period = report["period"]
    return _t("export.period", lang, start=period["from"] or "—", end=period["to"] or "—",
              lo=period["from_seq"], hi=period["to_seq"])


def _write_figures(sheet: Worksheet, start_row: int, data: dict[str, Any], lang: str) -> int:
    rows: list[list[Any]] = [[_t("export.item", lang), _t("export.points", lang)]]
    rows += [[_t(f"figure.{key}", lang), read(data)] for key, read in FIGURES]
    return _write_rows(sheet, start_row, rows)


def _write_identities(sheet: Worksheet, start_row: int, identities: list[dict[str, Any]], lang: str) -> int:
    rows: list[list[Any]] = [[_t("export.identity", lang), _t("export.holds", lang), _t("export.left", lang),
                              _t("export.right", lang), _t("export.difference", lang),
                              _t("export.transfers", lang)]]
    rows += [[_t(f"identity.{i['name']}", lang), _t("yes" if i["ok"] else "no", lang), i["left"], i["right"],
              i["difference"], ", ".join(str(s) for s in i["transfers"])] for i in identities]
    end = _write_rows(sheet, start_row, rows)
    for row, identity in enumerate(identities, start=start_row + 1):
        if not identity["ok"]:
            for col in range(1, len(rows[0]) + 1):
                sheet.cell(row=row, column=col).fill = BAD_FILL
    return end


def _category_label(line: dict[str, Any], lang: str) -> str:
    if line["category_id"] is None:
        return _t(f"kind.{line['kind']}", lang)
    return line["name_en"] if lang == "en" and line["name_en"] else line["name_zh"]


def _write_categories(sheet: Worksheet, start_row: int, lines: list[dict[str, Any]], lang: str) -> int:
    rows: list[list[Any]] = [[_t("export.category", lang), _t("export.count", lang), _t("export.points", lang)]]
    rows += [[_category_label(line, lang), line["count"], line["points"]] for line in lines]
    return _write_rows(sheet, start_row, rows)


def reconciliation_xlsx(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    book = Workbook()
    used: set[str] = set()
    summary = _summary_sheet(book, used, lang)
    row = _title(summary, _t("export.reconciliation_title", lang), _period_line(report, lang),
                 _shops_line(report, lang))
    row = _write_figures(summary, row, report, lang)
    row = _write_identities(summary, row + 1, report["identities"], lang)
    _write_categories(summary, row + 1, report["issued_by_category"], lang)
    _widths(summary, [30, 14, 14, 14, 12, 40])
    for shop in report["stores"]:
        sheet = _shop_sheet(book, used, shop["store"], shop["name"], lang)
        row = _title(sheet, _shop_label(shop["store"], shop["name"], lang), _period_line(report, lang))
        row = _write_figures(sheet, row, shop, lang)
        row = _write_identities(sheet, row + 1, shop["identities"], lang)
        _write_categories(sheet, row + 1, shop["issued_by_category"], lang)
        _widths(sheet, [30, 14, 14, 14, 12, 40])
    return _workbook_bytes(book)


def reconciliation_csv(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    identity_names = [i["name"] for i in report["identities"]]
    header = [_t("export.shop", lang), _t("export.shop_name", lang)]
    header += [_t(f"figure.{key}", lang) for key, _ in FIGURES]
    header += [_t(f"identity.{name}", lang) for name in identity_names]
    rows: list[list[Any]] = [header]

    def line(code: str, name: str, data: dict[str, Any]) -> list[Any]:
        held = {i["name"]: i["ok"] for i in data["identities"]}
        return ([code, name] + [read(data) for _, read in FIGURES]
                + [_t("yes" if held.get(n, True) else "no", lang) if n in held else "" for n in identity_names])

    for shop in report["stores"]:
        rows.append(line(shop["store"] or _t("export.no_shop", lang), shop["name"] or "", shop))
    rows.append(line(_t("export.total", lang), "", report))
    return _csv_bytes(rows)


# ------------------------------------------------------------------------------------------------ anomalies


def _flag_rows(flags: list[dict[str, Any]], lang: str) -> list[list[Any]]:
    rows: list[list[Any]] = [[_t("export.flag", lang), _t("export.shop", lang), _t("export.subject", lang),
                              _t("export.figures", lang), _t("export.transfers", lang)]]
    for flag in flags:
        figures = "; ".join(f"{k}={v}" for k, v in flag["figures"].items())
        rows.append([_t(f"flag.{flag['kind']}", lang), flag["store"] or "", flag["subject"], figures,
                     ", ".join(str(s) for s in flag["transfers"])])
    return rows


def _anomaly_shops(report: dict[str, Any]) -> list[tuple[str | None, str]]:
    """The shops looked at, and a shop-less line if a flag names no shop."""
    shops: list[tuple[str | None, str]] = [(s["store"], s["name"]) for s in report["stores"]]
    if any(f["store"] is None for f in report["flags"]):
        shops.append((None, ""))
    return shops


def anomalies_xlsx(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    book = Workbook()
    used: set[str] = set()
    kinds = list(report["counts"])
    summary = _summary_sheet(book, used, lang)
    row = _title(summary, _t("export.anomalies_title", lang), _period_line(report, lang), _shops_line(report, lang))
    by_kind: list[list[Any]] = [[_t("export.flag", lang), _t("export.count", lang)]]
    by_kind += [[_t(f"flag.{kind}", lang), report["counts"][kind]] for kind in kinds]
    by_kind.append([_t("export.total", lang), len(report["flags"])])
    row = _write_rows(summary, row, by_kind)
    by_shop: list[list[Any]] = [[_t("export.shop", lang), _t("export.shop_name", lang)]
                                + [_t(f"flag.{kind}", lang) for kind in kinds] + [_t("export.total", lang)]]
    for code, name in _anomaly_shops(report):
        mine = [f for f in report["flags"] if f["store"] == code]
        by_shop.append([code or _t("export.no_shop", lang), name]
                       + [sum(1 for f in mine if f["kind"] == kind) for kind in kinds] + [len(mine)])
    _write_rows(summary, row + 1, by_shop)
    _widths(summary, [22, 24, 16, 16, 16, 16, 10])
    for code, name in _anomaly_shops(report):
        sheet = _shop_sheet(book, used, code, name, lang)
        row = _title(sheet, _shop_label(code, name, lang), _period_line(report, lang))
        _write_rows(sheet, row, _flag_rows([f for f in report["flags"] if f["store"] == code], lang))
        _widths(sheet, [22, 10, 20, 60, 50])
    return _workbook_bytes(book)


def anomalies_csv(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    return _csv_bytes(_flag_rows(report["flags"], lang))


# ------------------------------------------------------------------------------------------------ dashboard


def _monthly_rows(report: dict[str, Any], lang: str) -> list[list[Any]]:
    rows: list[list[Any]] = [[_t("export.shop", lang), _t("export.month", lang), _t("figure.issued_total", lang),
                              _t("figure.redeemed_net", lang)]]
    for shop in report["stores"]:
        for month in shop["monthly"]:
            rows.append([shop["store"], month["month"], month["issued"], month["redeemed"]])
    for month in report["monthly"]:
        rows.append([_t("export.total", lang), month["month"], month["issued"], month["redeemed"]])
    return rows


def _write_months(sheet: Worksheet, start_row: int, months: list[dict[str, Any]], lang: str) -> int:
    """A month per row and a total row."""
    rows: list[list[Any]] = [[_t("export.month", lang), _t("figure.issued_total", lang),
                              _t("figure.redeemed_net", lang)]]
    rows += [[m["month"], m["issued"], m["redeemed"]] for m in months]
    rows.append([_t("export.total", lang), sum(m["issued"] for m in months), sum(m["redeemed"] for m in months)])
    return _write_rows(sheet, start_row, rows)


def _write_stock(sheet: Worksheet, start_row: int, stock: list[dict[str, Any]], lang: str) -> int:
    """The stock value of each shop; with more than one, a total row."""
    rows: list[list[Any]] = [[_t("export.shop", lang), _t("export.shop_name", lang), _t("export.stock_value", lang),
                              _t("export.units", lang), _t("export.products", lang)]]
    rows += [[s["store"], s["name"], s["points"], s["units"], s["products"]] for s in stock]
    if len(stock) > 1:
        rows.append([_t("export.total", lang), "", sum(s["points"] for s in stock), sum(s["units"] for s in stock),
                     sum(s["products"] for s in stock)])
    return _write_rows(sheet, start_row, rows)


def dashboard_xlsx(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    book = Workbook()
    used: set[str] = set()
    title = _t("export.dashboard_title", lang)
    summary = _summary_sheet(book, used, lang)
    row = _title(summary, title, _period_line(report, lang), _shops_line(report, lang))
    row = _write_months(summary, row, report["monthly"], lang)
    row = _write_categories(summary, row + 1, report["top_categories"], lang)
    _write_stock(summary, row + 1, report["stock_value"], lang)
    _widths(summary, [24, 24, 16, 12, 12])
    stock = {s["store"]: s for s in report["stock_value"]}
    for shop in report["stores"]:
        sheet = _shop_sheet(book, used, shop["store"], shop["name"], lang)
        row = _title(sheet, _shop_label(shop["store"], shop["name"], lang), _period_line(report, lang))
        row = _write_months(sheet, row, shop["monthly"], lang)
        row = _write_categories(sheet, row + 1, shop["top_categories"], lang)
        _write_stock(sheet, row + 1, [stock[shop["store"]]] if shop["store"] in stock else [], lang)
        _widths(sheet, [24, 24, 16, 12, 12])
    return _workbook_bytes(book)


def dashboard_csv(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    return _csv_bytes(_monthly_rows(report, lang))


# ------------------------------------------------------------------------------------------------ public notice


def _notice_rows(notice: dict[str, Any], lang: str) -> list[list[Any]]:
    """The notice's entries, names as the JSON has them (masked), and a total row."""
    rows: list[list[Any]] = [[translate(f"notice.col.{key}", lang) for key in ("date", "name", "what", "points")]]
    rows += [[e["date"], e["name"], e["what"], e["points"]] for e in notice["entries"]]
    rows.append([_t("export.total", lang), "", "", notice["total_points"]])
    return rows


def notice_xlsx(notice: dict[str, Any], lang: str = "zh-CN") -> bytes:
    book = Workbook()
    used: set[str] = set()
    period = translate("notice.period", lang, first=notice["from"], last=notice["to"])
    summary = _summary_sheet(book, used, lang)
    row = _title(summary, translate("notice.title", lang), period)
    _write_rows(summary, row, [
        [_t("export.shop", lang), _t("export.shop_name", lang), _t("export.count", lang), _t("export.points", lang)],
        [notice["store"], notice["store_name"], len(notice["entries"]), notice["total_points"]]])
    _widths(summary, [24, 24, 10, 12])
    sheet = _shop_sheet(book, used, notice["store"], notice["store_name"], lang)
    row = _title(sheet, f"{_shop_label(notice['store'], notice['store_name'], lang)} "
                        f"{translate('notice.title', lang)}", period)
    _write_rows(sheet, row, _notice_rows(notice, lang))
    _widths(sheet, [12, 16, 60, 10])
    return _workbook_bytes(book)


def notice_csv(notice: dict[str, Any], lang: str = "zh-CN") -> bytes:
    return _csv_bytes(_notice_rows(notice, lang))
