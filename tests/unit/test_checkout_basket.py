"""The basket as scanned, before any lookup: codes validated per line, lines of one product merged, limits; and the
Z report document built from a report."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import ValidationFailed
from inventory.errors import InvalidBarcode, UnknownProduct
from pos.services.checkout import BasketLine, _z_document, basket

RICE, OIL = "6982606870703", "6920244418529"
UPC_A = "036000291452"  # stored as the EAN-13 0036000291452


def test_lines_of_one_product_merge_in_first_scan_order_whatever_way_they_were_typed() -> None:
    full_width_rice = RICE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    wanted = basket([(RICE, 2), (OIL, 1), (f" {full_width_rice}\n", 3), (UPC_A, 1), ("0" + UPC_A, 2)])
    assert wanted.lines == [BasketLine(0, RICE, 5), BasketLine(1, OIL, 1), BasketLine(3, "0" + UPC_A, 3)]
    assert wanted.scanned == [RICE, OIL, RICE, "0" + UPC_A, "0" + UPC_A]


def test_every_bad_code_is_named_by_its_line() -> None:
    with pytest.raises(InvalidBarcode) as refused:
        basket([(RICE, 1), ("6920244418520", 1), ("abc", 1), ("", 1)])
    details = refused.value.details
    assert (details["line"], details["barcode"], details["reason"]) == (1, "6920244418520", "check_digit")
    assert [(line["line"], line["reason"]) for line in details["lines"]] == [
        (1, "check_digit"), (2, "not_digits"), (3, "empty")]


def test_a_merged_quantity_above_999_and_an_empty_basket_are_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        basket([(RICE, 500), (OIL, 1), (RICE, 500)])
    assert list(refused.value.details) == ["lines.2.qty"]
    with pytest.raises(ValidationFailed):
        basket([])


def test_unknown_goods_are_named_on_every_line_that_scanned_them() -> None:
    wanted = basket([(RICE, 1), (OIL, 1), (RICE, 2)])
    error = wanted.unknown(UnknownProduct("x", barcodes=[RICE], inactive=[RICE]))
    assert error.details["lines"] == [{"line": 0, "barcode": RICE, "reason": "inactive"},
                                      {"line": 2, "barcode": RICE, "reason": "inactive"}]
    assert (error.details["line"], error.details["reason"], error.details["barcodes"]) == (0, "inactive", [RICE])


def _report(**changes: object) -> dict:
    report = {
        "shift_id": "s-1", "store_name": "东山村信用超市", "closed_by": "clerk-dsc", "sales_count": 2,
        "voids_count": 1, "points_redeemed": 245, "points_returned": 70, "opened_at": "2026-12-03T01:00:00+00:00",
        "first_sale_at": "2026-12-03T01:00:00+00:00", "last_sale_at": "2026-12-03T02:00:00+00:00",
        "items": [{"barcode": OIL, "name": "大豆油 5L", "qty": 2, "points": 140}], "late_voids_count": 0,
        "late_points_returned": 0,
        "ledger": {"ok": True, "from_seq": 3, "to_seq": 9, "redeemed": 245, "reversed": 70},
    }
    report.update(changes)
    return report


def test_the_z_report_document_carries_the_figures_and_the_ledger_note() -> None:
    closed_at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    document = _z_document(_report(), closed_at)
    assert (document.sales_count, document.voids_count, document.points_redeemed, document.points_returned) == (
        2, 1, 245, 70)
    assert document.ledger_ok and "第 3–9 号" in document.ledger_note and "前班" not in document.ledger_note
    assert document.first_sale_at == datetime(2026, 12, 3, 1, 0, tzinfo=UTC)

    late = _z_document(_report(late_voids_count=1, late_points_returned=70,
                               ledger={"ok": False, "from_seq": 3, "to_seq": 9, "redeemed": 200, "reversed": 70}),
                       closed_at)
    assert not late.ledger_ok and "不一致" in late.ledger_note and "前班销售本班作废 1 笔" in late.ledger_note
