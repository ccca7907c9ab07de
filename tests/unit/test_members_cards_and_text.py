"""Members' text rules (names, phones, masking, LIKE escaping) and the card images, without a database."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from ledger.members import clean_household, clean_name, escape_like, mask_phone, normalise_phone
from printers.cards import CARD_PNG_SIZE, CardFace, card_png, card_svg, card_svg_element, find_cjk_font

SVG = "{http://www.w3.org/2000/svg}"
CARD = "7702864141006371"


def test_phone_masking_keeps_the_first_three_and_last_four_digits() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone(None) is None and mask_phone("") is None


@pytest.mark.parametrize("typed, stored", [
    ("13812341234", "13812341234"),
    ("１３８１２３４１２３４", "13812341234"),  # full-width digits from a Chinese input method
    (" 138-1234-1234 ", "13812341234"),
    ("+86 138 1234 1234", "13812341234"),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_phones_are_normalised(typed: str | None, stored: str | None) -> None:
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["1381234123", "138123412345", "23812341234", "1381234123a", "١٣٨١٢٣٤١٢٣٤"])
def test_phones_that_are_not_mainland_mobiles_are_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(typed)


def test_names_are_trimmed_and_bounded() -> None:
    assert clean_name("  史玉兰 ") == "史玉兰"
    assert clean_name("史" * 50) == "史" * 50
    for bad in ("", "   ", "史" * 51, "x" * 10_000, "张\n三", "张\u202e三"):
        with pytest.raises(ValueError):
            clean_name(bad)


def test_households_are_codes() -> None:
    assert clean_household(" ＤＳＣ-018 ") == "DSC-018"
    assert clean_household("") is None
    with pytest.raises(ValueError):
        clean_household("x" * 33)


def test_like_escaping_takes_wildcards_literally() -> None:
    assert escape_like("50%_off\\") == "50\\%\\_off\\\\"


# ---------------------------------------------------------------------------------------------- card images


def face(name: str = "史玉兰", household: str = "DSC-018") -> CardFace:
    return CardFace(card_number=CARD, member_name=name, store_name="东山村信用超市", household=household)


def test_card_png_is_a_bank_card_at_300_dpi() -> None:
    image = Image.open(io.BytesIO(card_png(face())))
    assert image.format == "PNG"
    assert image.size == CARD_PNG_SIZE == (1011, 638)
    assert round(image.info["dpi"][0]) == 300


@pytest.mark.skipif(find_cjk_font() is None, reason="no CJK font on this machine (Debian: fonts-noto-cjk)")
def test_card_png_draws_chinese_glyphs_not_boxes() -> None:
    # A font without Chinese draws every missing character as the same box: two names of three characters
    # would then give the same picture.
    one = Image.open(io.BytesIO(card_png(face("史玉兰")))).convert("L")
    two = Image.open(io.BytesIO(card_png(face("康晓东")))).convert("L")
    assert one.tobytes() != two.tobytes()


def test_card_png_survives_a_long_name_and_no_household() -> None:
    image = Image.open(io.BytesIO(card_png(face("很长的名字" * 10, household=""))))
    assert image.size == CARD_PNG_SIZE


def test_card_svg_is_xml_with_the_escaped_name_the_number_a_barcode_and_a_qr_code() -> None:
    name = '<img src=x onerror=alert(1)> & "史"'
    data = card_svg(face(name))
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(data)  # parses: the name did not break the markup
    assert root.tag == f"{SVG}svg" and root.get("width") == "85.6mm" and root.get("height") == "54mm"
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert name in texts
    assert "7702 8641 4100 6371" in texts
    assert b"<img" not in data and b"&lt;img src=x onerror=alert(1)&gt; &amp; \"" in data
    assert len(list(root.iter(f"{SVG}path"))) >= 3  # the band, the barcode, the QR code
    assert "Noto Sans CJK SC" in root.find(f"{SVG}g").get("font-family")


def test_card_svg_element_is_the_inline_form() -> None:
    element = card_svg_element(face())
    assert element.startswith("<svg ") and element.endswith("</svg>")
    ET.fromstring(element)


def test_a_card_face_takes_digits_only() -> None:
    with pytest.raises(ValueError):
        CardFace(card_number="12AB", member_name="x", store_name="y")
