"""Earning use cases that span packages: a goods donation (ledger and stock), a cash donation with its printed
receipt (ledger and print queue), and the demo's sample data.

A goods donation puts the goods into the shop's stock when it is recorded (they are physically there), as a
`donation_in` movement with ref `contribution:<id>`, and records a pending contribution worth the goods'
current points price × qty. The points wait for a second person's approval; rejecting them leaves the goods
in stock (a manager corrects stock with an adjustment if they were never there).
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import DomainError, IdempotencyConflict
from core.stores import Store
from inventory import stock
from inventory.barcodes import validate_product_code
from inventory.models import Product
from inventory.products import products_by_barcodes
from ledger import earning
from ledger.earning import Contribution, Donor, GoodsLine
from ledger.members import Member
from pos.print_jobs import PrintJob, enqueue_document
from printers.documents import DonationReceipt, ReceiptLine

__all__ = ["donation_receipt", "latest_receipt", "load_demo_earning", "print_donation_receipt",
           "record_cash_donation", "record_goods_donation", "value_goods"]


def record_goods_donation(session: Session, *, id: uuid.UUID, donor: Donor, store_id: int,
                          lines: Sequence[tuple[str, int]], actor: str, note: str | None = None,
                          now: datetime | None = None) -> tuple[Contribution, PrintJob]:
    """捐赠物品: the goods into `store_id`'s stock now, a pending contribution for their points value, and its
    donation receipt (捐赠收据, the goods at their points value) queued in the same transaction.

    `lines` are (barcode as scanned, qty). The donor must belong to `store_id`. Raises what inventory raises
    for bad lines (InvalidBarcode, UnknownProduct) and what `ledger.earning.record_goods_donation` raises; the
    caller's transaction then writes nothing at all.
    """
    existing = session.get(Contribution, id)
    if existing is not None:
        # Recorded before (a retry reaching the domain): the goods were received then, not again now.
        if (existing.kind, existing.member_id, existing.organisation_id) != (
                earning.DONATION_GOODS, donor.member_id, donor.organisation_id):
            raise IdempotencyConflict("a contribution with this id exists with other facts", id=str(id))
        return existing, _receipt_once(session, existing)
    movements = stock.donation_in(session, store_id, [stock.Line(barcode, qty) for barcode, qty in lines],
                                  ref=f"contribution:{id}", actor=actor, note=note, at=now)
    prices = {pid: price for pid, price in session.execute(
        select(Product.id, Product.points_price).where(Product.id.in_([m.product_id for m in movements])))}
    valued = [GoodsLine(m.barcode, m.name, m.qty_delta, prices[m.product_id]) for m in movements]
    contribution = earning.record_goods_donation(session, id=id, donor=donor, lines=valued, actor=actor,
                                                 store_id=store_id, note=note, now=now)
    return contribution, _receipt_once(session, contribution)


def value_goods(session: Session, lines: Sequence[tuple[str, int]]) -> list[tuple[Product, int]]:
    """What goods would be worth as a donation, before anything is recorded: (product, qty) per product in
    first-seen order (the same product scanned twice adds up), each at its current points price, as
    `record_goods_donation` values them. Raises InvalidBarcode and UnknownProduct as recording would."""
    products = products_by_barcodes(session, (code for code, _qty in lines))
    merged: dict[int, tuple[Product, int]] = {}
    for code, qty in lines:
        product = products[validate_product_code(code)]
        merged[product.id] = (product, merged.get(product.id, (product, 0))[1] + qty)
    return list(merged.values())


def record_cash_donation(session: Session, *, id: uuid.UUID, donor: Donor, store_id: int, amount_fen: int,
                         actor: str, note: str | None = None) -> tuple[Contribution, PrintJob]:
    """现金捐赠: a pending contribution at the bureau's cash rate, and its donation receipt (捐赠收据) queued for
    the shop's printer in the same transaction (printed after the commit; nothing a printer does can lose the
    record). A retry that finds the contribution recorded answers its receipt job instead of queueing another."""
    contribution = earning.record_cash_donation(session, id=id, donor=donor, amount_fen=amount_fen, actor=actor,
                                                store_id=store_id, note=note)
    return contribution, _receipt_once(session, contribution)


def _receipt_once(session: Session, contribution: Contribution) -> PrintJob:
    """The donation's first receipt job, queued now unless a retry finds it queued already."""
    job = session.scalars(select(PrintJob).where(PrintJob.kind == "donation_receipt",
                                                 PrintJob.ref == str(contribution.id))
                          .order_by(PrintJob.created_at).limit(1)).first()
    if job is None:
        job = enqueue_document(session, contribution.store_id, donation_receipt(session, contribution.id))
    return job


def latest_receipt(session: Session, contribution_id: uuid.UUID | str) -> PrintJob | None:
    """The donation's most recent receipt job (the first, or the last reprint), None when it has none."""
    return session.scalars(select(PrintJob).where(PrintJob.kind == "donation_receipt",
                                                  PrintJob.ref == str(contribution_id))
                           .order_by(PrintJob.created_at.desc()).limit(1)).first()


def print_donation_receipt(session: Session, contribution_id: uuid.UUID | str) -> PrintJob:
    """The receipt again (lost, or to show it approved): the contribution as it stands now."""
    contribution = earning.get_contribution(session, contribution_id)
    return enqueue_document(session, contribution.store_id, donation_receipt(session, contribution.id))


def donation_receipt(session: Session, contribution_id: uuid.UUID | str) -> DonationReceipt:
    """A donation's receipt as the printers take it: cash with its amount, goods with their lines at the points
    value they were recorded at. Refused for volunteer hours and for a rejected donation (nothing to receipt)."""
    view = earning.contribution_view(session, contribution_id)
    if view.kind not in (earning.DONATION_CASH, earning.DONATION_GOODS):
        raise NoReceipt("only a donation has a donation receipt", kind=view.kind)
    if view.status == earning.REJECTED:
        raise NoReceipt("a rejected donation has no receipt", status=view.status)
    return DonationReceipt(contribution_id=str(view.id), store_name=view.store_name, received_at=view.recorded_at,
                           clerk=view.recorded_by, member_name=view.donor_name, card_number=view.card_number or "",
                           amount_fen=view.amount_fen or 0, points=view.points, status=view.status,
                           note=view.note or "",
                           lines=tuple(ReceiptLine(line.name, line.qty, line.points_price, line.barcode)
                                       for line in view.lines))


class NoReceipt(DomainError):
    """This contribution has no donation receipt to print (422)."""

    code = "no_receipt"


# ---------------------------------------------------------------------------------------------- demo


def _demo_id(what: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"creditmart:demo-earning:{what}")


def load_demo_earning(session: Session, logins: list[tuple[str, str, str, str]]) -> None:
    """Activity categories, and in the first shop yesterday's clean-up with check-ins and check-outs, a cash
    donation and an enterprise's goods donation: some contributions posted, some waiting for approval, so
    the approvals list and the ledger have something to show."""
    earning.load_categories(session, demo_rows("activity_categories.csv"))
    store = session.scalars(select(Store).order_by(Store.code)).first()
    if store is None:
        return
    code = store.code.lower()
    coordinator, manager = f"coordinator-{code}", f"manager-{code}"
    members = list(session.scalars(select(Member).where(Member.store_id == store.id)
                                   .order_by(Member.created_at, Member.id).limit(4)))
    if len(members) < 4:
        return
    zone = ZoneInfo("Asia/Shanghai")
    yesterday = (utcnow().astimezone(zone) - timedelta(days=1)).date()
    starts = datetime.combine(yesterday, time(8, 30), zone)
    category = earning.find_category(session, "环境整治")
    activity = earning.create_activity(session, _demo_id("activity"), "村道环境整治", category.id, store.id,
                                       starts, coordinator)
    outs = []
    for n, (member, minutes) in enumerate(zip(members[:3], (150, 165, 135), strict=True)):
        earning.check_in(session, attendance_id=_demo_id(f"in-{n}"), activity_id=activity.id,
                         member_id=member.id, at=starts, actor=coordinator)
        outs.append(earning.check_out(session, contribution_id=_demo_id(f"out-{n}"), activity_id=activity.id,
                                      member_id=member.id, at=starts + timedelta(minutes=minutes),
                                      actor=coordinator))
    assert outs[0].contribution is not None
    earning.approve_contribution(session, outs[0].contribution.id, manager)
    cash = earning.record_cash_donation(session, id=_demo_id("cash"), donor=Donor(member_id=members[3].id),
                                        amount_fen=5000, actor=coordinator, note="demo")
    earning.approve_contribution(session, cash.id, manager)
    org = earning.create_organisation(session, _demo_id("organisation"), "荣成海洋食品有限公司", store.id, manager)
    goods = [(row["barcode"], 2) for row in demo_rows("catalog.csv")[:2]]
    record_goods_donation(session, id=_demo_id("goods"), donor=Donor(organisation_id=org.id), store_id=store.id,
                          lines=goods, actor=coordinator, note="demo")


def demo_rows(name: str) -> list[dict[str, str]]:
    """A sample file of pos/demo_data (pos.demo has the same helper, but pos.demo imports this module)."""
    text = resources.files("pos").joinpath("demo_data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))
