"""Paper, columns and the layout of every document, shared by the ESC/POS renderer and the HTML preview.

A layout is a list of blocks: `Text` (exactly one printed line, already fitted to the paper), `QRCode`,
`Barcode`, `Feed` and `Cut`. Fitting happens here, by display width, so nothing the renderer prints can overflow:
a CJK character takes two columns, and long names wrap at word or character boundaries.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from core.text import display_width
from printers.documents import (
    DonationReceipt,
    MemberCard,
    Receipt,
    ShelfLabel,
    TestPage,
    ZReport,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class Paper:
    """A roll width. Font A is 12 dots wide (CJK 24), font B 9 dots: 32/42 columns on 58 mm, 48/64 on 80 mm."""

    mm: int
    columns: int
    dots: int
    small_columns: int


PAPER_58 = Paper(mm=58, columns=32, dots=384, small_columns=42)
PAPER_80 = Paper(mm=80, columns=48, dots=576, small_columns=64)


def paper_for(width_mm: int | Paper) -> Paper:
    if isinstance(width_mm, Paper):
        return width_mm
    if width_mm == 58:
        return PAPER_58
    if width_mm == 80:
        return PAPER_80
    raise ValueError(f"paper width must be 58 or 80 (mm), got {width_mm!r}")


# --- blocks ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """One printed line. `size` multiplies width and height (GS !); `small` is font B and ASCII only."""

    text: str
    align: Align = "left"
    size: int = 1
    bold: bool = False
    invert: bool = False
    small: bool = False


@dataclass(frozen=True)
class QRCode:
    data: str


@dataclass(frozen=True)
class Barcode:
    data: str
    symbology: Literal["code128", "ean13", "ean8"] = "code128"


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class Cut:
    pass


Block = Text | QRCode | Barcode | Feed | Cut


# --- text: cleaning, width, wrapping ----------------------------------------------------------------------------------

_REPLACEMENT = "□"  # shown where a character cannot be printed (never `?`)
_SPACE_LIKE = {"\t", "\n", "\r", "\x0b", "\x0c", "\u2028", "\u2029"}


def clean_text(text: str) -> str:
    """What may go to the printer: NFC, no control characters (an ESC in a product name would be a command),
    `¥` as `￥` (many Chinese printers print ¥ wrong), odd spaces as plain spaces, unassigned/private/surrogate
    code points as □."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", str(text)):
        category = unicodedata.category(ch)
        if ch == "¥":
            out.append("￥")
        elif ch in _SPACE_LIKE or (category == "Zs" and ch != "\u3000"):
            out.append(" ")
        elif category in ("Cc", "Cf"):
            continue
        elif category in ("Cs", "Co", "Cn"):
            out.append(_REPLACEMENT)
        else:
            out.append(ch)
    return "".join(out)


def printed_width(text: str) -> int:
    """Columns a line takes on a printer in Chinese mode.

    `display_width` counts East Asian wide characters as two. On the printer *every* non-ASCII character is a
    multi-byte GB18030 character printed in a full-width cell, so the ambiguous ones (× · ° é) take two as well.
    """
    return display_width(text) + sum(1 for ch in text if ord(ch) > 0x7F and display_width(ch) == 1)


_TOKEN = re.compile(r"[!-~]+| +|.", re.DOTALL)  # ASCII words, runs of spaces, any other single character


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` columns. ASCII words move whole to the next line when they can; CJK text and
    words longer than a line break between characters. Never returns an empty list."""
    if width < 2:
        raise ValueError("a line needs at least two columns (one CJK character)")
    lines: list[str] = []
    current = ""
    for token in _TOKEN.findall(clean_text(text)):
        if token.startswith(" "):
            if current and printed_width(current) + 1 <= width:
                current += " "
            continue
        if printed_width(current) + printed_width(token) <= width:
            current += token
            continue
        if printed_width(token) <= width and current.strip():
            lines.append(current.rstrip())
            current = token
            continue
        for ch in token:
            if printed_width(current) + printed_width(ch) > width:
                lines.append(current.rstrip())
                current = ""
            current += ch
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def pad(text: str, width: int, align: Align = "left") -> str:
    """`text` padded with spaces to exactly `width` columns (it must fit)."""
    gap = width - printed_width(text)
    if gap < 0:
        raise ValueError(f"{text!r} does not fit in {width} columns")
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def left_right(left: str, right: str, width: int, indent: int = 0) -> list[str]:
    """`left` (indented by `indent` columns) and `right` on one line, right-aligned; when they do not fit, `left`
    wraps and `right` goes on the last line if it fits there, else on its own line."""
    right = clean_text(right)
    lines = [" " * indent + line for line in wrap(left, width - indent)]
    last = lines[-1]
    if printed_width(last) + 1 + printed_width(right) <= width:
        lines[-1] = last + " " * (width - printed_width(last) - printed_width(right)) + right
    else:
        lines.append(pad(right, width, "right"))
    return lines


def label_value(label: str, value: str, width: int) -> list[str]:
    """`标签：值`, the value wrapping under itself (indented by the label's width)."""
    head = clean_text(label) + "："
    indent = printed_width(head)
    if width - indent < 12:
        return wrap(head + value, width)
    body = wrap(value, width - indent)
    return [head + body[0]] + [" " * indent + line for line in body[1:]]


# --- formatting -----------------------------------------------------------------------------------------------------


def local_time(moment: datetime) -> str:
    """Asia/Shanghai wall-clock time, as printed."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def mask_card(card_number: str) -> str:
    """A card number on a receipt shows only its last four characters."""
    card_number = clean_text(card_number)
    return "****" + card_number[-4:] if len(card_number) > 4 else "*" * len(card_number)


def yuan(fen: int) -> str:
    """Integer fen as ￥yuan with two decimals (full-width ￥: many printers print ¥ wrong)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}￥{fen // 100:,}.{fen % 100:02d}"


# --- building blocks ------------------------------------------------------------------------------------------------


def lines(texts: list[str], **style: object) -> list[Block]:
    return [Text(t, **style) for t in texts]  # type: ignore[arg-type]


def title(text: str, paper: Paper, size: int = 2) -> list[Block]:
    """An enlarged, centred heading (GS ! custom size), wrapped at the enlarged width."""
    return lines(wrap(text, paper.columns // size), align="center", size=size, bold=True)


def centered(text: str, paper: Paper, **style: object) -> list[Block]:
    return lines(wrap(text, paper.columns), align="center", **style)


def rule(paper: Paper, char: str = "-") -> Text:
    return Text(char * paper.columns)


def small_or_wrapped(text: str, paper: Paper, align: Align = "center") -> list[Block]:
    """An ASCII identifier in font B when it fits there (a UUID fits 42 columns, not 32), else wrapped."""
    text = clean_text(text)
    if text.isascii() and len(text) <= paper.small_columns:
        return [Text(text, align=align, small=True)]
    return lines(wrap(text, paper.columns), align=align)


def item_rows(name: str, middle: str, right: str, paper: Paper) -> list[Block]:
    """An item: on 80 mm, name | middle | right in three columns; on 58 mm the name takes its own line(s) and
    middle and right follow, indented. Names wrap inside their column."""
    if paper.columns >= 48:
        name_width, side = paper.columns - 24, 12
        names = wrap(name, name_width)
        if printed_width(middle) <= side and printed_width(right) <= side:
            first = pad(names[0], name_width) + pad(middle, side, "right") + pad(right, side, "right")
            return lines([first] + names[1:])
        return lines(names + left_right(middle, right, paper.columns, indent=2))
    return lines(wrap(name, paper.columns) + left_right(middle, right, paper.columns, indent=2))


def figures(pairs: list[tuple[str, str]], paper: Paper, **style: object) -> list[Block]:
    out: list[Block] = []
    for label, value in pairs:
        out += lines(left_right(label + "：", value, paper.columns), **style)
    return out


def facts(pairs: list[tuple[str, str]], paper: Paper) -> list[Block]:
    out: list[Block] = []
    for label, value in pairs:
        out += lines(label_value(label, value, paper.columns))
    return out


def reprint_banner(paper: Paper, reprinted_at: datetime | None) -> list[Block]:
    out: list[Block] = [Text(" 重印 REPRINT ", align="center", size=2, bold=True, invert=True)]
    if reprinted_at is not None:
        out += centered(f"重印时间：{local_time(reprinted_at)}", paper)
    return out


# --- the documents --------------------------------------------------------------------------------------------------


@functools.singledispatch
def layout(document: object, paper: Paper) -> list[Block]:
    raise TypeError(f"no layout for {type(document).__name__}")


def _item_header(what: str, paper: Paper) -> list[Block]:
    if paper.columns >= 48:
        return [Text(pad(what, paper.columns - 24) + pad("数量×单价", 12, "right") + pad("积分", 12, "right"))]
    return lines(left_right(f"{what} / 数量×单价", "积分", paper.columns))


@layout.register
def _receipt(receipt: Receipt, paper: Paper) -> list[Block]:
    blocks: list[Block] = []
    if receipt.reprint:
        blocks += reprint_banner(paper, receipt.reprinted_at)
        blocks.append(Feed())
    blocks += title(receipt.store_name, paper)
    blocks += centered("积分兑换小票", paper)
    blocks.append(rule(paper))
    blocks += facts([("时间", local_time(receipt.sold_at)), ("店员", receipt.clerk),
                     ("会员", receipt.member_name), ("卡号", mask_card(receipt.card_number))], paper)
    blocks.append(rule(paper))
    blocks += _item_header("商品", paper)
    for line in receipt.lines:
        blocks += item_rows(line.name, f"{line.qty}×{line.points_price}", str(line.points), paper)
    blocks.append(rule(paper))
    blocks += figures([("合计积分", str(receipt.points_total))], paper, bold=True)
    blocks += figures([("兑换前余额", str(receipt.balance_before)), ("兑换后余额", str(receipt.balance_after))], paper)
    blocks.append(rule(paper))
    blocks.append(QRCode(receipt.sale_id))
    blocks += small_or_wrapped(receipt.sale_id, paper)
    blocks.append(Feed())
    blocks += centered("感谢您的志愿服务，欢迎再来！", paper)
    if receipt.reprint:
        blocks += centered("*** 重印 REPRINT ***", paper, bold=True)
    blocks.append(Cut())
    return blocks


@layout.register
def _donation(receipt: DonationReceipt, paper: Paper) -> list[Block]:
    status = "已入账" if receipt.status == "posted" else "待审核"
    blocks: list[Block] = []
    blocks += title(receipt.store_name, paper)
    blocks += centered("捐赠收据", paper, bold=True)
    blocks.append(rule(paper))
    donor = [("捐赠人", receipt.member_name)]
    if receipt.card_number:  # an organisation donates without a card
        donor.append(("卡号", mask_card(receipt.card_number)))
    blocks += facts([("时间", local_time(receipt.received_at)), ("经办", receipt.clerk), *donor], paper)
    blocks.append(rule(paper))
    if receipt.lines:  # goods (捐赠物品): each at its points value, like a sale's lines
        blocks += _item_header("物品", paper)
        for line in receipt.lines:
            blocks += item_rows(line.name, f"{line.qty}×{line.points_price}", str(line.points), paper)
        blocks.append(rule(paper))
        blocks += figures([("积分", f"{receipt.points}（{status}）")], paper, bold=True)
    else:
        blocks += figures([("捐赠金额", yuan(receipt.amount_fen))], paper, bold=True)
        blocks += figures([("积分", f"{receipt.points}（{status}）")], paper)
    if receipt.note:
        blocks += facts([("备注", receipt.note)], paper)
    blocks.append(rule(paper))
    blocks.append(QRCode(receipt.contribution_id))
    blocks += small_or_wrapped(receipt.contribution_id, paper)
    blocks.append(Feed())
    blocks += centered("感谢您的爱心捐赠！", paper)
    blocks.append(Cut())
    return blocks


@layout.register
def _z_report(report: ZReport, paper: Paper) -> list[Block]:
    def when(moment: datetime | None) -> str:
        return local_time(moment) if moment is not None else "无"

    blocks: list[Block] = []
    blocks += title(report.store_name, paper)
    blocks += title("交班报表（Z）", paper)
    blocks.append(rule(paper))
    pairs = [("班次", report.shift_id)]
    if report.opened_at is not None:
        pairs.append(("开班", local_time(report.opened_at)))
    pairs += [("交班", local_time(report.closed_at)), ("交班人", report.closed_by),
              ("首笔", when(report.first_sale_at)), ("末笔", when(report.last_sale_at))]
    blocks += facts(pairs, paper)
    blocks.append(rule(paper))
    blocks += figures([("兑换笔数", str(report.sales_count)), ("作废笔数", str(report.voids_count)),
                       ("兑换积分", str(report.points_redeemed)), ("作废退回积分", str(report.points_returned))],
                      paper)
    blocks += figures([("净兑换积分", str(report.points_redeemed - report.points_returned))], paper, bold=True)
    blocks.append(rule(paper))
    if paper.columns >= 48:
        blocks.append(Text(pad("商品", paper.columns - 24) + pad("数量", 12, "right") + pad("积分", 12, "right")))
    else:
        blocks += lines(left_right("商品 / 数量", "积分", paper.columns))
    for item in report.items:
        blocks += item_rows(item.name, f"{item.qty}", str(item.points), paper)
    if not report.items:
        blocks += centered("（本班无兑换）", paper)
    blocks += figures([("合计", f"{sum(i.qty for i in report.items)} 件 / {sum(i.points for i in report.items)} 分")],
                      paper)
    blocks.append(rule(paper))
    if report.ledger_ok:
        blocks += lines(left_right("账本核对：", "正常 OK", paper.columns), bold=True)
    else:
        blocks += lines(wrap("账本核对：异常 NOT OK", paper.columns // 2), size=2, bold=True, invert=True)
    if report.ledger_note:
        blocks += lines(wrap(report.ledger_note, paper.columns))
    blocks.append(Cut())
    return blocks


@layout.register
def _member_card(card: MemberCard, paper: Paper) -> list[Block]:
    pairs = [("姓名", card.member_name), ("卡号", card.card_number)]
    if card.household:
        pairs.append(("户号", card.household))
    pairs.append(("发卡日期", card.issued_at.astimezone(SHANGHAI).strftime("%Y-%m-%d")))
    blocks: list[Block] = []
    blocks += title(card.store_name, paper)
    blocks += centered("会员卡 MEMBER CARD", paper, bold=True)
    blocks.append(rule(paper))
    blocks += facts(pairs, paper)
    blocks.append(Feed())
    blocks.append(Barcode(card.card_number, "code128"))
    blocks += centered(card.card_number, paper)
    blocks.append(QRCode(card.card_number))
    blocks += centered("请妥善保管，凭卡兑换积分商品。", paper)
    blocks.append(Cut())
    return blocks


def barcode_symbology(code: str) -> Literal["code128", "ean13", "ean8"]:
    """EAN-13/EAN-8 when the code is one with a valid check digit, else Code 128 (which prints any ASCII)."""
    if code.isdigit() and len(code) in (8, 13):
        digits = [int(d) for d in code]
        body, check = digits[:-1], digits[-1]
        weights = [3, 1] if len(body) % 2 else [1, 3]  # the digit next to the check digit weighs 3
        total = sum(d * weights[i % 2] for i, d in enumerate(body))
        if (10 - total % 10) % 10 == check:
            return "ean13" if len(code) == 13 else "ean8"
    return "code128"


@layout.register
def _shelf_label(label: ShelfLabel, paper: Paper) -> list[Block]:
    price = f"{label.points_price}积分" + (f"/{label.unit}" if label.unit else "")
    size = 3 if printed_width(clean_text(price)) <= paper.columns // 3 else 2
    blocks: list[Block] = []
    if label.store_name:
        blocks += centered(label.store_name, paper)
    blocks += title(label.name, paper)
    blocks += lines(wrap(price, paper.columns // size), align="center", size=size, bold=True)
    if label.category:
        blocks += centered(label.category, paper)
    blocks.append(Barcode(label.barcode, barcode_symbology(label.barcode)))
    blocks += centered(label.barcode, paper)
    blocks.append(Cut())
    return blocks


@layout.register
def _test_page(page: TestPage, paper: Paper) -> list[Block]:
    ruler = "".join(str(i % 10) for i in range(1, paper.columns + 1))
    hanzi = ("信用超市积分兑换" * paper.columns)[: paper.columns // 2]
    blocks: list[Block] = []
    blocks += title("打印测试页", paper)
    blocks += centered("TEST PAGE", paper, bold=True)
    if page.store_name:
        blocks += centered(page.store_name, paper)
    blocks.append(rule(paper))
    blocks += facts([("时间", local_time(page.printed_at)), ("纸宽", f"{paper.mm} mm / {paper.columns} 列")], paper)
    if page.printer:
        blocks += facts([("打印机", page.printer)], paper)
    blocks.append(rule(paper))
    blocks.append(Text(ruler))
    blocks.append(Text(hanzi))
    blocks += lines(wrap("标点：，。：；！？、（）【】《》“”￥", paper.columns))
    blocks += lines(wrap("金额：￥12.50 元；数量×单价 2×35", paper.columns))
    blocks += lines(wrap("ASCII: 0123456789 ABCxyz +-*/=%#@&", paper.columns))
    blocks += lines(wrap("放大 GS ! 2×", paper.columns // 2), size=2)
    blocks.append(Text("加粗 Bold", bold=True))
    blocks.append(Text(" 反白 Inverted ", invert=True))
    blocks.append(Text("font B: 0123456789abcdefghij", small=True))
    for note in page.notes:
        blocks += lines(wrap(note, paper.columns))
    blocks.append(rule(paper))
    blocks.append(QRCode("creditmart test page 信用超市"))
    blocks.append(Barcode("6920244418529", "ean13"))
    blocks += centered("6920244418529", paper)
    blocks += centered("如以上中文、标点与￥显示正常，打印机设置无误。", paper)
    blocks.append(Cut())
    return blocks
