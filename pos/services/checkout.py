"""Checkout at the counter (兑换): sales, quotes, voids (作废), reprints (重印) and shift close (交班/日结).

A sale debits the member (a redemption transfer to the shop's sink), records the sale with its lines at the prices
they sold for, takes the goods out of stock and queues the receipt, all in ONE transaction: any refusal (unknown
card, bad barcode, not enough points or stock) rolls every part back. Exactly once by the client's sale id
(`record_sale` goes through `pos.idempotency.create_once`); the ledger transfer's id is derived from the sale id
too, so even a replay that slipped past the idempotency record could not post twice.

Shifts: a clerk's shift opens with their first sale. A void belongs to the sale's shift while that is open, else
to the next shift of the sale's clerk, and is marked there as a late void. Closing a shift computes the Z report,
cross-checks it against the journal (the redemption transfers of the clerk in the shift's window, less their
reversals, must equal the sales less the voids — summed from the ledger's tables, not from the sales), stores
it on the shift and queues it for printing.

Lock order everywhere (PostgreSQL): sale row → shift row → stock levels → ledger chain head → ledger accounts, so
a sale, a void and a close cannot deadlock one another. On SQLite the write transaction (BEGIN IMMEDIATE) is the
only writer anyway.

Domain calls take the caller's Session and never commit; `record_sale` and `close_shift_once` own
the transaction (`core.db.UnitOfWork` queues SQLite writers within the process).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from core.db import UnitOfWork, utcnow
from core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from core.stores import Store, get_store_by_code
from inventory import stock
from inventory.barcodes import validate_product_code
from inventory.errors import InvalidBarcode, OutOfStock, UnknownProduct
from inventory.models import Product, StockLevel
from ledger.accounts import balance, redemption_sink
from ledger.errors import InsufficientPoints
from ledger.members import Member, resolve_card
from ledger.models import REDEMPTION, REVERSAL, ChainHead, Transfer
from ledger.posting import NewTransfer, post, reverse
from pos.auth import Principal, User
from pos.i18n import translate
from pos.idempotency import Answer, create_once
from pos.print_jobs import PrintJob, enqueue_document, enqueue_reprint
from pos.sales import COMPLETED, MAX_QTY, VOIDED, Sale, SaleLine, Shift
from printers.documents import Receipt, ReceiptLine, ZReport, ZReportItem

# Ids derived from a sale's id (uuid5), so that a replayed sale or void names the same ledger transfer.
SALE_NAMESPACE = uuid.UUID("0f4c3a52-8d2e-5b7a-9c61-3e5f7a9b1d20")
T = TypeVar("T")
PRINTED_LANGUAGE = "zh-CN"  # receipts and Z reports are printed in Chinese whatever the screen's language


class AlreadyVoided(DomainError):
    code = "already_voided"


class NoOpenShift(DomainError):
    """Closing a shift when the clerk has none open (never sold since their last close)."""

    code = "no_open_shift"


class UnknownSale(NotFound):
    pass


class UnknownShift(NotFound):
    pass


# ---------------------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class SaleCommand:
    """POST /sales (and /sales/quote): the client's sale id, the card scanned and the goods as scanned."""

    id: uuid.UUID
    card_number: str
    lines: tuple[tuple[str, int], ...]  # (barcode as scanned, qty)
    store: str | None = None  # optional: a shop user may name only their own shop

    def fingerprint(self, principal: Principal) -> dict[str, Any]:
        """What makes a replay the same request: the body, and the shop it was sold in."""
        return {"id": str(self.id), "card_number": self.card_number, "store": principal.store_code,
                "lines": [{"barcode": b, "qty": q} for b, q in self.lines]}


@dataclass(frozen=True)
class CloseShiftCommand:
    id: uuid.UUID
    clerk: str | None = None  # a manager may close a clerk's shift of their shop; default: the caller's own


def redemption_id(sale_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(SALE_NAMESPACE, f"redemption:{sale_id}")


def reversal_id(sale_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(SALE_NAMESPACE, f"reversal:{sale_id}")


def sale_ref(sale_id: uuid.UUID) -> str:
    """The ref of the sale's redemption transfer (and of its reversal) and of its stock movements."""
    return f"sale:{sale_id}"


def void_ref(sale_id: uuid.UUID) -> str:
    """The ref of the stock movements that put a voided sale's goods back."""
    return f"void:{sale_id}"


# ---------------------------------------------------------------------------------------------- pricing


@dataclass(frozen=True, slots=True)
class BasketLine:
    """A line of the basket after merging: the canonical barcode and how many, before any lookup."""

    line: int  # index of the first scan of this product in the request
    barcode: str
    qty: int


@dataclass(frozen=True)
class Basket:
    lines: list[BasketLine]
    scanned: list[str]  # the canonical code of every line as sent, by index

    def unknown(self, exc: UnknownProduct, products: dict[str, Product] | None = None) -> UnknownProduct:
        """The inventory's refusal, naming every line (index and barcode) of a product it does not sell."""
        missing = set(exc.details.get("barcodes", []))
        inactive = set(exc.details.get("inactive", []))
        lines: list[dict[str, Any]] = []
        for index, code in enumerate(self.scanned):
            if code in missing:
                entry = {"line": index, "barcode": code, "reason": "inactive" if code in inactive else "unknown"}
                if code in inactive and products and code in products:
                    entry["name"] = products[code].name
                lines.append(entry)
        first = lines[0]
        return UnknownProduct("a line's product is unknown or not sold", line=first["line"], barcode=first["barcode"],
                              reason=first["reason"], lines=lines, barcodes=sorted(missing))


def basket(lines: Sequence[tuple[str, int]]) -> Basket:
    """The scanned lines with their codes validated and lines of the same code merged (first-scan order), without
    touching the database. A bad code is `invalid_barcode` naming every bad line by index; a merged quantity
    above 999 is a `validation_error`."""
    if not lines:
        raise ValidationFailed("no lines", lines="at least one line")
    scanned: list[str] = []
    invalid: list[dict[str, Any]] = []
    for index, (raw, _qty) in enumerate(lines):
        try:
            scanned.append(validate_product_code(raw))
        except InvalidBarcode as exc:
            invalid.append({"line": index, **exc.details})
    if invalid:
        first = invalid[0]
        raise InvalidBarcode("a line's barcode is not valid", line=first["line"], barcode=first.get("barcode"),
                             reason=first.get("reason"), lines=invalid)
    merged: dict[str, BasketLine] = {}
    for index, (code, (_raw, qty)) in enumerate(zip(scanned, lines, strict=True)):
        prior = merged.get(code)
        total = qty + (prior.qty if prior else 0)
        if total > MAX_QTY:
            raise ValidationFailed("too many of one product", **{
                f"lines.{index}.qty": f"the lines of {code} add up to {total}, more than {MAX_QTY}"})
        merged[code] = BasketLine(prior.line if prior else index, code, total)
    return Basket(list(merged.values()), scanned)


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A basket line with its product at the current price (what a quote shows)."""

    line: int
    product_id: int
    barcode: str
    name: str
    unit: str
    qty: int
    points_price: int

    @property
    def points(self) -> int:
        return self.qty * self.points_price


def price_lines(session: Session, lines: Sequence[tuple[str, int]]) -> list[PricedLine]:
    """The basket at current prices; `unknown_product` names each line of goods unknown or taken off sale."""
    wanted = basket(lines)
    found = {p.barcode: p for p in session.scalars(
        select(Product).where(Product.barcode.in_([line.barcode for line in wanted.lines])))}
    missing = [line.barcode for line in wanted.lines if line.barcode not in found]
    inactive = [line.barcode for line in wanted.lines if line.barcode in found and not found[line.barcode].active]
    if missing or inactive:
        raise wanted.unknown(UnknownProduct("unknown", barcodes=missing + inactive, inactive=inactive), found)
    return [PricedLine(line.line, found[line.barcode].id, line.barcode, found[line.barcode].name,
                       found[line.barcode].unit, line.qty, found[line.barcode].points_price) for line in wanted.lines]


def _seller_store(principal: Principal, store_code: str | None) -> int:
    """The shop a clerk or manager sells in: their own. Naming another shop is refused before any lookup."""
    if principal.store_id is None:
        raise Forbidden("only a shop's clerk or manager sells", role=principal.role)
    if store_code is not None and store_code != principal.store_code:
        raise Forbidden("another shop's counter", store=store_code)
    return principal.store_id


def _with_balance(session: Session, exc: DomainError, member: Member) -> DomainError:
    """A refusal after the card was read carries the member's current balance, for the tablet."""
    if "balance" not in exc.details:
        exc.details["balance"] = balance(session, member.account_id)
    exc.details.setdefault("member_id", str(member.id))
    return exc


# ---------------------------------------------------------------------------------------------- quote


def quote(session: Session, principal: Principal, cmd: SaleCommand) -> dict[str, Any]:
    """What the sale would come to, and what is short, without writing anything (run it in a read transaction).

    Unknown cards and goods are refused as the sale would refuse them; a shortfall of points or stock is not a
    refusal here but the answer: `points_shortfall` and, per line, `available` and `short`.
    """
    store_id = _seller_store(principal, cmd.store)
    member, card = resolve_card(session, cmd.card_number, store_id=store_id)
    try:
        priced = price_lines(session, cmd.lines)
    except DomainError as exc:
        raise _with_balance(session, exc, member) from None
    current = balance(session, member.account_id)
    levels = dict(session.execute(
        select(StockLevel.product_id, StockLevel.qty)
        .where(StockLevel.store_id == store_id, StockLevel.product_id.in_([p.product_id for p in priced]))).all())
    negative_ok = stock.negative_stock_allowed(session, store_id)
    lines = []
    for p in priced:
        available = levels.get(p.product_id, 0)
        short = 0 if negative_ok else max(0, p.qty - available)
        lines.append({**_line_json(p), "available": available, "short": short})
    total = sum(p.points for p in priced)
    points_shortfall = max(0, total - current)
    short_lines = [line for line in lines if line["short"]]
    return {
        "ok": not points_shortfall and not short_lines,
        "member": {"member_id": str(member.id), "name": member.name, "card_number": card.card_number},
        "balance": current,
        "points_total": total,
        "balance_after": current - total if not points_shortfall else None,
        "points_shortfall": points_shortfall,
        "lines": lines,
        "out_of_stock": short_lines,
    }


_LINE_FIELDS = ("barcode", "name", "unit", "qty", "points_price", "points")


def _line_json(p: PricedLine | SaleLine) -> dict[str, Any]:
    line = p.line if isinstance(p, PricedLine) else p.line_no
    return {"line": line, **{k: getattr(p, k) for k in _LINE_FIELDS}}


def _store_name(session: Session, store_id: int) -> str:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound("store not found", store_id=store_id)
    return store.name


# ---------------------------------------------------------------------------------------------- the sale


def checkout(session: Session, principal: Principal, cmd: SaleCommand) -> dict[str, Any]:
    """One sale, inside the caller's transaction. Returns the answer of POST /sales."""
    store_id = _seller_store(principal, cmd.store)
    now = utcnow()
    member, card = resolve_card(session, cmd.card_number, store_id=store_id)
    try:
        wanted = basket(cmd.lines)
        shift = open_shift(session, store_id, principal.user_id, principal.username, now)
        ref = sale_ref(cmd.id)
        try:
            # The inventory looks the goods up (active ones only), prices them and takes them out, in one go.
            sold = stock.sell(session, store_id, [stock.Line(line.barcode, line.qty) for line in wanted.lines], ref,
                              principal.username, at=now)
        except UnknownProduct as exc:
            raise wanted.unknown(exc, _products(session, exc.details.get("inactive", []))) from None
        except OutOfStock as exc:
            raise _out_of_stock(session, exc, wanted, member) from None
        total = sum(line.points for line in sold)
        sink = redemption_sink(session, store_id)
        try:
            posted = post(session, NewTransfer(id=redemption_id(cmd.id), debit=member.account_id, credit=sink.id,
                                               amount=total, code=REDEMPTION, ref=ref, actor=principal.username,
                                               store_id=store_id))
        except InsufficientPoints as exc:
            raise InsufficientPoints("not enough points", balance=exc.details["balance"], points_total=total,
                                     shortfall=exc.details["shortfall"]) from None
    except DomainError as exc:
        raise _with_balance(session, exc, member) from None
    after = posted.debit_balance_after
    before = after + total

    receipt = Receipt(sale_id=str(cmd.id), store_name=_store_name(session, store_id), sold_at=now,
                      clerk=principal.username, member_name=member.name, card_number=card.card_number,
                      lines=tuple(ReceiptLine(s.name, s.qty, s.points_price, s.barcode) for s in sold),
                      points_total=total, balance_before=before, balance_after=after)
    job = enqueue_document(session, store_id, receipt, now=now)

    # Core inserts: the ORM's unit of work adds nothing for rows written once and not read back here.
    session.execute(insert(Sale.__table__).values(
        id=cmd.id, store_id=store_id, clerk_id=principal.user_id, clerk=principal.username, member_id=member.id,
        card_number=card.card_number, points_total=total, balance_before=before, balance_after=after,
        status=COMPLETED, created_at=now, shift_id=shift.id, transfer_seq=posted.seq, transfer_id=posted.id,
        receipt_job_id=job.id))
    lines = [{"sale_id": cmd.id, "line_no": w.line, "product_id": s.product_id, "barcode": s.barcode,
              "name": s.name, "unit": s.unit, "qty": s.qty, "points_price": s.points_price, "points": s.points}
             for w, s in zip(wanted.lines, sold, strict=True) if w.barcode == s.barcode]
    assert len(lines) == len(sold), "the inventory answered the lines in another order"
    session.execute(insert(SaleLine.__table__), lines)
    return {
        "sale_id": str(cmd.id),
        "status": COMPLETED,
        "store": principal.store_code,
        "clerk": principal.username,
        "created_at": now.isoformat(),
        "member": {"member_id": str(member.id), "name": member.name, "card_number": card.card_number},
        "lines": [{"line": line["line_no"], **{k: line[k] for k in _LINE_FIELDS}} for line in lines],
        "points_total": total,
        "balance_before": before,
        "balance_after": after,
        "shift_id": str(shift.id),
        "transfer_seq": posted.seq,
        "receipt": {"job_id": str(job.id), "status": job.status},
    }


def _products(session: Session, codes: list[str]) -> dict[str, Product]:
    if not codes:
        return {}
    return {p.barcode: p for p in session.scalars(select(Product).where(Product.barcode.in_(codes)))}


def _out_of_stock(session: Session, exc: OutOfStock, wanted: Basket, member: Member) -> OutOfStock:
    """The inventory's refusal, with each short line's index and the points side too (both shortfalls at once)."""
    index = {line.barcode: line.line for line in wanted.lines}
    lines = [{"line": index.get(short["barcode"]), **{k: v for k, v in short.items() if k != "store_id"}}
             for short in exc.details.get("lines", [])]
    prices = {p.barcode: p.points_price for p in _products(session, list(index)).values()}
    total = sum(line.qty * prices[line.barcode] for line in wanted.lines)
    current = balance(session, member.account_id)
    return OutOfStock("not enough stock", lines=lines, points_total=total, balance=current,
                      points_shortfall=max(0, total - current))


def record_sale(uow: UnitOfWork, principal: Principal, cmd: SaleCommand) -> Answer:
    """POST /sales exactly once: a replay of the same id and body answers as the first time (201)."""
    _seller_store(principal, cmd.store)
    return create_once(uow, "sales", str(cmd.id), cmd.fingerprint(principal),
                       lambda session: (checkout(session, principal, cmd), 201))


# ---------------------------------------------------------------------------------------------- shifts


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _open_shift_query(store_id: int, clerk_id: int) -> Select[tuple[Shift]]:
    return (select(Shift).where(Shift.store_id == store_id, Shift.clerk_id == clerk_id, Shift.closed_at.is_(None))
            .execution_options(populate_existing=True))


def journal_head(session: Session) -> int:
    return session.scalar(select(ChainHead.seq).where(ChainHead.id == 1)) or 0


def open_shift(session: Session, store_id: int, clerk_id: int, clerk: str, now: datetime) -> Shift:
    """The clerk's open shift in this shop, opened now if there is none.

    Held with a shared row lock (PostgreSQL) until the transaction ends, so a close waits for the sales and
    voids in flight, and a sale that waited for a close finds the shift closed and opens the next one.
    Concurrent first sales insert the shift with ON CONFLICT DO NOTHING on the one-open-shift index.
    """
    for _attempt in range(3):
        shift = session.scalars(_open_shift_query(store_id, clerk_id).with_for_update(read=True)).one_or_none()
        if shift is not None:
            return shift
        session.execute(
            _insert(session)(Shift.__table__)
            .values(id=uuid.uuid4(), store_id=store_id, clerk_id=clerk_id, clerk=clerk, opened_at=now,
                    open_seq=journal_head(session))
            .on_conflict_do_nothing(index_elements=["store_id", "clerk_id"], index_where=Shift.closed_at.is_(None)))
    raise RuntimeError("could not open a shift")  # pragma: no cover - three closes racing one sale


def _shift_for_void(session: Session, sale: Sale, now: datetime) -> Shift:
    """A void belongs to the sale's shift while it is open; after it closed, to the clerk's next shift."""
    own = session.scalars(select(Shift).where(Shift.id == sale.shift_id, Shift.closed_at.is_(None))
                          .with_for_update(read=True).execution_options(populate_existing=True)).one_or_none()
    return own if own is not None else open_shift(session, sale.store_id, sale.clerk_id, sale.clerk, now)


@dataclass(frozen=True)
class _Window:
    """Where a shift's transfers sit in the journal: seq in (after_seq, to_seq]."""

    after_seq: int
    to_seq: int


def _ledger_window(session: Session, shift: Shift, to_seq: int) -> _Window:
    previous = session.scalar(select(func.max(Shift.close_seq)).where(
        Shift.store_id == shift.store_id, Shift.clerk_id == shift.clerk_id, Shift.id != shift.id,
        Shift.close_seq.is_not(None), Shift.close_seq <= to_seq))
    return _Window(previous if previous is not None else shift.open_seq, to_seq)


def ledger_figures(session: Session, store_id: int, clerk: str, window: _Window) -> dict[str, int]:
    """From the journal alone: the clerk's redemption transfers in this shop within the window, and the
    reversals within the window of any of the clerk's redemptions in this shop (a late void reverses one of
    an earlier shift)."""
    in_window = and_(Transfer.seq > window.after_seq, Transfer.seq <= window.to_seq)
    redemptions, redeemed = session.execute(
        select(func.count(), func.coalesce(func.sum(Transfer.amount), 0))
        .where(in_window, Transfer.code == REDEMPTION, Transfer.store_id == store_id, Transfer.actor == clerk)).one()
    original = aliased(Transfer)
    reversals, reversed_ = session.execute(
        select(func.count(), func.coalesce(func.sum(Transfer.amount), 0))
        .join(original, original.seq == Transfer.reverses_seq)
        .where(in_window, Transfer.code == REVERSAL, original.code == REDEMPTION, original.store_id == store_id,
               original.actor == clerk)).one()
    return {"redemptions": int(redemptions), "redeemed": int(redeemed), "reversals": int(reversals),
            "reversed": int(reversed_)}


def _items(session: Session, condition: Any, sign: int) -> Iterable[tuple[int, str, str, int, int]]:
    rows = session.execute(
        select(SaleLine.product_id, SaleLine.barcode, func.max(SaleLine.name), func.sum(SaleLine.qty),
               func.sum(SaleLine.points))
        .join(Sale, Sale.id == SaleLine.sale_id).where(condition)
        .group_by(SaleLine.product_id, SaleLine.barcode))
    return [(pid, barcode, name, sign * int(qty), sign * int(points)) for pid, barcode, name, qty, points in rows]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def shift_report(session: Session, shift: Shift, *, to_seq: int, closed_at: datetime | None = None,
                 closed_by: str | None = None) -> dict[str, Any]:
    """The Z report of a shift (live while it is open): sales, voids (late ones marked), items net of voids,
    first and last sale, and the ledger cross-check over the shift's window of the journal."""
    sales_count, redeemed, first_at, last_at = session.execute(
        select(func.count(), func.coalesce(func.sum(Sale.points_total), 0), func.min(Sale.created_at),
               func.max(Sale.created_at)).where(Sale.shift_id == shift.id)).one()
    voids = session.execute(
        select(Sale.id, Sale.shift_id, Sale.points_total, Sale.created_at, Sale.voided_at, Sale.voided_by,
               Sale.void_reason).where(Sale.void_shift_id == shift.id).order_by(Sale.voided_at, Sale.id)).all()
    returned = sum(v.points_total for v in voids)
    late = [v for v in voids if v.shift_id != shift.id]

    items: dict[tuple[int, str], list[Any]] = {}
    for pid, barcode, name, qty, points in [*_items(session, Sale.shift_id == shift.id, 1),
                                            *_items(session, Sale.void_shift_id == shift.id, -1)]:
        item = items.setdefault((pid, barcode), [name, 0, 0])
        item[1] += qty
        item[2] += points
    # Goods sold and voided within the shift net to nothing and are left out; the voids list still shows them.
    item_list = sorted(({"barcode": barcode, "name": name, "qty": qty, "points": points}
                        for (_pid, barcode), (name, qty, points) in items.items() if qty or points),
                       key=lambda i: (-i["qty"], i["barcode"]))

    window = _ledger_window(session, shift, to_seq)
    ledger = ledger_figures(session, shift.store_id, shift.clerk, window)
    sales_net = int(redeemed) - returned
    ledger_ok = (ledger["redeemed"], ledger["redemptions"], ledger["reversed"], ledger["reversals"]) == (
        int(redeemed), int(sales_count), returned, len(voids))
    store = session.get(Store, shift.store_id)
    assert store is not None
    return {
        "shift_id": str(shift.id),
        "status": "closed" if closed_at is not None else "open",
        "store": store.code,
        "store_name": store.name,
        "clerk": shift.clerk,
        "opened_at": shift.opened_at.isoformat(),
        "closed_at": _iso(closed_at),
        "closed_by": closed_by,
        "sales_count": int(sales_count),
        "points_redeemed": int(redeemed),
        "voids_count": len(voids),
        "points_returned": returned,
        "net_points": sales_net,
        "first_sale_at": _iso(first_at),
        "last_sale_at": _iso(last_at),
        "items": item_list,
        "voids": [{"sale_id": str(v.id), "points": v.points_total, "sold_at": v.created_at.isoformat(),
                   "voided_at": v.voided_at.isoformat(), "voided_by": v.voided_by, "reason": v.void_reason,
                   "sale_shift_id": str(v.shift_id), "late": v.shift_id != shift.id} for v in voids],
        "late_voids_count": len(late),
        "late_points_returned": sum(v.points_total for v in late),
        "ledger": {"ok": ledger_ok, "from_seq": window.after_seq + 1, "to_seq": window.to_seq, **ledger,
                   "net": ledger["redeemed"] - ledger["reversed"], "sales_net": sales_net},
    }


def _z_document(report: dict[str, Any], closed_at: datetime) -> ZReport:
    ledger = report["ledger"]
    figures = {"from_seq": ledger["from_seq"], "to_seq": ledger["to_seq"], "redeemed": ledger["redeemed"],
               "reversed": ledger["reversed"], "sales": report["points_redeemed"], "voids": report["points_returned"]}
    notes = [translate("checkout.z.ledger_ok" if ledger["ok"] else "checkout.z.ledger_mismatch", PRINTED_LANGUAGE,
                       **figures)]
    if report["late_voids_count"]:
        notes.append(translate("checkout.z.late_voids", PRINTED_LANGUAGE, count=report["late_voids_count"],
                               points=report["late_points_returned"]))
    return ZReport(
        shift_id=report["shift_id"], store_name=report["store_name"], closed_at=closed_at,
        closed_by=report["closed_by"], sales_count=report["sales_count"], voids_count=report["voids_count"],
        points_redeemed=report["points_redeemed"], points_returned=report["points_returned"],
        items=tuple(ZReportItem(i["name"], i["qty"], i["points"], i["barcode"]) for i in report["items"]),
        first_sale_at=_parse(report["first_sale_at"]), last_sale_at=_parse(report["last_sale_at"]),
        ledger_ok=ledger["ok"], ledger_note="；".join(notes), opened_at=_parse(report["opened_at"]))


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _whose_shift(session: Session, principal: Principal, clerk: str | None) -> tuple[int, str]:
    """The caller's own shift, or — for a manager — a user's of their shop named by username."""
    if clerk is None or clerk == principal.username:
        return principal.user_id, principal.username
    if principal.role != "manager":
        raise Forbidden("only a manager closes another user's shift", clerk=clerk)
    user = session.scalars(select(User).where(User.username == clerk)).one_or_none()
    if user is None or user.store_id != principal.store_id:
        raise Forbidden("not a user of your shop", clerk=clerk)  # the same answer: no probing other shops
    return user.id, user.username


def close_shift(session: Session, principal: Principal, cmd: CloseShiftCommand) -> dict[str, Any]:
    """Closes the clerk's open shift: the Z report, stored on the shift and queued for printing."""
    store_id = _seller_store(principal, None)
    clerk_id, clerk = _whose_shift(session, principal, cmd.clerk)
    shift = session.scalars(_open_shift_query(store_id, clerk_id).with_for_update()).one_or_none()
    if shift is None:
        last = session.scalars(select(Shift).where(Shift.store_id == store_id, Shift.clerk_id == clerk_id)
                               .order_by(Shift.closed_at.desc()).limit(1)).one_or_none()
        raise NoOpenShift("no open shift", clerk=clerk, last_shift_id=str(last.id) if last else None,
                          last_closed_at=_iso(last.closed_at) if last else None)
    now = utcnow()
    last_activity = session.execute(select(func.max(Sale.created_at)).where(Sale.shift_id == shift.id)).scalar()
    last_void = session.execute(select(func.max(Sale.voided_at)).where(Sale.void_shift_id == shift.id)).scalar()
    # Never before the shift's own last sale or void (another server's clock may run ahead of ours).
    closed_at = max([now, shift.opened_at] + [t for t in (last_activity, last_void) if t is not None])
    head = journal_head(session)
    report = shift_report(session, shift, to_seq=head, closed_at=closed_at, closed_by=principal.username)
    job = enqueue_document(session, store_id, _z_document(report, closed_at), ref=str(shift.id), now=now)
    report["print_job"] = {"job_id": str(job.id), "status": job.status}
    shift.closed_at, shift.closed_by, shift.close_request_id = closed_at, principal.username, cmd.id
    shift.close_seq, shift.z_report = head, report
    session.flush()
    return report


def close_shift_once(uow: UnitOfWork, principal: Principal, cmd: CloseShiftCommand) -> Answer:
    """POST /shifts/close exactly once: the same id answers with the same report (201)."""
    fingerprint = {"id": str(cmd.id), "clerk": cmd.clerk or principal.username, "store": principal.store_code}
    return create_once(uow, "shift_close", str(cmd.id), fingerprint,
                       lambda session: (close_shift(session, principal, cmd), 201))


def current_shift(session: Session, principal: Principal) -> dict[str, Any] | None:
    """The caller's open shift with its figures so far, or None before their first sale."""
    store_id = _seller_store(principal, None)
    shift = session.scalars(_open_shift_query(store_id, principal.user_id)).one_or_none()
    return None if shift is None else shift_report(session, shift, to_seq=journal_head(session))


def get_shift(session: Session, principal: Principal, shift_id: str) -> dict[str, Any]:
    """A closed shift's stored Z report, or an open shift's figures so far."""
    shift = session.get(Shift, _uuid(shift_id, UnknownShift, "no such shift"))
    if shift is None:
        raise UnknownShift("no such shift", shift_id=shift_id)
    principal.require_store(shift.store_id)
    if shift.z_report is not None:
        return shift.z_report
    return shift_report(session, shift, to_seq=journal_head(session))


def list_shifts(session: Session, principal: Principal, store_code: str | None, *, clerk: str | None = None,
                status: str | None = None, limit: int = 50) -> dict[str, Any]:
    store_id = _listing_store(session, principal, store_code)
    query = select(Shift, Store.code).join(Store, Store.id == Shift.store_id)
    if store_id is not None:
        query = query.where(Shift.store_id == store_id)
    if clerk is not None:
        query = query.where(Shift.clerk == clerk)
    if status == "open":
        query = query.where(Shift.closed_at.is_(None))
    elif status == "closed":
        query = query.where(Shift.closed_at.is_not(None))
    rows = session.execute(query.order_by(Shift.opened_at.desc(), Shift.id).limit(limit)).all()
    shifts = []
    for shift, code in rows:
        report = shift.z_report or {}
        shifts.append({"shift_id": str(shift.id), "store": code, "clerk": shift.clerk,
                       "opened_at": shift.opened_at.isoformat(), "closed_at": _iso(shift.closed_at),
                       "closed_by": shift.closed_by, "status": "closed" if shift.closed_at else "open",
                       "sales_count": report.get("sales_count"), "voids_count": report.get("voids_count"),
                       "net_points": report.get("net_points"),
                       "ledger_ok": report.get("ledger", {}).get("ok")})
    return {"shifts": shifts}


# ---------------------------------------------------------------------------------------------- voids and reprints


def void_sale(session: Session, principal: Principal, sale_id: str, reason: str) -> dict[str, Any]:
    """Voids a sale: a reversing transfer gives the points back, new stock movements put the goods back, once."""
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed("a void needs a reason", reason="must not be blank")
    sale = session.scalars(select(Sale).where(Sale.id == _uuid(sale_id, UnknownSale, "no such sale"))
                           .with_for_update().execution_options(populate_existing=True)).one_or_none()
    if sale is None:
        raise UnknownSale("no such sale", sale_id=sale_id)
    principal.require_store(sale.store_id)
    if sale.status == VOIDED:
        raise AlreadyVoided("this sale is already voided", sale_id=str(sale.id), voided_at=_iso(sale.voided_at),
                            voided_by=sale.voided_by, balance_after=sale.balance_after_void)
    now = utcnow()
    shift = _shift_for_void(session, sale, now)
    stock.return_sale(session, sale_ref(sale.id), void_ref(sale.id), principal.username, at=now)
    posted = reverse(session, sale.transfer_id, id=reversal_id(sale.id), actor=principal.username)
    sale.status, sale.voided_at, sale.voided_by, sale.void_reason = VOIDED, now, principal.username, reason
    sale.void_shift_id, sale.reversal_seq, sale.reversal_id = shift.id, posted.seq, posted.id
    sale.balance_after_void = posted.credit_balance_after
    session.flush()
    return {"sale_id": str(sale.id), "status": VOIDED, "balance_after": posted.credit_balance_after,
            "points_returned": sale.points_total, "voided_at": now.isoformat(), "reason": reason,
            "void_shift_id": str(shift.id), "late": shift.id != sale.shift_id, "reversal_seq": posted.seq}


def reprint(session: Session, principal: Principal, sale_id: str) -> dict[str, Any]:
    """The sale's receipt again, marked 重印 (a new print job)."""
    sale = session.get(Sale, _uuid(sale_id, UnknownSale, "no such sale"))
    if sale is None:
        raise UnknownSale("no such sale", sale_id=sale_id)
    principal.require_store(sale.store_id)
    job = enqueue_reprint(session, sale.store_id, str(sale.id))
    return {"sale_id": str(sale.id), "job_id": str(job.id), "kind": job.kind, "status": job.status}


# ---------------------------------------------------------------------------------------------- reading sales


def get_sale(session: Session, principal: Principal, sale_id: str) -> dict[str, Any]:
    row = session.execute(
        select(Sale, Member.name, Store.code).join(Member, Member.id == Sale.member_id)
        .join(Store, Store.id == Sale.store_id)
        .where(Sale.id == _uuid(sale_id, UnknownSale, "no such sale"))).one_or_none()
    if row is None:
        raise UnknownSale("no such sale", sale_id=sale_id)
    sale, member_name, code = row
    principal.require_store(sale.store_id)
    lines = session.scalars(select(SaleLine).where(SaleLine.sale_id == sale.id).order_by(SaleLine.line_no))
    job_status = session.scalar(select(PrintJob.status).where(PrintJob.id == sale.receipt_job_id))
    return {
        **_sale_summary(sale, member_name, code),
        "member": {"member_id": str(sale.member_id), "name": member_name, "card_number": sale.card_number},
        "lines": [_line_json(line) for line in lines],
        "balance_before": sale.balance_before,
        "balance_after": sale.balance_after,
        "transfer_seq": sale.transfer_seq,
        "transfer_seqs": [seq for seq in (sale.transfer_seq, sale.reversal_seq) if seq is not None],
        "receipt": {"job_id": str(sale.receipt_job_id), "status": job_status},
        "void": None if sale.status != VOIDED else {
            "voided_at": _iso(sale.voided_at), "voided_by": sale.voided_by, "reason": sale.void_reason,
            "shift_id": str(sale.void_shift_id), "late": sale.void_shift_id != sale.shift_id,
            "reversal_seq": sale.reversal_seq, "balance_after": sale.balance_after_void},
    }


def _sale_summary(sale: Sale, member_name: str, store_code: str) -> dict[str, Any]:
    return {"sale_id": str(sale.id), "status": sale.status, "store": store_code, "clerk": sale.clerk,
            "created_at": sale.created_at.isoformat(), "member_name": member_name, "card_number": sale.card_number,
            "points_total": sale.points_total, "shift_id": str(sale.shift_id)}


def _listing_store(session: Session, principal: Principal, store_code: str | None) -> int | None:
    """A shop user's own shop (naming another is 403); the bureau: the named shop, or all."""
    if principal.store_id is not None:
        if store_code is not None and store_code != principal.store_code:
            raise Forbidden("another shop's sales", store=store_code)
        return principal.store_id
    return get_store_by_code(session, store_code).id if store_code else None


def list_sales(session: Session, principal: Principal, store_code: str | None, *, shift_id: str | None = None,
               status: str | None = None, before: datetime | None = None, limit: int = 50) -> dict[str, Any]:
    """Sales, the most recent first; `before` (a created_at) pages back."""
    store_id = _listing_store(session, principal, store_code)
    query = (select(Sale, Member.name, Store.code).join(Member, Member.id == Sale.member_id)
             .join(Store, Store.id == Sale.store_id))
    if store_id is not None:
        query = query.where(Sale.store_id == store_id)
    if shift_id is not None:
        query = query.where(Sale.shift_id == _uuid(shift_id, UnknownShift, "no such shift"))
    if status is not None:
        query = query.where(Sale.status == status)
    if before is not None:
        query = query.where(Sale.created_at < before)
    rows = session.execute(query.order_by(Sale.created_at.desc(), Sale.id).limit(limit)).all()
    sales = [_sale_summary(sale, name, code) for sale, name, code in rows]
    return {"sales": sales, "next_before": sales[-1]["created_at"] if len(sales) == limit else None}


def _uuid(value: str | uuid.UUID, error: type[NotFound], message: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise error(message, id=str(value)[:64]) from None
