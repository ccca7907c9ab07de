"""Sending a shelf label or a member card to the shop's receipt printer (小票机).

Each use case runs inside the caller's unit of work for a shop the caller may print for (a label's shop is checked
by the handler, as every shop-named route is; a card's shop is the member's), builds the document from the records
as they are now and enqueues it (`pos.print_jobs.enqueue_document`), so the jobs commit together
or not at all. The worker renders them for its printer when it claims them, as it does receipts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import NotFound
from core.stores import Store
from inventory.barcodes import validate_product_code
from inventory.products import find_product
from ledger.members import active_card, member_info
from pos.auth import Principal
from pos.print_jobs import PrintJob, enqueue_document
from printers.documents import MemberCard, ShelfLabel

MAX_LABEL_COPIES = 50


def _answer(jobs: list[PrintJob], **about: Any) -> dict[str, Any]:
    """As a reprint answers (job_id, kind, status), with every job when there are several copies."""
    return {**about, "job_id": str(jobs[0].id), "kind": jobs[0].kind, "status": jobs[0].status,
            "jobs": [{"job_id": str(job.id), "status": job.status} for job in jobs]}


def print_shelf_label(session: Session, store: Store, barcode: str, *, copies: int = 1) -> dict[str, Any]:
    """`copies` shelf labels of the product (name, points price, barcode) for the printer of `store` (a shop the
    caller was checked to work in), one job each."""
    if not 1 <= copies <= MAX_LABEL_COPIES:
        raise ValueError(f"copies must be 1..{MAX_LABEL_COPIES}")
    product = find_product(session, barcode)
    if product is None:
        raise NotFound("no product with this barcode", barcode=validate_product_code(barcode))
    label = ShelfLabel(name=product.name, barcode=product.barcode, points_price=product.points_price,
                       unit=product.unit, category=product.category, store_name=store.name)
    now = utcnow()
    jobs = [enqueue_document(session, store.id, label, now=now) for _ in range(copies)]
    return _answer(jobs, barcode=product.barcode, store=store.code, copies=copies)


def print_member_card(session: Session, principal: Principal, member_id: str) -> dict[str, Any]:
    """The member's card in use (name, card number as barcode and QR code) for their shop's printer."""
    info = member_info(session, member_id)
    principal.require_store(info.store_id)
    card = active_card(session, info.id)
    if card is None:
        raise NotFound("the member has no card in use", member_id=str(info.id))
    document = MemberCard(store_name=info.store_name, member_name=info.name, card_number=card.card_number,
                          issued_at=card.issued_at, household=info.household or "")
    job = enqueue_document(session, info.store_id, document)
    return _answer([job], member_id=str(info.id), card_number=card.card_number, store=info.store_code)
