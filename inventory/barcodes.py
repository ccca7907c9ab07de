"""Product barcodes: normalising what a scanner or a keyboard typed, validating EAN-13 / EAN-8 / UPC-A by their
check digit, internal codes for goods without a barcode, and shelf label images.

We validate the check digit ourselves: python-barcode silently replaces a wrong check digit with the right one,
so handing it a mistyped code would print a label for a product that does not exist. python-barcode only draws.
"""

from __future__ import annotations

import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from xml.dom import minidom

from core.text import normalise_scan
from inventory.errors import InvalidBarcode

# Lengths of the codes we accept as products; member cards are issued with another length (16 digits),
# so a scan is told apart by its shape alone.
EAN13, EAN8, UPCA = 13, 8, 12
PRODUCT_CODE_LENGTHS = frozenset({EAN13, EAN8, UPCA})
GOODS_SHAPE_LENGTHS = PRODUCT_CODE_LENGTHS | {14}  # GTIN-14 on cartons: goods, though not sold by that code
# GS1 keeps prefixes 20-29 for in-store use: they never clash with a manufacturer's code.
IN_STORE_PREFIXES = frozenset(str(n) for n in range(20, 30))
INTERNAL_PREFIX = "20"
_SERIAL_DIGITS = 12 - len(INTERNAL_PREFIX)
_ASCII_DIGITS = re.compile(r"[0-9]+")

Kind = Literal["ean13", "ean8", "upca"]


def normalise_code(raw: str) -> str:
    """NFKC (full-width ０-９ become ASCII), the scanner's Enter and surrounding spaces dropped, and spaces
    inside removed too (people type the code as printed under the bars: "6 920244 418529")."""
    return normalise_scan(raw).replace(" ", "")


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of `body` (the code without its last digit): weights 3,1,3,... from the right."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_product_code(raw: str) -> str:
    """The canonical stored code, or `InvalidBarcode` with a `reason`.

    EAN-13 and EAN-8 are kept as they are; UPC-A (12 digits) is stored as the EAN-13 it is, with a leading 0
    (its check digit does not change). Reasons: empty, not_digits, wrong_length, check_digit.
    """
    code = normalise_code(raw)
    if not code:
        raise InvalidBarcode("empty barcode", barcode=code, reason="empty")
    if not _ASCII_DIGITS.fullmatch(code):
        raise InvalidBarcode("a product barcode has digits only", barcode=code, reason="not_digits")
    if len(code) not in PRODUCT_CODE_LENGTHS:
        raise InvalidBarcode("a product barcode has 8, 12 or 13 digits", barcode=code, reason="wrong_length",
                             length=len(code))
    expected = gs1_check_digit(code[:-1])
    if int(code[-1]) != expected:
        raise InvalidBarcode("wrong check digit", barcode=code, reason="check_digit", expected_check_digit=expected)
    return "0" + code if len(code) == UPCA else code


def is_valid_product_code(raw: str) -> bool:
    try:
        validate_product_code(raw)
    except InvalidBarcode:
        return False
    return True


def looks_like_product_code(raw: str) -> bool:
    """Whether a scan has the shape of goods (digits, 8/12/13 long, or 14 for a carton), check digit aside.

    The counter uses this to tell goods from member cards (16 digits, ledger/cards.py). A product code with a wrong
    check digit, or a carton's GTIN-14, still goes to the product lookup and is refused there as `invalid_barcode`
    with the reason, which tells the clerk more than "unknown card" would.
    """
    code = normalise_code(raw)
    return bool(_ASCII_DIGITS.fullmatch(code)) and len(code) in GOODS_SHAPE_LENGTHS


def barcode_kind(code: str) -> Kind:
    """The symbology to draw a stored (canonical) code with."""
    if len(code) == EAN8:
        return "ean8"
    return "ean13"


def is_in_store_code(code: str) -> bool:
    return len(code) == EAN13 and code[:2] in IN_STORE_PREFIXES


def internal_code(serial: int) -> str:
    """The in-store EAN-13 for a serial number: prefix 20, the serial in ten digits, the check digit."""
    if not 0 < serial < 10**_SERIAL_DIGITS:
        raise ValueError(f"internal code serial out of range: {serial}")
    body = f"{INTERNAL_PREFIX}{serial:0{_SERIAL_DIGITS}d}"
    return body + str(gs1_check_digit(body))


def internal_serial(code: str) -> int | None:
    """The serial of one of our internal codes, or None for any other code."""
    if len(code) != EAN13 or not code.startswith(INTERNAL_PREFIX) or not code.isdigit():
        return None
    return int(code[len(INTERNAL_PREFIX):-1])


# ---- shelf labels -------------------------------------------------------------------------------------------

# A font with Chinese glyphs for PNG labels; the first that exists wins. (SVG leaves fonts to the viewer.)
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def price_text(points_price: int, unit: str | None = None) -> str:
    return f"{points_price} 积分" + (f" / {unit}" if unit else "")


def shelf_label(code: str, name: str, points_price: int, *, unit: str | None = None,
                fmt: Literal["svg", "png"] = "svg") -> bytes:
    """A shelf label: the product name, its points price, and the barcode with its digits.

    `code` must be a valid stored code (it is validated again: python-barcode would "fix" a bad one).
    SVG for screens and browsers; PNG (RGB) for raster printing, which the printing package sends later.
    """
    canonical = validate_product_code(code)
    if fmt == "svg":
        return _svg_label(canonical, name, price_text(points_price, unit))
    if fmt == "png":
        return _png_label(canonical, name, price_text(points_price, unit))
    raise ValueError(f"unknown label format {fmt!r}")


def _barcode(code: str, writer: object) -> object:
    import barcode

    # no_checksum: draw exactly the code we validated, never a recomputed one.
    return barcode.get_barcode_class(barcode_kind(code))(code, writer=writer, no_checksum=True)


def _svg_label(code: str, name: str, price: str) -> bytes:
    from barcode.writer import SVGWriter

    out = io.BytesIO()
    _barcode(code, SVGWriter()).write(out)  # type: ignore[attr-defined]
    bars = minidom.parseString(out.getvalue()).documentElement
    width_mm = float(bars.getAttribute("width").removesuffix("mm"))
    height_mm = float(bars.getAttribute("height").removesuffix("mm"))
    header_mm = 12.0

    doc = minidom.getDOMImplementation().createDocument("http://www.w3.org/2000/svg", "svg", None)
    root = doc.documentElement
    for key, value in (("xmlns", "http://www.w3.org/2000/svg"), ("version", "1.1"),
                       ("width", f"{width_mm:.3f}mm"), ("height", f"{height_mm + header_mm:.3f}mm")):
        root.setAttribute(key, value)
    background = doc.createElement("rect")
    for key, value in (("width", "100%"), ("height", "100%"), ("style", "fill:white")):
        background.setAttribute(key, value)
    root.appendChild(background)
    for text, y, size in ((name, 4.5, 3.6), (price, 10.0, 3.6)):
        node = doc.createElement("text")
        for key, value in (("x", f"{width_mm / 2:.3f}mm"), ("y", f"{y}mm"), ("text-anchor", "middle"),
                           ("style", f"fill:black;font-size:{size}mm;font-family:'Noto Sans CJK SC',sans-serif")):
            node.setAttribute(key, value)
        node.appendChild(doc.createTextNode(text))
        root.appendChild(node)
    # The barcode's own SVG, nested below the text.
    nested = doc.importNode(bars, True)
    nested.setAttribute("y", f"{header_mm}mm")
    root.appendChild(nested)
    return doc.toxml(encoding="utf-8")


@lru_cache(maxsize=1)
def _cjk_font_path() -> str | None:
    return next((path for path in CJK_FONT_CANDIDATES if Path(path).exists()), None)


def _png_label(code: str, name: str, price: str) -> bytes:
    from barcode.writer import ImageWriter
    from PIL import Image, ImageDraw, ImageFont

    bars = _barcode(code, ImageWriter()).render()  # type: ignore[attr-defined]
    font_path = _cjk_font_path()
    size = max(18, bars.width // 16)
    font = ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default(size)
    header = size * 3
    label = Image.new("RGB", (bars.width, bars.height + header), "white")
    draw = ImageDraw.Draw(label)
    for text, y in ((name, size // 3), (price, size // 3 + int(size * 1.4))):
        draw.text((bars.width // 2, y), text, fill="black", font=font, anchor="mt")
    label.paste(bars, (0, header))
    out = io.BytesIO()
    label.save(out, format="PNG")
    return out.getvalue()
