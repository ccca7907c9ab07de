"""Columns by display width, wrapping, and the formats printed on paper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printers.layout import (
    PAPER_58,
    PAPER_80,
    barcode_symbology,
    clean_text,
    label_value,
    left_right,
    local_time,
    mask_card,
    pad,
    paper_for,
    printed_width,
    wrap,
    yuan,
)


def test_paper_widths() -> None:
    assert (paper_for(58).columns, paper_for(58).dots) == (32, 384)
    assert (paper_for(80).columns, paper_for(80).dots) == (48, 576)
    with pytest.raises(ValueError):
        paper_for(76)


def test_cjk_and_full_width_punctuation_take_two_columns() -> None:
    assert printed_width("abc") == 3
    assert printed_width("大米") == 4
    assert printed_width("，。：￥") == 8
    # Ambiguous-width characters are multi-byte GB18030 too: a Chinese printer gives them a full cell.
    assert printed_width("2×35") == 5
    assert printed_width("阿依古丽·买买提") == 16


def test_clean_text_removes_commands_and_keeps_what_prints() -> None:
    assert clean_text("大米\x1b@\x1d!\x11") == "大米@!"  # an ESC in a name must not reach the printer as a command
    assert clean_text("￥12 ¥3") == "￥12 ￥3"
    assert clean_text("a\tb\nc\u00a0d") == "a b c d"
    assert clean_text("\ue000") == "□"  # private use: visible, never `?`


def test_wrap_keeps_words_and_never_overflows() -> None:
    assert wrap("东北大米 5kg", 32) == ["东北大米 5kg"]
    assert wrap("金龙鱼食用植物调和油（特惠装）5L 超长名称", 24) == ["金龙鱼食用植物调和油（特", "惠装）5L 超长名称"]
    assert wrap("Golden Dragon Fish blended oil", 16) == ["Golden Dragon", "Fish blended oil"]
    assert wrap("x" * 40, 16) == ["x" * 16, "x" * 16, "x" * 8]
    assert wrap("", 10) == [""]
    assert wrap("大" * 5, 9) == ["大" * 4, "大"]  # a CJK character never straddles the edge


@given(st.text(alphabet=st.sampled_from(list("大米油盐，。：￥ abcXYZ0123456789-·×é")), max_size=120),
       st.integers(min_value=2, max_value=48))
def test_wrap_property_lines_fit_and_nothing_is_lost(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert all(printed_width(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == clean_text(text).replace(" ", "")


def test_left_right_aligns_and_wraps() -> None:
    assert left_right("合计积分：", "155", 32) == ["合计积分：" + " " * 19 + "155"]
    assert all(printed_width(line) == 32 for line in left_right("合计积分：", "155", 32))
    lines = left_right("很长很长很长很长很长很长很长的标签", "12345", 16)
    assert all(printed_width(line) <= 16 for line in lines)
    assert lines[-1].endswith("12345")
    assert left_right("2×35", "70", 32, indent=2)[0].startswith("  2×35")


def test_pad_and_label_value() -> None:
    assert pad("积分", 6, "right") == "  积分"
    with pytest.raises(ValueError):
        pad("积分积分", 6)
    lines = label_value("班次", "7c1f0e2a-0000-4000-8000-000000000001", 32)
    assert lines[0].startswith("班次：") and all(printed_width(line) <= 32 for line in lines)
    assert lines[1].startswith(" " * printed_width("班次："))


def test_formats() -> None:
    assert local_time(datetime(2026, 12, 3, 16, 30, tzinfo=UTC)) == "2026-12-04 00:30:00"  # Asia/Shanghai
    assert mask_card("100000123456") == "****3456"
    assert mask_card("123") == "***"
    assert yuan(12350) == "￥123.50"
    assert yuan(5) == "￥0.05"
    assert yuan(123456789) == "￥1,234,567.89"


def test_barcode_symbology_follows_the_check_digit() -> None:
    assert barcode_symbology("6920244418529") == "ean13"
    assert barcode_symbology("6920244418520") == "code128"  # wrong check digit: printed as it is, not "corrected"
    assert barcode_symbology("96385074") == "ean8"
    assert barcode_symbology("DSC-0001") == "code128"


def test_paper_constants() -> None:
    assert PAPER_58.small_columns == 42 and PAPER_80.small_columns == 64
