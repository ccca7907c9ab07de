"""Reading a catalogue CSV: every bad row is found, with its line number and reason, before anything is written."""

from __future__ import annotations

from pathlib import Path

from inventory.catalog import decode_catalog, parse_catalog

SHARED = Path(__file__).resolve().parents[2] / "pos" / "demo_data" / "catalog.csv"
HEADER = "barcode,name,category,points_price,unit,reorder_level\n"


def reasons(text: str) -> list[tuple[int, str, str]]:
    return [(p.line, p.column, p.reason) for p in parse_catalog(text)[1]]


def test_the_sample_catalogue_is_all_good() -> None:
    rows, problems = parse_catalog(decode_catalog(SHARED.read_bytes()))
    assert problems == []
    assert len(rows) == 40
    first = rows[0]
    assert (first.line, first.barcode, first.name, first.category, first.points_price, first.unit,
            first.reorder_level) == (2, "6920244418529", "大豆油 5L", "粮油", 70, "桶", 5)


def test_every_bad_row_is_reported_with_its_line_and_reason() -> None:
    text = HEADER + "\n".join([
        "6920244418529,大豆油 5L,粮油,70,桶,5",  # 2 good
        "6920244418528,花生油,粮油,45,桶,10",  # 3 bad check digit
        "6920244,东北大米,粮油,35,袋,20",  # 4 wrong length
        "6972449445466,,粮油,25,袋,5",  # 5 no name
        "6982606870703,小麦粉,粮油,abc,袋,5",  # 6 price not a number
        "6910396723664,食盐,调味,0,袋,20",  # 7 price zero
        "6986726428486,酱油,调味,1.5,瓶,5",  # 8 price not whole
        "6920244418529,大豆油 again,粮油,70,桶,5",  # 9 duplicate of line 2
        "6997531143204,方便面,食品,12,包",  # 10 a field missing
        "6992748312085,白砂糖,调味,6,袋,-1",  # 11 bad reorder level
        "6992327916871,毛巾,日化,10,条,5",  # 12 good
    ]) + "\n"
    rows, problems = parse_catalog(text)
    assert [row.line for row in rows] == [2, 12]
    assert reasons(text) == [
        (3, "barcode", "check_digit"),
        (4, "barcode", "wrong_length"),
        (5, "name", "empty"),
        (6, "points_price", "not_a_whole_number_1_to_999999"),
        (7, "points_price", "not_a_whole_number_1_to_999999"),
        (8, "points_price", "not_a_whole_number_1_to_999999"),
        (9, "barcode", "duplicate"),
        (10, "row", "field_count"),
        (11, "reorder_level", "not_a_whole_number_0_to_999999"),
    ]
    assert dict(problems[0].params)["expected_check_digit"] == 9
    assert dict(problems[6].params)["first_line"] == 2


def test_a_row_with_several_faults_reports_each() -> None:
    assert reasons(HEADER + "ABC,,x,0,,\n") == [(2, "barcode", "not_digits"), (2, "name", "empty"),
                                                (2, "points_price", "not_a_whole_number_1_to_999999")]


def test_upc_a_and_its_ean13_form_are_the_same_product() -> None:
    text = HEADER + "036000291452,A,,5,个,\n0036000291452,B,,5,个,\n"
    assert reasons(text) == [(3, "barcode", "duplicate")]


def test_missing_columns_are_reported_on_the_header_line() -> None:
    assert reasons("barcode,name,unit\n6920244418529,大豆油,桶\n") == [(1, "header", "missing_columns")]
    assert reasons("") == [(1, "file", "empty")]


def test_optional_columns_may_be_missing_or_empty() -> None:
    rows, problems = parse_catalog("barcode,name,points_price\n6920244418529,大豆油,70\n")
    assert problems == []
    assert (rows[0].unit, rows[0].category, rows[0].reorder_level) == ("件", "", None)
    rows, _ = parse_catalog(HEADER + "6920244418529,大豆油,,70,,\n")
    assert (rows[0].unit, rows[0].reorder_level) == ("件", None)


def test_what_spreadsheets_and_chinese_keyboards_produce_is_read() -> None:
    # Excel's BOM, CRLF line ends, a blank line at the end, full-width digits, a quoted name with a comma.
    text = "\ufeff" + HEADER.replace("\n", "\r\n") + '６９２０２４４４１８５２９,"大豆油,5L",粮油,７０,桶,５\r\n\r\n'
    rows, problems = parse_catalog(text)
    assert problems == []
    assert (rows[0].barcode, rows[0].name, rows[0].points_price, rows[0].reorder_level) == (
        "6920244418529", "大豆油,5L", 70, 5)


def test_gb18030_files_from_chinese_excel_are_decoded() -> None:
    data = (HEADER + "6920244418529,大豆油 5L,粮油,70,桶,5\n").encode("gb18030")
    rows, problems = parse_catalog(decode_catalog(data))
    assert problems == [] and rows[0].name == "大豆油 5L"


def test_line_numbers_count_from_the_header_and_follow_multiline_fields() -> None:
    text = HEADER + '6920244418529,"大豆油\n5L",粮油,70,桶,5\n6920244418528,花生油,粮油,45,桶,10\n'
    assert reasons(text) == [(4, "barcode", "check_digit")]
