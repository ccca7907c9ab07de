"""ESC/POS output, read back with the test decoder: Chinese text, widths, modes, codes, golden receipts."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from printers import (
    DonationReceipt,
    MemberCard,
    PrinterOptions,
    Receipt,
    ReceiptLine,
    ShelfLabel,
    TestPage,
    ZReport,
    ZReportItem,
    mark_reprint,
    preview_html,
    render,
    render_receipt,
    render_shelf_label,
)
from printers.layout import Feed, Text, layout, paper_for
from printers.render import render_blocks
from tests.escpos_decoder import assert_prints_well, decode

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("CREDITMART_UPDATE_GOLDEN") == "1"
SOLD_AT = datetime(2026, 12, 3, 6, 5, 9, tzinfo=UTC)  # 14:05:09 in Shanghai
SALE_ID = "3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"


def receipt(**changes: object) -> Receipt:
    fields: dict[str, object] = dict(
        sale_id=SALE_ID, store_name="东山村信用超市", sold_at=SOLD_AT, clerk="王小红", member_name="杨明",
        card_number="100000123456",
        lines=[ReceiptLine("东北大米 5kg", 2, 35, "6982606870703"),
               ReceiptLine("金龙鱼食用植物调和油（特惠装）5L 家庭实惠大桶", 1, 70),
               ReceiptLine("香皂 125g", 3, 5)],
        points_total=155, balance_before=300, balance_after=145)
    fields.update(changes)
    return Receipt(**fields)  # type: ignore[arg-type]


def z_report(ledger_ok: bool = True) -> ZReport:
    return ZReport(shift_id="7c1f0e2a-0000-4000-8000-000000000001", store_name="东山村信用超市",
                   closed_at=SOLD_AT, closed_by="王小红", sales_count=12, voids_count=1, points_redeemed=430,
                   points_returned=35,
                   items=[ZReportItem("东北大米 5kg", 5, 175), ZReportItem("金龙鱼食用植物调和油（特惠装）5L", 2, 140)],
                   first_sale_at=SOLD_AT, last_sale_at=SOLD_AT, ledger_ok=ledger_ok,
                   ledger_note="" if ledger_ok else "第 17 笔哈希不符", opened_at=SOLD_AT)


DOCUMENTS = {
    "receipt": receipt(),
    "reprint": receipt(reprint=True, reprinted_at=SOLD_AT),
    "donation": DonationReceipt("c0ffee00-1111-4222-8333-444455556666", "东山村信用超市", SOLD_AT, "王小红", "杨明",
                                "100000123456", amount_fen=12350, points=123, note="现金，感谢！"),
    "donation_goods": DonationReceipt("c0ffee00-1111-4222-8333-444455556667", "东山村信用超市", SOLD_AT, "王小红",
                                      "东山村便民超市（爱心企业）", "", amount_fen=0, points=2 * 70 + 35,
                                      lines=(ReceiptLine("金龙鱼大豆油 5L（非转基因，压榨一级）", 2, 70),
                                             ReceiptLine("东北大米 5kg", 1, 35))),
    "z_report": z_report(),
    "z_report_bad": z_report(ledger_ok=False),
    "card": MemberCard("东山村信用超市", "阿依古丽·买买提", "100000123456", SOLD_AT, household="DSC-018"),
    "label": ShelfLabel("东北大米 5kg", "6982606870703", 35, unit="袋", category="粮油", store_name="东山村信用超市"),
    "test_page": TestPage(SOLD_AT, printer="tcp://192.168.1.50:9100", store_name="东山村信用超市"),
}


@pytest.mark.parametrize("width", [58, 80])
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_decodes_fits_and_keeps_chinese_mode(name: str, width: int) -> None:
    doc = assert_prints_well(render(DOCUMENTS[name], width), width)
    assert doc.cuts == 1
    assert "ESC t 0" not in doc.commands  # no code-page switch: text is GB18030 in Chinese mode


@pytest.mark.parametrize("width", [58, 80])
def test_receipt_has_everything_a_member_checks(width: int) -> None:
    doc = assert_prints_well(render_receipt(receipt(), width), width, expected=[
        "东山村信用超市", "时间：2026-12-03 14:05:09", "店员：王小红", "会员：杨明", "卡号：****3456",
        "东北大米 5kg", "2×35", "香皂 125g", "3×5", "合计积分：", "兑换前余额：", "兑换后余额：", SALE_ID,
        "感谢您的志愿服务，欢迎再来！"])
    assert "100000123456" not in doc.text  # the full card number never goes on a receipt
    title = doc.find("东山村信用超市")
    assert (title.width, title.height, title.align) == (2, 2, 1)  # enlarged with GS !, centred
    assert doc.find("合计积分").text.endswith("155")
    assert doc.find("兑换前余额").text.endswith("300") and doc.find("兑换后余额").text.endswith("145")
    assert len(doc.images) == 1 and doc.images[0].height > 100  # the sale id's QR code, as a raster image
    assert not any(c.startswith("GS ( k") for c in doc.commands)


def test_long_names_wrap_and_right_columns_line_up_at_80mm() -> None:
    doc = assert_prints_well(render_receipt(receipt(), 80), 80)
    rows = [line for line in doc.lines if "×" in line.text and line.text[0] != "商"]
    assert len(rows) == 3
    assert {line.columns for line in rows} == {48}  # each item row ends exactly at the right edge
    assert doc.find("家庭实惠大桶").columns <= 24  # the wrapped rest stays in the name column


def test_full_width_punctuation_and_yuan_go_out_as_gb18030() -> None:
    payload = render(DOCUMENTS["donation"], 58)
    for text in ("，", "！", "：", "￥123.50"):
        assert text.encode("gb18030") in payload
    doc = assert_prints_well(payload, 58, expected=["捐赠金额：", "￥123.50", "123（待审核）", "备注：现金，感谢！"])
    assert doc.find("￥123.50").bold


def test_python_escpos_own_text_encoding_would_lose_punctuation() -> None:
    """Why text goes out through `_raw`: the library's auto-encoding sends `?` when no ideograph is present."""
    from escpos.printer import Dummy

    printer = Dummy()
    printer.text("，。：￥")
    assert printer.output.endswith(b"????")
    ours = render_blocks([Text("，。：￥")], 58)
    assert ours.endswith("，。：￥\n".encode("gb18030"))
    assert decode(ours).text_lines() == ["，。：￥"]


def test_reprint_says_so_at_the_top_and_the_bottom() -> None:
    doc = assert_prints_well(render(receipt(reprint=True, reprinted_at=SOLD_AT), 58), 58)
    banner = doc.lines[0]
    assert "重印 REPRINT" in banner.text and banner.invert and banner.width == 2
    marked = [i for i, line in enumerate(doc.lines) if "重印 REPRINT" in line.text]
    assert len(marked) == 2 and marked[-1] > doc.text_lines().index(SALE_ID)


def test_mark_reprint_puts_a_banner_before_the_stored_bytes() -> None:
    original = render_receipt(receipt(), 58)
    again = mark_reprint(original, 58, SOLD_AT)
    assert again.endswith(original)
    doc = assert_prints_well(again, 58, expected=["重印 REPRINT", "重印时间：2026-12-03 14:05:09"])
    assert doc.commands.count("ESC @") == 2  # both resets are followed by FS & (checked above)


def test_failed_ledger_check_is_loud_on_the_z_report() -> None:
    ok = assert_prints_well(render(z_report(), 58), 58, expected=["交班报表", "兑换笔数：", "作废笔数：", "首笔：",
                                                                    "末笔：", "正常 OK"])
    assert ok.find("兑换笔数").text.endswith("12") and ok.find("净兑换积分").text.endswith("395")
    bad = assert_prints_well(render(z_report(ledger_ok=False), 58), 58, expected=["异常", "NOT OK", "第 17 笔哈希不符"])
    assert bad.find("异常").invert and bad.find("异常").width == 2


def test_shelf_label_price_is_big_and_barcode_is_an_ean13_image() -> None:
    doc = assert_prints_well(render_shelf_label(DOCUMENTS["label"], 58), 58, expected=["35积分/袋", "6982606870703"])
    assert doc.find("35积分/袋").width == 3
    assert len(doc.images) == 1 and doc.images[0].width == 384


def test_native_codes_are_a_per_printer_option() -> None:
    options = PrinterOptions(native_qr=True, native_barcode=True)
    receipt_doc = assert_prints_well(render_receipt(receipt(), 58, options), 58)
    assert not receipt_doc.images
    assert any(c.startswith("GS ( k") and "fn=P" in c for c in receipt_doc.commands)
    label_doc = assert_prints_well(render_shelf_label(DOCUMENTS["label"], 58, options), 58)
    assert "GS k 2 6982606870703" in label_doc.commands  # GS k, function A, EAN13
    card_doc = assert_prints_well(render(DOCUMENTS["card"], 80, options), 80)
    assert "GS k 73 {B100000123456" in card_doc.commands  # CODE128


def test_a_barcode_too_long_for_the_paper_becomes_a_qr_code() -> None:
    label = ShelfLabel("散装花生", "STORE-INTERNAL-CODE-0000000000001", 9)
    doc = assert_prints_well(render_shelf_label(label, 58), 58, expected=["STORE-INTERNAL-CODE"])
    assert len(doc.images) == 1 and doc.images[0].width <= 384


def test_control_characters_in_names_cannot_inject_commands() -> None:
    evil = receipt(member_name="杨明\x1bd\x40\x1dV\x00", lines=[ReceiptLine("米\x1b@", 1, 155)])
    doc = assert_prints_well(render_receipt(evil, 58), 58)
    assert doc.commands.count("ESC @") == 1 and doc.cuts == 1


def test_documents_refuse_figures_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="sum of the lines"):
        receipt(points_total=150, balance_after=150)
    with pytest.raises(ValueError, match="balance_after"):
        receipt(balance_after=146)
    with pytest.raises(ValueError, match="aware"):
        receipt(sold_at=datetime(2026, 12, 3, 14, 5))
    with pytest.raises(ValueError):
        ReceiptLine("米", 0, 10)
    with pytest.raises(TypeError):
        ReceiptLine("米", 1, 10.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        DonationReceipt("x", "店", SOLD_AT, "王", "杨", "1", amount_fen=0, points=0)
    with pytest.raises(ValueError, match="sum of the goods"):
        DonationReceipt("x", "店", SOLD_AT, "王", "杨", "1", amount_fen=0, points=71, lines=(ReceiptLine("油", 1, 70),))
    with pytest.raises(ValueError, match="no amount"):
        DonationReceipt("x", "店", SOLD_AT, "王", "杨", "1", amount_fen=100, points=70,
                        lines=(ReceiptLine("油", 1, 70),))


@pytest.mark.parametrize("width", [58, 80])
def test_preview_is_escaped_html_line_for_line(width: int) -> None:
    doc = receipt(member_name="<script>alert(1)</script>")
    html = preview_html(doc, width)
    assert "<script>" not in html and "&lt;" in html
    assert f'data-paper="{width}"' in html and "data:image/png;base64," in html
    blocks = layout(doc, paper_for(width))
    assert html.count('class="cm-l') == sum(isinstance(b, Text) for b in blocks) + sum(
        b.lines for b in blocks if isinstance(b, Feed))
    assert '<span class="cm-w">东</span>' in html  # wide characters in two-column cells
    assert "<style>" not in preview_html(doc, width, with_style=False)


@pytest.mark.parametrize("width", [58, 80])
def test_golden_receipt_bytes(width: int) -> None:
    """The exact bytes of a Chinese receipt. After a deliberate change, regenerate with
    CREDITMART_UPDATE_GOLDEN=1 and review tests/golden/receipt_*.txt (the decoded text) in the diff."""
    payload = render_receipt(receipt(), width)
    binary, text = GOLDEN / f"receipt_{width}.escpos", GOLDEN / f"receipt_{width}.txt"
    decoded = "\n".join(line.text for line in decode(payload).lines) + "\n"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        binary.write_bytes(payload)
        text.write_text(decoded, encoding="utf-8")
    assert text.read_text(encoding="utf-8") == decoded
    assert payload == binary.read_bytes()
    assert_prints_well(binary.read_bytes(), width)


def test_a_goods_donation_receipt_lists_the_goods_and_an_organisation_has_no_card_line() -> None:
    doc = assert_prints_well(render(DOCUMENTS["donation_goods"], 58), 58,
                             expected=["捐赠收据", "东山村便民超市", "东北大米 5kg", "1×35", "175（待审核）"])
    assert "卡号" not in doc.text and "￥" not in doc.text
    assert "卡号" in decode(render(DOCUMENTS["donation"], 58)).text
