"""The documents that go to paper, as plain frozen dataclasses.

The use cases in `pos` fill these from their own records (sales, contributions, shifts, members, products);
nothing here knows about the database. Points and money are integers (points, fen); times are aware datetimes
(stored UTC, printed in Asia/Shanghai). Each document checks its own arithmetic on construction, so a receipt that
does not add up is refused where it is built, inside the sale's transaction, and never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import get_args, get_type_hints


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be an aware datetime (UTC), got a naive one")


def _whole(name: str, value: int, *, minimum: int | None = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


@dataclass(frozen=True)
class ReceiptLine:
    """One item on a sale receipt: `qty` units at `points_price` points each."""

    name: str
    qty: int
    points_price: int
    barcode: str = ""

    def __post_init__(self) -> None:
        _whole("qty", self.qty, minimum=1)
        _whole("points_price", self.points_price)

    @property
    def points(self) -> int:
        return self.qty * self.points_price


@dataclass(frozen=True)
class Receipt:
    """A redemption (sale) receipt.

    `balance_before - points_total == balance_after` and `points_total` is the sum of the lines; both are checked.
    `reprint=True` prints the 重印 / REPRINT banner (a reprint of an already printed payload can instead be made
    with `printers.render.mark_reprint`).
    """

    sale_id: str
    store_name: str
    sold_at: datetime
    clerk: str
    member_name: str
    card_number: str
    lines: tuple[ReceiptLine, ...]
    points_total: int
    balance_before: int
    balance_after: int
    reprint: bool = False
    reprinted_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        if not self.lines:
            raise ValueError("a receipt needs at least one line")
        _aware("sold_at", self.sold_at)
        _aware("reprinted_at", self.reprinted_at)
        _whole("points_total", self.points_total)
        _whole("balance_before", self.balance_before)
        _whole("balance_after", self.balance_after)
        if sum(line.points for line in self.lines) != self.points_total:
            raise ValueError("points_total is not the sum of the lines")
        if self.balance_before - self.points_total != self.balance_after:
            raise ValueError("balance_after must be balance_before - points_total")


@dataclass(frozen=True)
class DonationReceipt:
    """A donation receipt (捐赠收据): for cash, the amount in fen (printed as ￥yuan) and the points it earns; for
    goods, their `lines` at their points value (then `amount_fen` is 0 and `points` is the lines' sum).

    `status` is "pending" (awaiting a second person's approval) or "posted".
    """

    contribution_id: str
    store_name: str
    received_at: datetime
    clerk: str
    member_name: str
    card_number: str
    amount_fen: int
    points: int
    status: str = "pending"
    note: str = ""
    lines: tuple[ReceiptLine, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        _aware("received_at", self.received_at)
        _whole("points", self.points)
        if self.lines:
            _whole("amount_fen", self.amount_fen, minimum=0)
            if self.amount_fen:
                raise ValueError("a goods donation has no amount in fen")
            if sum(line.points for line in self.lines) != self.points:
                raise ValueError("points is not the sum of the goods' lines")
        else:
            _whole("amount_fen", self.amount_fen, minimum=1)
        if self.status not in ("pending", "posted"):
            raise ValueError(f"status must be pending or posted, got {self.status!r}")


@dataclass(frozen=True)
class ZReportItem:
    """Units of one product redeemed in the shift (net of voids) and the points they took."""

    name: str
    qty: int
    points: int
    barcode: str = ""

    def __post_init__(self) -> None:
        _whole("qty", self.qty, minimum=None)
        _whole("points", self.points, minimum=None)


@dataclass(frozen=True)
class ZReport:
    """The shift report (交班/日结, Z report) printed when a shift is closed."""

    shift_id: str
    store_name: str
    closed_at: datetime
    closed_by: str
    sales_count: int
    voids_count: int
    points_redeemed: int
    points_returned: int
    items: tuple[ZReportItem, ...]
    first_sale_at: datetime | None
    last_sale_at: datetime | None
    ledger_ok: bool
    ledger_note: str = ""
    opened_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        for name in ("closed_at", "first_sale_at", "last_sale_at", "opened_at"):
            _aware(name, getattr(self, name))
        for name in ("sales_count", "voids_count", "points_redeemed", "points_returned"):
            _whole(name, getattr(self, name))


@dataclass(frozen=True)
class MemberCard:
    """A member card printed on the receipt printer: the card number as a barcode and a QR code."""

    store_name: str
    member_name: str
    card_number: str
    issued_at: datetime
    household: str = ""

    def __post_init__(self) -> None:
        _aware("issued_at", self.issued_at)
        if not self.card_number.isascii() or not self.card_number.isalnum():
            raise ValueError("a card number is ASCII letters and digits")


@dataclass(frozen=True)
class ShelfLabel:
    """A shelf label: the product's name, its price in points and its barcode."""

    name: str
    barcode: str
    points_price: int
    unit: str = ""
    category: str = ""
    store_name: str = ""

    def __post_init__(self) -> None:
        _whole("points_price", self.points_price)
        if not self.barcode.isascii() or not self.barcode.isprintable() or not self.barcode:
            raise ValueError("a barcode is printable ASCII")


@dataclass(frozen=True)
class TestPage:
    """A test page: Chinese text, full-width punctuation, a width ruler, a QR code and a barcode."""

    printed_at: datetime
    printer: str = ""
    store_name: str = ""
    notes: tuple[str, ...] = field(default=())

    __test__ = False  # not a pytest test class

    def __post_init__(self) -> None:
        _aware("printed_at", self.printed_at)
        object.__setattr__(self, "notes", tuple(self.notes))


# --- documents as JSON data (a print job stores its document and is rendered for the printer that claims it) --------

DOCUMENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in (Receipt, DonationReceipt, ZReport, MemberCard,
                                                                  ShelfLabel, TestPage)}
# Fields holding tuples of part dataclasses (a Receipt's and a DonationReceipt's lines, a ZReport's items).
_PARTS: dict[str, type] = {"lines": ReceiptLine, "items": ZReportItem}


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    return value


def document_data(document: object) -> dict[str, object]:
    """The document as JSON-ready data, tagged with its type; `document_from_data` gives it back equal."""
    name = type(document).__name__
    if DOCUMENT_TYPES.get(name) is not type(document):
        raise TypeError(f"not a printable document: {name}")
    return {"type": name, **_encode(document)}  # type: ignore[dict-item]


def document_from_data(data: dict[str, object]) -> object:
    """The inverse of `document_data`. The dataclasses check their own arithmetic again on the way in."""
    values = dict(data)
    cls = DOCUMENT_TYPES.get(str(values.pop("type", "")))
    if cls is None:
        raise ValueError(f"unknown document type {data.get('type')!r}")
    hints = get_type_hints(cls)
    for name, value in values.items():
        if name in _PARTS and isinstance(value, list):
            values[name] = tuple(_PARTS[name](**part) for part in value)
        elif isinstance(value, list):
            values[name] = tuple(value)
        elif isinstance(value, str) and datetime in get_args(hints[name]) + (hints[name],):
            values[name] = datetime.fromisoformat(value)
    return cls(**values)
