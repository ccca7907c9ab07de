"""Everything that goes to paper: receipts, donation receipts, shift (Z) reports, member cards, shelf labels.

This package takes plain dataclasses (`printers.documents`) and never imports `pos`, `ledger`, `inventory`,
Flask or SQLAlchemy. The pieces:

- `documents`: the document models the rest of the system fills in.
- `layout`: paper widths, display-width columns and wrapping, and the one layout per document (a list of blocks).
- `render`: blocks → ESC/POS bytes (python-escpos, GB18030 text, Chinese mode) and → an HTML preview.
- `drivers`: printers chosen by URL (tcp, usb, serial, file, cups, dummy), sending and status with timeouts.
- `queue`: the print worker over a small `JobStore` protocol (one job at a time, retries with backoff).
"""

from printers.documents import (
    DonationReceipt,
    MemberCard,
    Receipt,
    ReceiptLine,
    ShelfLabel,
    TestPage,
    ZReport,
    ZReportItem,
)
from printers.layout import PAPER_58, PAPER_80, Paper, paper_for
from printers.render import (
    PrinterOptions,
    mark_reprint,
    preview_html,
    render,
    render_donation_receipt,
    render_member_card,
    render_receipt,
    render_shelf_label,
    render_test_page,
    render_z_report,
)

__all__ = [
    "PAPER_58",
    "PAPER_80",
    "DonationReceipt",
    "MemberCard",
    "Paper",
    "PrinterOptions",
    "Receipt",
    "ReceiptLine",
    "ShelfLabel",
    "TestPage",
    "ZReport",
    "ZReportItem",
    "mark_reprint",
    "paper_for",
    "preview_html",
    "render",
    "render_donation_receipt",
    "render_member_card",
    "render_receipt",
    "render_shelf_label",
    "render_test_page",
    "render_z_report",
]
