"""Layouts → ESC/POS bytes (python-escpos into a `Dummy` printer) and → an HTML preview.

Text is encoded here, deliberately: GB18030 bytes sent with `_raw`, with the printer in Chinese mode (FS &).
python-escpos's automatic encoding only switches to GB18030 when a string holds an ideograph, so `，。：￥` alone
would go out as `?`. Every document starts with a reset (ESC @) followed by FS &, because a reset can drop the
Chinese mode on printers that do not start in it. Enlarged text uses GS ! (custom size): many Chinese printers
ignore ESC ! for Hanzi. QR codes and barcodes go out as raster images (GS v 0) unless the printer's options ask for
the native commands, which cheap 58 mm printers often lack.
"""

from __future__ import annotations

import base64
import copy
import functools
import html
import io
from dataclasses import dataclass
from datetime import datetime

import barcode as barcodes
import qrcode
from barcode.writer import ImageWriter
from escpos.capabilities import Profile, get_profile_class
from escpos.constants import FS, HW_INIT
from escpos.printer import Dummy
from PIL import Image

from printers.documents import DonationReceipt, MemberCard, Receipt, ShelfLabel, TestPage, ZReport
from printers.layout import (
    Barcode,
    Block,
    Cut,
    Feed,
    Paper,
    QRCode,
    Text,
    clean_text,
    layout,
    paper_for,
    printed_width,
    reprint_banner,
    rule,
)

CHINESE_MODE_ON = FS + b"&"
QR_MODULE_DOTS = {58: 5, 80: 6}
BARCODE_HEIGHT_DOTS = 64


@dataclass(frozen=True)
class PrinterOptions:
    """Per-printer choices (from the printer URL's query): native QR (GS ( k) and barcode (GS k) commands."""

    native_qr: bool = False
    native_barcode: bool = False


def encode_text(text: str) -> bytes:
    """GB18030 bytes for the printer in Chinese mode. GB18030 covers all of Unicode, so nothing becomes `?`."""
    return clean_text(text).encode("gb18030")


class _PaperProfile(Profile):  # type: ignore[misc]
    """python-escpos's default profile, with this paper's width (for centring images) and the native features the
    printer's options allow."""

    def __init__(self, paper: Paper, options: PrinterOptions) -> None:
        data = copy.deepcopy(get_profile_class("default").profile_data)
        features = dict(data["features"], qrCode=options.native_qr, barcodeA=options.native_barcode,
                        barcodeB=options.native_barcode)
        super().__init__(columns=paper.columns, features=features)
        data.update(name=f"creditmart {paper.mm} mm", features=features,
                    media={"dpi": 203, "width": {"mm": paper.mm, "pixels": paper.dots}},
                    fonts={"0": {"name": "Font A", "columns": paper.columns},
                           "1": {"name": "Font B", "columns": paper.small_columns}})
        self.profile_data = data


@dataclass
class _Style:
    align: str = "left"
    size: int = 1
    bold: bool = False
    invert: bool = False
    small: bool = False


class EscposWriter:
    """Writes blocks as ESC/POS into a python-escpos `Dummy`; `.output` is the job's payload."""

    def __init__(self, paper: Paper, options: PrinterOptions | None = None) -> None:
        self.paper = paper
        self.options = options or PrinterOptions()
        # The known encoding keeps python-escpos from emitting a code-page switch (ESC t) for the newlines that
        # its qr() writes; all our own text goes through `_raw`.
        self.printer = Dummy(profile=_PaperProfile(paper, self.options), magic_encode_args={"encoding": "CP437"})
        self.style = _Style()

    @property
    def output(self) -> bytes:
        return self.printer.output

    def reset(self) -> None:
        self.printer._raw(HW_INIT + CHINESE_MODE_ON)
        self.style = _Style()

    def write(self, blocks: list[Block]) -> None:
        for block in blocks:
            if isinstance(block, Text):
                self._text(block)
            elif isinstance(block, QRCode):
                self._qr(block)
            elif isinstance(block, Barcode):
                self._barcode(block)
            elif isinstance(block, Feed):
                self.printer._raw(b"\n" * block.lines)
            elif isinstance(block, Cut):
                self._set(_Style())
                self.printer.cut(mode="PART")
            else:  # pragma: no cover - the Block union is closed
                raise TypeError(block)

    def _set(self, want: _Style) -> None:
        p, have = self.printer, self.style
        if want.align != have.align:
            p.set(align=want.align)
        if want.size != have.size:
            p.set(custom_size=True, width=want.size, height=want.size)  # GS ! n, not ESC !
        if want.bold != have.bold:
            p.set(bold=want.bold)
        if want.invert != have.invert:
            p.set(invert=want.invert)
        if want.small != have.small:
            p.set(font="b" if want.small else "a")
        self.style = want

    def _text(self, block: Text) -> None:
        columns = self.paper.small_columns if block.small else self.paper.columns // block.size
        if printed_width(block.text) > columns:
            raise ValueError(f"layout bug: {block.text!r} overflows {columns} columns")
        if block.small and not block.text.isascii():
            raise ValueError("font B lines are ASCII only")
        self._set(_Style(block.align, block.size, block.bold, block.invert, block.small))
        self.printer._raw(encode_text(block.text) + b"\n")

    def _qr(self, block: QRCode) -> None:
        module = QR_MODULE_DOTS[self.paper.mm]
        if self.options.native_qr:
            self._set(_Style(align="center"))
            self.printer.qr(block.data, size=module, native=True)
            self.printer._raw(b"\n")
        else:
            self._set(_Style())
            # The blank lines around it are python-escpos's own spacing for a raster QR.
            self.printer._raw(b"\n")
            self.printer.image(qr_image(block.data, self.paper), center=True)
            self.printer._raw(b"\n\n")

    def _barcode(self, block: Barcode) -> None:
        image, module = barcode_image(block.data, block.symbology, self.paper)
        if image is None:  # too long for a readable barcode on this paper: a QR code carries it instead
            self._qr(QRCode(block.data))
            return
        if self.options.native_barcode:
            code, kind, function = ("{B" + block.data, "CODE128", "B") if block.symbology == "code128" else (
                block.data, block.symbology.upper(), "A")
            self.printer.barcode(code, kind, height=BARCODE_HEIGHT_DOTS, width=module, pos="OFF",
                                 align_ct=True, function_type=function)
            self.printer._raw(b"\n")
            self.style.align = "center"  # python-escpos centred it
        else:
            self._set(_Style())
            self.printer.image(image, center=True)


def barcode_image(data: str, symbology: str, paper: Paper) -> tuple[Image.Image | None, int]:
    """The barcode drawn by python-barcode at the widest module (3 or 2 dots) that leaves a ten-module quiet zone
    on each side; (None, 0) when even 2-dot modules do not fit (1-dot bars do not scan on thermal paper)."""
    for module in (3, 2):
        # dpi 25.4 makes python-barcode's millimetres exactly printer dots.
        code = barcodes.get(symbology, data, writer=ImageWriter())
        image = code.render(writer_options={"module_width": module, "module_height": BARCODE_HEIGHT_DOTS,
                                            "quiet_zone": 0, "dpi": 25.4, "write_text": False})
        if image.width + 20 * module <= paper.dots:
            return image, module
    return None, 0


def qr_image(data: str, paper: Paper) -> Image.Image:
    """The QR code as a raster image, drawn with the qrcode library as python-escpos would, but with a fixed
    mask pattern: every mask is valid QR, and skipping the search for the "best" one takes a receipt's QR from
    about 4.6 ms to 1.6 ms, which is most of a sale's rendering time at the counter."""
    code = qrcode.QRCode(version=None, box_size=QR_MODULE_DOTS[paper.mm], border=1,
                         error_correction=qrcode.constants.ERROR_CORRECT_L, mask_pattern=0)
    code.add_data(data)
    code.make(fit=True)
    return code.make_image().get_image().convert("RGB")


# --- public rendering API -------------------------------------------------------------------------------------------

Document = Receipt | DonationReceipt | ZReport | MemberCard | ShelfLabel | TestPage


def render_blocks(blocks: list[Block], width: int | Paper = 58, options: PrinterOptions | None = None) -> bytes:
    writer = EscposWriter(paper_for(width), options)
    writer.reset()
    writer.write(blocks)
    return writer.output


def render(document: Document, width: int | Paper = 58, options: PrinterOptions | None = None) -> bytes:
    """Any document as ESC/POS bytes for `width` mm paper (58 or 80)."""
    paper = paper_for(width)
    return render_blocks(layout(document, paper), paper, options)


def render_receipt(receipt: Receipt, width: int | Paper = 58, options: PrinterOptions | None = None) -> bytes:
    return render(receipt, width, options)


def render_donation_receipt(receipt: DonationReceipt, width: int | Paper = 58,
                            options: PrinterOptions | None = None) -> bytes:
    return render(receipt, width, options)


def render_z_report(report: ZReport, width: int | Paper = 58, options: PrinterOptions | None = None) -> bytes:
    return render(report, width, options)


def render_member_card(card: MemberCard, width: int | Paper = 58, options: PrinterOptions | None = None) -> bytes:
    return render(card, width, options)


def render_shelf_label(label: ShelfLabel, width: int | Paper = 58, options: PrinterOptions | None = None) -> bytes:
    return render(label, width, options)


def render_test_page(page: TestPage, width: int | Paper = 58, options: PrinterOptions | None = None) -> bytes:
    return render(page, width, options)


def mark_reprint(payload: bytes, width: int | Paper = 58, reprinted_at: datetime | None = None) -> bytes:
    """A stored receipt's bytes again, behind a 重印 / REPRINT banner. The original begins with its own reset and
    Chinese mode, so it prints exactly as before."""
    paper = paper_for(width)
    return render_blocks(reprint_banner(paper, reprinted_at) + [rule(paper, "=")], paper) + payload


# --- HTML preview ---------------------------------------------------------------------------------------------------

PREVIEW_CSS = """
.cm-paper{display:inline-block;box-sizing:content-box;width:calc(var(--cm-cols)*1ch);padding:1.5ch;margin:0;
 background:#fff;color:#000;font:16px/1.35 "Noto Sans Mono CJK SC","Sarasa Mono SC","WenQuanYi Zen Hei Mono",
 monospace;box-shadow:0 1px 4px rgba(0,0,0,.25)}
.cm-l{white-space:pre;overflow:hidden;min-height:1.35em}
.cm-w{display:inline-block;width:2ch;text-align:center}
.cm-center{text-align:center}.cm-right{text-align:right}.cm-b{font-weight:bold}
.cm-inv>span.cm-t{background:#000;color:#fff}.cm-small{font-size:75%}
.cm-s2{font-size:200%}.cm-s3{font-size:300%}
.cm-img{display:block;margin:.3em 0;image-rendering:pixelated}
.cm-cut{border-top:1px dashed #888;margin:.6em 0 0;height:0}
""".strip()


def _cells(text: str) -> str:
    """Each wide character in a two-column cell, so columns line up whatever the tablet's fonts are."""
    out: list[str] = []
    for ch in text:
        escaped = html.escape(ch)
        out.append(f'<span class="cm-w">{escaped}</span>' if printed_width(ch) == 2 else escaped)
    return "".join(out)


def _png_data_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("1").save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _image_html(image: Image.Image, paper: Paper, alt: str) -> str:
    percent = min(100.0, image.width * 100 / paper.dots)
    return (f'<img class="cm-img" style="width:{percent:.2f}%;margin-left:auto;margin-right:auto" '
            f'src="{_png_data_uri(image)}" alt="{html.escape(alt)}">')


def blocks_html(blocks: list[Block], paper: Paper, *, label: str = "") -> str:
    parts = [f'<figure class="cm-paper" data-paper="{paper.mm}" style="--cm-cols:{paper.columns}" '
             f'aria-label="{html.escape(label)}">']
    for block in blocks:
        if isinstance(block, Text):
            classes = ["cm-l", f"cm-{block.align}"]
            classes += [f"cm-s{block.size}"] if block.size > 1 else []
            classes += ["cm-b"] if block.bold else []
            classes += ["cm-inv"] if block.invert else []
            classes += ["cm-small"] if block.small else []
            parts.append(f'<div class="{" ".join(classes)}"><span class="cm-t">{_cells(block.text)}</span></div>')
        elif isinstance(block, QRCode):
            parts.append(_image_html(qr_image(block.data, paper), paper, f"QR {block.data}"))
        elif isinstance(block, Barcode):
            image, _ = barcode_image(block.data, block.symbology, paper)
            image = image if image is not None else qr_image(block.data, paper)
            parts.append(_image_html(image, paper, f"{block.symbology} {block.data}"))
        elif isinstance(block, Feed):
            parts.extend('<div class="cm-l"></div>' for _ in range(block.lines))
        elif isinstance(block, Cut):
            parts.append('<div class="cm-cut" role="separator"></div>')
    parts.append("</figure>")
    return "".join(parts)


@functools.singledispatch
def _label(document: object) -> str:
    return type(document).__name__


_label.register(Receipt, lambda d: f"receipt {d.sale_id}")
_label.register(DonationReceipt, lambda d: f"donation receipt {d.contribution_id}")
_label.register(ZReport, lambda d: f"Z report {d.shift_id}")
_label.register(MemberCard, lambda d: "member card")
_label.register(ShelfLabel, lambda d: f"shelf label {d.barcode}")
_label.register(TestPage, lambda d: "test page")


def preview_html(document: Document, width: int | Paper = 58, *, with_style: bool = True) -> str:
    """The document as the tablet shows it: an HTML fragment (all text escaped), line for line as on paper, with
    the same QR and barcode images as PNG data URIs. `with_style=False` leaves out the <style> element
    (`PREVIEW_CSS`) for a page that already has it."""
    paper = paper_for(width)
    figure = blocks_html(layout(document, paper), paper, label=_label(document))
    return (f"<style>{PREVIEW_CSS}</style>" if with_style else "") + figure
