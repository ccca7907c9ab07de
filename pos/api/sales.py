"""Sales at the counter: sell (兑换), quote, read and list, void (作废, manager), reprint the receipt (重印).

A clerk or manager sells in their own shop only, to members of their own shop (another shop's card is 403, as
the members API's card lookup answers). Every answer of a sale carries the member's balance after it; every
refusal after the card was read carries the member's current balance in its details.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from flask import Blueprint
from pydantic import AwareDatetime, Field

from pos import db
from pos.api.common import Schema, endpoint
from pos.auth import current_principal
from pos.sales import MAX_LINES, MAX_QTY, MAX_REASON
from pos.services import checkout

bp = Blueprint("sales", __name__)

SELLERS = ("clerk", "manager")
READERS = ("clerk", "manager", "auditor", "admin")
MANAGER = ("manager",)

StoreCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,16}$")]


class SaleLineIn(Schema):
    barcode: str = Field(min_length=1, max_length=32, description="as scanned; EAN-13, EAN-8 or UPC-A")
    qty: int = Field(strict=True, ge=1, le=MAX_QTY, description=f"a whole number 1..{MAX_QTY}")


class SaleIn(Schema):
    id: uuid.UUID = Field(description="the client's sale id: a retry with it sells nothing twice")
    card_number: str = Field(min_length=1, max_length=32, description="the member card as scanned")
    lines: list[SaleLineIn] = Field(min_length=1, max_length=MAX_LINES,
                                    description="lines of the same barcode are merged")
    store: StoreCode | None = Field(default=None, description="optional; only the caller's own shop")

    def command(self) -> checkout.SaleCommand:
        return checkout.SaleCommand(self.id, self.card_number, tuple((line.barcode, line.qty) for line in self.lines),
                                    self.store)


class QuoteIn(Schema):
    id: uuid.UUID | None = Field(default=None, description="optional: the sale id the tablet will confirm with")
    card_number: str = Field(min_length=1, max_length=32)
    lines: list[SaleLineIn] = Field(min_length=1, max_length=MAX_LINES)
    store: StoreCode | None = None

    def command(self) -> checkout.SaleCommand:
        return checkout.SaleCommand(self.id or uuid.uuid4(), self.card_number,
                                    tuple((line.barcode, line.qty) for line in self.lines), self.store)


class VoidIn(Schema):
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="why the sale is voided")


class SalesQuery(Schema):
    store: StoreCode | None = None
    shift: uuid.UUID | None = None
    status: Literal["completed", "voided"] | None = None
    before: AwareDatetime | None = Field(default=None, description="page back: sales created before this time")
    limit: int = Field(default=50, ge=1, le=200)


@bp.post("/sales")
@endpoint(roles=SELLERS, body=SaleIn,
          summary="Sell: debit the member, record the sale, move the stock and queue the receipt, exactly once")
def sell(body: SaleIn):
    return checkout.record_sale(db.unit_of_work(), current_principal(), body.command())


@bp.post("/sales/quote")
@endpoint(roles=SELLERS, body=QuoteIn,
          summary="What a sale would come to and what is short (points, stock per line); writes nothing")
def quote(body: QuoteIn):
    principal = current_principal()
    return db.unit_of_work().read(lambda session: checkout.quote(session, principal, body.command()))


@bp.get("/sales")
@endpoint(roles=READERS, query=SalesQuery, summary="A shop's sales, most recent first (by shift, status)")
def list_sales(query: SalesQuery):
    before: datetime | None = query.before
    return checkout.list_sales(db.session(), current_principal(), query.store,
                               shift_id=str(query.shift) if query.shift else None, status=query.status,
                               before=before, limit=query.limit)


@bp.get("/sales/<sale_id>")
@endpoint(roles=READERS, summary="A sale: lines, status, transfer seqs, the receipt's print job, the void if any")
def get_sale(sale_id: str):
    return checkout.get_sale(db.session(), current_principal(), sale_id)


@bp.post("/sales/<sale_id>/void")
@endpoint(roles=MANAGER, body=VoidIn,
          summary="Void a sale: points and goods return by new entries; once (409 already_voided)")
def void(sale_id: str, body: VoidIn):
    principal = current_principal()
    return db.unit_of_work().run(lambda session: checkout.void_sale(session, principal, sale_id, body.reason))


@bp.post("/sales/<sale_id>/reprint")
@endpoint(roles=SELLERS, summary="Print the sale's receipt again, marked 重印")
def reprint(sale_id: str):
    principal = current_principal()
    return db.unit_of_work().run(lambda session: checkout.reprint(session, principal, sale_id)), 201
