"""Member card images: SVG (for the A4 print sheet and the browser) and PNG (300 dpi, for card printers).

A card is the size of a bank card (ISO/IEC 7810 ID-1, 85.6 × 54 mm): the shop's name on a red band, the
member's name, their household, a Code128 barcode of the card number with the number printed under it
(grouped by four), and a QR code of the card number for phone scanners. python-barcode and qrcode do the
encoding; the modules are drawn here so both formats share one layout and stay crisp at any size.

Plain data in (`CardFace`), bytes out; nothing here knows about members, the database or the web. Text in
the SVG is XML-escaped; Chinese needs a CJK font: the SVG names the usual CJK families and the PNG uses the
first CJK font found on the machine (Debian: fonts-noto-cjk), falling back to Pillow's own font (Latin only)
rather than failing.
"""

from __future__ import annotations

import functools
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import barcode
import qrcode
from PIL import Image, ImageDraw, ImageFont

CARD_WIDTH_MM = 85.6
CARD_HEIGHT_MM = 54.0
PNG_DPI = 300
CARD_PNG_SIZE = (round(CARD_WIDTH_MM * PNG_DPI / 25.4), round(CARD_HEIGHT_MM * PNG_DPI / 25.4))  # (1011, 638)

RED = "#c8102e"
INK = "#111111"
GREY = "#555555"
EDGE = "#bbbbbb"
SVG_FONT_FAMILY = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", '
                   '"WenQuanYi Zen Hei", sans-serif')
SVG_MONO_FAMILY = '"DejaVu Sans Mono", "Noto Sans Mono", "Consolas", monospace'

# Fonts with Simplified Chinese, most likely first (Debian/Ubuntu, Fedora, Arch, macOS, Windows).
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-{weight}.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-{weight}.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-{weight}.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-{weight}.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)

# The layout, in millimetres from the card's top left corner.
MARGIN = 4.0
BAND_HEIGHT = 11.0
CORNER = 3.0
STORE_SIZE, STORE_BASELINE = 4.2, 7.4
TITLE_SIZE = 3.4
NAME_SIZE, NAME_MIN_SIZE, NAME_BASELINE = 6.5, 3.0, 21.5
HOUSEHOLD_SIZE, HOUSEHOLD_BASELINE = 3.2, 27.5
QR_X, QR_Y, QR_SIZE = 60.6, 14.0, 21.0
BAR_X, BAR_Y, BAR_WIDTH, BAR_HEIGHT = MARGIN, 32.0, 52.0, 12.5
BAR_QUIET_MODULES = 10  # Code128 wants ten modules of white on each side
NUMBER_SIZE, NUMBER_BASELINE = 3.4, 49.5


@dataclass(frozen=True)
class CardFace:
    """What is printed on one card. `title` is the card's label in the shop's language (会员卡)."""

    card_number: str
    member_name: str
    store_name: str
    household: str = ""
    title: str = "会员卡"

    def __post_init__(self) -> None:
        if not (self.card_number.isascii() and self.card_number.isdigit()):
            raise ValueError("a card number is ASCII digits")


# ---------------------------------------------------------------------------------------------- shared


def barcode_modules(number: str) -> str:
    """The Code128 modules of the number ("1" black, "0" white), without the quiet zones."""
    return barcode.get("code128", number).build()[0]


def qr_matrix(number: str) -> list[list[bool]]:
    """The QR code's modules, without the quiet zone (the card's white around it serves)."""
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(number)
    code.make(fit=True)
    return code.get_matrix()


def grouped(number: str) -> str:
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))


def _runs(modules: str | list[bool]) -> Iterator[tuple[int, int]]:
    """(start, length) of each run of dark modules."""
    start = None
    for i, dark in enumerate([*modules, False]):
        dark = dark in ("1", True)
        if dark and start is None:
            start = i
        elif not dark and start is not None:
            yield start, i - start
            start = None


def _em_width(text: str) -> float:
    """Rough width in ems: a CJK character is one em, most Latin letters about half."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.55 for ch in text)


# ---------------------------------------------------------------------------------------------- SVG


def card_svg(face: CardFace) -> bytes:
    """A standalone SVG document (UTF-8)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + card_svg_element(face) + "\n").encode("utf-8")


def card_svg_element(face: CardFace) -> str:
    """The <svg> element alone, to place inline in an HTML page (the A4 sheet). Sized in millimetres."""
    w, h = CARD_WIDTH_MM, CARD_HEIGHT_MM
    label = f"{face.store_name} {face.title} {face.member_name} {grouped(face.card_number)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:g}mm" height="{h:g}mm" viewBox="0 0 {w:g} {h:g}" '
        f'role="img" aria-label={quoteattr(label)}>',
        f"<title>{escape(label)}</title>",
        f'<rect x="0.1" y="0.1" width="{w - 0.2:g}" height="{h - 0.2:g}" rx="{CORNER}" fill="#ffffff" '
        f'stroke="{EDGE}" stroke-width="0.2"/>',
        f'<path d="M0.1 {CORNER + 0.1}a{CORNER} {CORNER} 0 0 1 {CORNER} -{CORNER}h{w - 2 * CORNER - 0.2:g}'
        f'a{CORNER} {CORNER} 0 0 1 {CORNER} {CORNER}V{BAND_HEIGHT}H0.1z" fill="{RED}"/>',
        f'<g font-family={quoteattr(SVG_FONT_FAMILY)}>',
    ]
    title_width = _em_width(face.title) * TITLE_SIZE
    parts.append(_svg_text(face.title, w - MARGIN, STORE_BASELINE, TITLE_SIZE, "#ffffff", anchor="end"))
    parts.append(_svg_text(face.store_name, MARGIN, STORE_BASELINE, STORE_SIZE, "#ffffff", bold=True,
                           room=w - 2 * MARGIN - title_width - 2))
    parts.append(_svg_text(face.member_name, MARGIN, NAME_BASELINE, NAME_SIZE, INK, bold=True,
                           room=QR_X - MARGIN - 2, min_size=NAME_MIN_SIZE))
    if face.household:
        parts.append(_svg_text(face.household, MARGIN, HOUSEHOLD_BASELINE, HOUSEHOLD_SIZE, GREY,
                               room=QR_X - MARGIN - 2))
    parts.append("</g>")
    parts.append(_svg_barcode(face.card_number))
    parts.append(_svg_qr(face.card_number))
    parts.append(f'<text x="{BAR_X + BAR_WIDTH / 2:g}" y="{NUMBER_BASELINE}" font-size="{NUMBER_SIZE}" '
                 f'font-family={quoteattr(SVG_MONO_FAMILY)} text-anchor="middle" fill="{INK}" '
                 f'letter-spacing="0.3">{escape(grouped(face.card_number))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_text(text: str, x: float, y: float, size: float, fill: str, *, anchor: str = "start",
              bold: bool = False, room: float | None = None, min_size: float | None = None) -> str:
    """A line of text that fits `room` mm: smaller type first (down to `min_size`), then squeezed."""
    attrs = [f'x="{x:g}"', f'y="{y:g}"', f'fill="{fill}"']
    if anchor != "start":
        attrs.append(f'text-anchor="{anchor}"')
    if bold:
        attrs.append('font-weight="bold"')
    if room is not None:
        natural = _em_width(text) * size
        if natural > room:
            size = max(min_size or size, size * room / natural)
            if _em_width(text) * size > room:
                attrs.append(f'textLength="{room:g}" lengthAdjust="spacingAndGlyphs"')
    attrs.insert(2, f'font-size="{size:.2f}"')
    return f"<text {' '.join(attrs)}>{escape(text)}</text>"


def _svg_barcode(number: str) -> str:
    modules = barcode_modules(number)
    module = BAR_WIDTH / (len(modules) + 2 * BAR_QUIET_MODULES)
    x0 = BAR_X + BAR_QUIET_MODULES * module
    bars = "".join(f"M{start} 0h{length}v1h-{length}z" for start, length in _runs(modules))
    return (f'<path transform="translate({x0:.4f} {BAR_Y}) scale({module:.5f} {BAR_HEIGHT})" d="{bars}" '
            f'fill="#000000" shape-rendering="crispEdges"/>')


def _svg_qr(number: str) -> str:
    matrix = qr_matrix(number)
    module = QR_SIZE / len(matrix)
    cells = "".join(f"M{start} {y}h{length}v1h-{length}z"
                    for y, row in enumerate(matrix) for start, length in _runs(row))
    return (f'<path transform="translate({QR_X} {QR_Y}) scale({module:.5f})" d="{cells}" fill="#000000" '
            f'shape-rendering="crispEdges"/>')


# ---------------------------------------------------------------------------------------------- PNG


def card_png(face: CardFace, *, font_path: str | None = None, bold_font_path: str | None = None) -> bytes:
    """The card as a 300 dpi PNG of CARD_PNG_SIZE pixels. Fonts default to the first CJK font found."""
    image = Image.new("RGB", CARD_PNG_SIZE, "#ffffff")
    draw = ImageDraw.Draw(image)
    width, height = CARD_PNG_SIZE
    corner = _px(CORNER)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=corner, fill="#ffffff", outline=EDGE, width=2)
    draw.rounded_rectangle((0, 0, width - 1, _px(BAND_HEIGHT)), radius=corner, fill=RED)
    draw.rectangle((0, _px(BAND_HEIGHT) - corner, width - 1, _px(BAND_HEIGHT)), fill=RED)

    regular = font_path or _found_font("Regular")
    bold = bold_font_path or font_path or _found_font("Bold") or regular
    title_font = _font(regular, _px(TITLE_SIZE))
    draw.text((width - _px(MARGIN), _px(STORE_BASELINE)), face.title, font=title_font, fill="#ffffff", anchor="rs")
    title_width = title_font.getlength(face.title)
    _png_text(draw, face.store_name, _px(MARGIN), _px(STORE_BASELINE), bold, _px(STORE_SIZE), "#ffffff",
              room=width - 2 * _px(MARGIN) - title_width - _px(2))
    _png_text(draw, face.member_name, _px(MARGIN), _px(NAME_BASELINE), bold, _px(NAME_SIZE), INK,
              room=_px(QR_X - MARGIN - 2), min_size=_px(NAME_MIN_SIZE))
    if face.household:
        _png_text(draw, face.household, _px(MARGIN), _px(HOUSEHOLD_BASELINE), regular, _px(HOUSEHOLD_SIZE), GREY,
                  room=_px(QR_X - MARGIN - 2))

    modules = barcode_modules(face.card_number)
    module = max(1, _px(BAR_WIDTH) // (len(modules) + 2 * BAR_QUIET_MODULES))  # whole pixels: crisp bars
    left = _px(BAR_X) + (_px(BAR_WIDTH) - module * len(modules)) // 2
    top, bottom = _px(BAR_Y), _px(BAR_Y + BAR_HEIGHT)
    for start, length in _runs(modules):
        draw.rectangle((left + start * module, top, left + (start + length) * module - 1, bottom), fill="#000000")

    matrix = qr_matrix(face.card_number)
    cell = max(1, _px(QR_SIZE) // len(matrix))
    qx, qy = _px(QR_X), _px(QR_Y)
    for y, row in enumerate(matrix):
        for start, length in _runs(row):
            draw.rectangle((qx + start * cell, qy + y * cell, qx + (start + length) * cell - 1,
                            qy + (y + 1) * cell - 1), fill="#000000")

    number_font = _font(_found_mono_font() or regular, _px(NUMBER_SIZE))
    draw.text((_px(BAR_X + BAR_WIDTH / 2), _px(NUMBER_BASELINE)), grouped(face.card_number), font=number_font,
              fill=INK, anchor="ms")
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(PNG_DPI, PNG_DPI), optimize=True)
    return out.getvalue()


def _px(mm: float) -> int:
    return round(mm * PNG_DPI / 25.4)


def _png_text(draw: ImageDraw.ImageDraw, text: str, x: int, y: int, font_path: str | None, size: int, fill: str,
              *, room: float, min_size: int | None = None) -> None:
    """Left-aligned on its baseline; smaller type until it fits `room` pixels, then cut with an ellipsis."""
    font = _font(font_path, size)
    floor = min_size or size
    while font.getlength(text) > room and size > floor:
        size = max(floor, int(size * 0.9))
        font = _font(font_path, size)
    if font.getlength(text) > room:
        while text and font.getlength(text + "…") > room:
            text = text[:-1]
        text += "…"
    draw.text((x, y), text, font=font, fill=fill, anchor="ls")


@functools.lru_cache(maxsize=64)
def _font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path:
        try:
            return ImageFont.truetype(path, size, index=_simplified_chinese_face(path))
        except OSError:
            pass
    return ImageFont.load_default(size=size)  # Latin only, but a card still comes out


@functools.lru_cache(maxsize=8)
def _simplified_chinese_face(path: str) -> int:
    """In a font collection (.ttc) the face for Simplified Chinese (… SC), else the first."""
    if not path.lower().endswith(".ttc"):
        return 0
    for index in range(32):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(" SC") and "Mono" not in family:
            return index
    return 0


def find_cjk_font(weight: str = "Regular") -> str | None:
    """The path of a font with Chinese characters on this machine, or None."""
    return _found_font(weight)


@functools.lru_cache(maxsize=4)
def _found_font(weight: str) -> str | None:
    for candidate in CJK_FONT_CANDIDATES:
        path = Path(candidate.format(weight=weight))
        if path.is_file():
            return str(path)
    return None


@functools.lru_cache(maxsize=1)
def _found_mono_font() -> str | None:
    for candidate in ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
                      "/usr/share/fonts/dejavu/DejaVuSansMono.ttf"):
        if Path(candidate).is_file():
            return candidate
    return None
