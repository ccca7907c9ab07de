"""Barcodes as they arrive at the counter: from a keyboard-wedge scanner, a Chinese input method, a person typing."""

from __future__ import annotations

import io
from xml.dom import minidom

import barcode as python_barcode
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from inventory.barcodes import (
    gs1_check_digit,
    internal_code,
    internal_serial,
    is_in_store_code,
    looks_like_product_code,
    shelf_label,
    validate_product_code,
)
from inventory.errors import InvalidBarcode

VALID = [
    # (what was scanned or typed, what we store)
    ("6920244418529", "6920244418529"),  # EAN-13, Chinese prefix 69
    ("4006381333931", "4006381333931"),  # EAN-13, German prefix
    ("96385074", "96385074"),  # EAN-8 stays 8 digits
    ("036000291452", "0036000291452"),  # UPC-A becomes the EAN-13 with a leading 0
    ("0036000291452", "0036000291452"),  # ...which is also accepted as it is
    ("2000000000015", "2000000000015"),  # our in-store range
    ("６９２０２４４４１８５２９", "6920244418529"),  # full-width digits from a Chinese input method
    ("6920244418529\n", "6920244418529"),  # the scanner's Enter
    ("6920244418529\r\n", "6920244418529"),
    ("  6920244418529  ", "6920244418529"),  # surrounding spaces
    ("\t96385074\n", "96385074"),
    ("６９２０２４４４１８５２９\u3000", "6920244418529"),  # full-width (ideographic) space
    ("6 920244 418529", "6920244418529"),  # typed as printed under the bars
]

INVALID = [
    # (input, reason)
    ("6920244418528", "check_digit"),  # bad check digit (should be 9)
    ("96385075", "check_digit"),
    ("036000291453", "check_digit"),
    ("６９２０２４４４１８５２８", "check_digit"),
    ("692024441852", "check_digit"),  # 12 digits is UPC-A length, and its check digit is wrong
    ("6920244", "wrong_length"),  # 7
    ("692024441", "wrong_length"),  # 9
    ("6920244418", "wrong_length"),  # 10: a member card number's length
    ("69202444185", "wrong_length"),  # 11
    ("69202444185290", "wrong_length"),  # 14
    ("6920244418529012", "wrong_length"),  # 16: a member card number's length
    ("69202444185X9", "not_digits"),  # a letter
    ("ABCDEFGHIJKLM", "not_digits"),
    ("6920244-418529", "not_digits"),
    ("٦٩٢٠٢٤٤٤١٨٥٢٩", "not_digits"),  # Arabic-Indic digits are digits to Python, not to a till
    ("", "empty"),
    ("   ", "empty"),
    ("\n", "empty"),
    ("\r\n", "empty"),
]


@pytest.mark.parametrize(("raw", "stored"), VALID)
def test_valid_codes_are_normalised_to_what_we_store(raw: str, stored: str) -> None:
    assert validate_product_code(raw) == stored


@pytest.mark.parametrize(("raw", "reason"), INVALID)
def test_invalid_codes_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidBarcode) as refused:
        validate_product_code(raw)
    assert refused.value.code == "invalid_barcode"
    assert refused.value.details["reason"] == reason


def test_a_bad_check_digit_names_the_right_one() -> None:
    with pytest.raises(InvalidBarcode) as refused:
        validate_product_code("6920244418528")
    assert refused.value.details == {"barcode": "6920244418528", "reason": "check_digit", "expected_check_digit": 9}


def test_python_barcode_would_silently_fix_a_bad_check_digit() -> None:
    """Why we validate ourselves: python-barcode turns a mistyped code into another, valid one."""
    assert str(python_barcode.get("ean13", "6920244418528")) == "6920244418529"
    assert str(python_barcode.get("ean13", "6920244418528")) != "6920244418528"


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 11), st.integers(1, 9))
def test_any_single_wrong_digit_is_caught(body: str, position: int, shift: int) -> None:
    code = body + str(gs1_check_digit(body))
    assert validate_product_code(code) == code
    wrong = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1:]
    with pytest.raises(InvalidBarcode):
        validate_product_code(wrong)


@pytest.mark.parametrize(("raw", "expected"), [
    ("6920244418529", True), ("6920244418528", True),  # shape only: a bad check digit is refused later
    ("96385074", True), ("036000291452", True), ("６９２０２４４４１８５２９\n", True),
    ("69202444185290", True),  # a carton's GTIN-14: goods, refused at lookup with the reason
    ("1234567890", False), ("1234567890123456", False),  # member card lengths
    ("ABC", False), ("", False), ("69202444185X9", False),
])
def test_looks_like_product_code_tells_goods_from_cards(raw: str, expected: bool) -> None:
    assert looks_like_product_code(raw) is expected


def test_no_member_card_looks_like_goods() -> None:
    from ledger.cards import new_card_number

    assert not any(looks_like_product_code(new_card_number()) for _ in range(100))


def test_internal_codes_are_valid_in_store_ean13() -> None:
    codes = [internal_code(serial) for serial in (1, 2, 99, 1234567890, 9_999_999_999)]
    assert len(set(codes)) == len(codes)
    for serial, code in zip((1, 2, 99, 1234567890, 9_999_999_999), codes, strict=True):
        assert len(code) == 13 and code.startswith("20")
        assert validate_product_code(code) == code
        assert is_in_store_code(code)
        assert internal_serial(code) == serial
    assert not is_in_store_code("6920244418529")
    assert internal_serial("6920244418529") is None
    with pytest.raises(ValueError):
        internal_code(0)


def test_svg_shelf_label_shows_name_price_and_code() -> None:
    svg = shelf_label("6920244418529", "大豆油 5L", 70, unit="桶")
    doc = minidom.parseString(svg)
    texts = [node.firstChild.data for node in doc.getElementsByTagName("text") if node.firstChild]
    assert "大豆油 5L" in texts
    assert "70 积分 / 桶" in texts
    assert "6920244418529" in texts  # the digits under the bars


def test_png_shelf_label_is_an_image() -> None:
    png = shelf_label("96385074", "肥皂", 5, fmt="png")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width > 100 and image.height > 100


def test_a_label_is_never_printed_for_a_corrected_code() -> None:
    with pytest.raises(InvalidBarcode):
        shelf_label("6920244418528", "大豆油 5L", 70)
