"""The reports as Excel workbooks (openpyxl) and CSV files, with Chinese headers.

- Reconciliation: a summary sheet (汇总: the selection's figures, the identities, the activity categories) and one
  sheet per shop with the same for that shop; CSV: one row per shop and a total row.
- Anomalies: one sheet (and CSV) with a row per flag and the transfers behind it.
- Dashboard: issued and redeemed per shop and month, the top categories, the stock value per shop.

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
    _header(sheet, start_row, [_t("export.item", lang), _t("export.points", lang)])
    row = start_row + 1
    for key, read in FIGURES:
        sheet.cell(row=row, column=1, value=_t(f"figure.{key}", lang))
        sheet.cell(row=row, column=2, value=read(data))
        row += 1
    return row


def _write_identities(sheet: Worksheet, start_row: int, identities: list[dict[str, Any]], lang: str) -> int:
    _header(sheet, start_row, [_t("export.identity", lang), _t("export.holds", lang), _t("export.left", lang),
                               _t("export.right", lang), _t("export.difference", lang),
                               _t("export.transfers", lang)])
    row = start_row + 1
    for identity in identities:
        values = [_t(f"identity.{identity['name']}", lang), _t("yes" if identity["ok"] else "no", lang),
                  identity["left"], identity["right"], identity["difference"],
                  ", ".join(str(s) for s in identity["transfers"])]
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=row, column=col, value=value)
            if not identity["ok"]:
                cell.fill = BAD_FILL
        row += 1
    return row


def _write_categories(sheet: Worksheet, start_row: int, lines: list[dict[str, Any]], lang: str) -> int:
    _header(sheet, start_row, [_t("export.category", lang), _t("export.count", lang), _t("export.points", lang)])
    row = start_row + 1
    for line in lines:
        label = (line["name_en"] if lang == "en" and line["name_en"] else line["name_zh"]) \
            if line["category_id"] is not None else _t(f"kind.{line['kind']}", lang)
        sheet.cell(row=row, column=1, value=label)
        sheet.cell(row=row, column=2, value=line["count"])
        sheet.cell(row=row, column=3, value=line["points"])
        row += 1
    return row


def reconciliation_xlsx(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    book = Workbook()
    used: set[str] = set()
    summary = book.active
    summary.title = _sheet_title(_t("export.summary", lang), used)
    summary.cell(row=1, column=1, value=_t("export.reconciliation_title", lang)).font = Font(bold=True, size=14)
    summary.cell(row=2, column=1, value=_period_line(report, lang))
    shops = report["stores_selected"]
    summary.cell(row=3, column=1, value=_t("export.shops", lang, shops="、".join(shops) if shops else
                                           _t("export.all_shops", lang)))
    row = _write_figures(summary, 5, report, lang)
    row = _write_identities(summary, row + 1, report["identities"], lang)
    _write_categories(summary, row + 1, report["issued_by_category"], lang)
    _widths(summary, [30, 14, 14, 14, 12, 40])
    for shop in report["stores"]:
        name = shop["store"] or _t("export.no_shop", lang)
        sheet = book.create_sheet(_sheet_title(f"{name} {shop['name'] or ''}".strip(), used))
        sheet.cell(row=1, column=1, value=f"{name} {shop['name'] or ''}".strip()).font = Font(bold=True, size=14)
        sheet.cell(row=2, column=1, value=_period_line(report, lang))
        row = _write_figures(sheet, 4, shop, lang)
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


def _flag_rows(report: dict[str, Any], lang: str) -> list[list[Any]]:
    rows: list[list[Any]] = [[_t("export.flag", lang), _t("export.shop", lang), _t("export.subject", lang),
                              _t("export.figures", lang), _t("export.transfers", lang)]]
    for flag in report["flags"]:
        figures = "; ".join(f"{k}={v}" for k, v in flag["figures"].items())
        rows.append([_t(f"flag.{flag['kind']}", lang), flag["store"] or "", flag["subject"], figures,
                     ", ".join(str(s) for s in flag["transfers"])])
    return rows


def anomalies_xlsx(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(_t("export.anomalies_title", lang), set())
    sheet.cell(row=1, column=1, value=_t("export.anomalies_title", lang)).font = Font(bold=True, size=14)
    sheet.cell(row=2, column=1, value=_period_line(report, lang))
    rows = _flag_rows(report, lang)
    _header(sheet, 4, rows[0])
    for offset, values in enumerate(rows[1:], start=5):
        for col, value in enumerate(values, start=1):
            sheet.cell(row=offset, column=col, value=value)
    _widths(sheet, [22, 10, 20, 60, 50])
    return _workbook_bytes(book)


def anomalies_csv(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    return _csv_bytes(_flag_rows(report, lang))


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


def dashboard_xlsx(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    book = Workbook()
    used: set[str] = set()
    monthly = book.active
    monthly.title = _sheet_title(_t("export.monthly", lang), used)
    rows = _monthly_rows(report, lang)
    _header(monthly, 1, rows[0])
    for offset, values in enumerate(rows[1:], start=2):
        for col, value in enumerate(values, start=1):
            monthly.cell(row=offset, column=col, value=value)
    _widths(monthly, [12, 10, 16, 16])
    categories = book.create_sheet(_sheet_title(_t("export.top_categories", lang), used))
    _write_categories(categories, 1, report["top_categories"], lang)
    _widths(categories, [24, 10, 14])
    stock = book.create_sheet(_sheet_title(_t("export.stock_value", lang), used))
    _header(stock, 1, [_t("export.shop", lang), _t("export.shop_name", lang), _t("export.points", lang),
                       _t("export.units", lang), _t("export.products", lang)])
    for offset, s in enumerate(report["stock_value"], start=2):
        for col, value in enumerate((s["store"], s["name"], s["points"], s["units"], s["products"]), start=1):
            stock.cell(row=offset, column=col, value=value)
    _widths(stock, [10, 24, 14, 10, 10])
    return _workbook_bytes(book)


def dashboard_csv(report: dict[str, Any], lang: str = "zh-CN") -> bytes:
    return _csv_bytes(_monthly_rows(report, lang))
