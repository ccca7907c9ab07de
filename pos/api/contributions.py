"""Contributions (hours entered by hand, cash and goods donations), their approval, organisations, and rates.

- Recording (coordinator, manager) is for the recorder's own shop: the member's card or the organisation must
  belong to it. A contribution is recorded pending; its points are in the answer.
- Approval is a manager's of the same shop who did not record it (403 `four_eyes`); it posts the ledger
  transfer once (a second decision is 409 `already_decided`). Rejection keeps the record with its reason.
- A donation (cash or goods) queues its donation receipt (捐赠收据) for the shop's printer in the same transaction;
  a donation's details carry its latest receipt job, so the recording tablet can follow it to the printer.
- Goods can be valued before they are recorded (`POST /contributions/quote`): the recorder sees each line's points
  without the product lookup, which is the counter's.
- The pending points of a member show on the card lookup (`GET /cards/{card}`): this module plugs
  `ledger.earning.pending_points` into the members work's hook.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from flask import Blueprint
from pydantic import AwareDatetime, Field, StrictInt
from sqlalchemy.orm import Session

from core.errors import Forbidden, ValidationFailed
from core.stores import Store, get_store_by_code
from ledger import earning, rules
from ledger.accounts import balance
from ledger.earning import ContributionView, Donor
from ledger.members import resolve_card
from pos import db
from pos.api.activities import CardText, Note, StoreCode, own_store, scoped_store_id, shown
from pos.api.common import DB_INT_MAX, Schema, endpoint
from pos.api.members import PENDING_POINTS
from pos.auth import Principal, current_principal
from pos.idempotency import create_once
from pos.services.earning import (
    latest_receipt,
    print_donation_receipt,
    record_cash_donation,
    record_goods_donation,
    value_goods,
)

bp = Blueprint("contributions", __name__)

# Pending points show on the card lookup (and a member's details) but are not in the ledger until approved.
if earning.pending_points not in PENDING_POINTS:
    PENDING_POINTS.append(earning.pending_points)

RECORDERS = ("coordinator", "manager")
MANAGER = ("manager",)
LIST_READERS = ("manager", "auditor", "admin")
READERS = ("manager", "coordinator", "auditor", "admin")
RATE_READERS = ("manager", "coordinator", "clerk", "auditor", "admin")
KIND_IN = {"volunteer_hours": earning.VOLUNTEER_HOURS, "donation": earning.DONATION_CASH,
           "donation_cash": earning.DONATION_CASH, "donation_goods": earning.DONATION_GOODS}


class LineIn(Schema):
    barcode: Annotated[str, Field(min_length=1, max_length=32)]
    qty: Annotated[int, Field(strict=True, ge=1, le=999_999)]


class ContributionIn(Schema):
    id: UUID = Field(description="client id; the contribution's id")
    kind: Literal["volunteer_hours", "donation", "donation_cash", "donation_goods"] = Field(
        description="volunteer_hours; donation (cash, also donation_cash); donation_goods")
    card_number: CardText | None = Field(default=None, description="the member's card (hours: required)")
    organisation_id: UUID | None = Field(default=None, description="an organisation donor instead of a member")
    minutes: StrictInt | None = Field(default=None, description="volunteer_hours: above 0, at most 1440")
    started_at: AwareDatetime | None = Field(default=None, description="volunteer_hours: when the work began")
    activity_id: UUID | None = None
    category: StrictInt | Annotated[str, Field(min_length=1, max_length=80)] | None = Field(
        default=None, description="volunteer_hours without an activity: the category whose rate applies")
    amount_fen: Annotated[int, Field(strict=True, ge=1, le=earning.MAX_AMOUNT_FEN)] | None = Field(
        default=None, description="donation: the amount in fen")
    lines: list[LineIn] | None = Field(default=None, min_length=1, max_length=earning.MAX_GOODS_LINES,
                                       description="donation_goods: the goods by barcode")
    note: Note | None = None


class GoodsQuoteIn(Schema):
    lines: list[LineIn] = Field(min_length=1, max_length=earning.MAX_GOODS_LINES,
                                description="the goods by barcode, as a donation_goods body has them")


class ContributionsQuery(Schema):
    store: StoreCode | None = None
    status: Literal["pending", "posted", "rejected"] | None = None
    kind: Literal["volunteer_hours", "donation_cash", "donation_goods"] | None = None
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=DB_INT_MAX)


class RejectIn(Schema):
    reason: Annotated[str, Field(min_length=1, max_length=earning.MAX_REASON)]


class OrganisationIn(Schema):
    id: UUID
    name: Annotated[str, Field(min_length=1, max_length=earning.MAX_ORG_NAME)]
    store: StoreCode


class StoreQuery(Schema):
    store: StoreCode | None = None


class RatesIn(Schema):
    points_per_hour: Annotated[int, Field(strict=True, ge=1, le=rules.MAX_POINTS_PER_HOUR)] = Field(
        description="the default volunteer rate, for categories without their own")
    cash_points_per_yuan: Annotated[str, Field(min_length=1, max_length=10, pattern=r"^\d+(\.\d{1,2})?$")] = Field(
        description='points per yuan of a cash donation, e.g. "1" or "0.5"')


# ---------------------------------------------------------------------------------------------- answers


def rate_json(view: ContributionView) -> dict[str, Any] | None:
    if view.rate is None:
        return None
    answer: dict[str, Any] = {"points": view.rate.points, "per": view.rate.per}
    if view.kind == earning.VOLUNTEER_HOURS:
        answer["points_per_hour"] = view.rate.points * 60 // view.rate.per
    else:
        answer["points_per_yuan"] = rules.points_per_yuan_text(view.rate)
    return answer


def contribution_json(view: ContributionView) -> dict[str, Any]:
    return {
        "contribution_id": str(view.id), "kind": view.kind, "status": view.status, "store": view.store_code,
        "donor": {"type": view.donor_type, "id": str(view.donor_id), "name": view.donor_name,
                  "card_number": view.card_number},
        "minutes": view.minutes, "started_at": shown(view.started_at), "ended_at": shown(view.ended_at),
        "occurred_at": shown(view.occurred_at), "amount_fen": view.amount_fen, "rate": rate_json(view),
        "points": view.points,
        "activity": {"id": str(view.activity_id), "title": view.activity_title} if view.activity_id else None,
        "category": {"name_zh": view.category_zh, "name_en": view.category_en} if view.category_zh else None,
        "lines": [{"barcode": line.barcode, "name": line.name, "qty": line.qty, "points_price": line.points_price,
                   "points": line.points} for line in view.lines] if view.kind == earning.DONATION_GOODS else None,
        "note": view.note, "recorded_by": view.recorded_by, "recorded_at": shown(view.recorded_at),
        "decided_by": view.decided_by, "decided_at": shown(view.decided_at), "reason": view.reason,
        "transfer_seq": view.transfer_seq,
    }


def check_shape(body: ContributionIn, kind: str) -> None:
    """What each kind needs and must not have, refused field by field (400)."""
    problems: dict[str, str] = {}
    if (body.card_number is None) == (body.organisation_id is None):
        problems["card_number"] = "give card_number or organisation_id (one of the two)"
    wanted = {earning.VOLUNTEER_HOURS: {"minutes"}, earning.DONATION_CASH: {"amount_fen"},
              earning.DONATION_GOODS: {"lines"}}[kind]
    allowed = wanted | ({"started_at", "activity_id", "category"} if kind == earning.VOLUNTEER_HOURS else set())
    for name in ("minutes", "started_at", "activity_id", "category", "amount_fen", "lines"):
        given = getattr(body, name) is not None
        if name in wanted and not given:
            problems[name] = f"required for {body.kind}"
        elif given and name not in allowed:
            problems[name] = f"not used for {body.kind}"
    if kind == earning.VOLUNTEER_HOURS and body.organisation_id is not None:
        problems["organisation_id"] = "volunteer hours are a member's"
    if body.activity_id is not None and body.category is not None:
        problems["category"] = "the activity's category applies"
    if problems:
        raise ValidationFailed("invalid contribution", **problems)


def donor_of(session: Session, principal: Principal, body: ContributionIn) -> Donor:
    if body.card_number is not None:
        member, _card = resolve_card(session, body.card_number, store_id=principal.store_id)
        return Donor(member_id=member.id)
    org = earning.get_organisation(session, body.organisation_id)  # type: ignore[arg-type]
    principal.require_store(org.store_id)
    return Donor(organisation_id=org.id)


def visible_contribution(session: Session, principal: Principal, contribution_id: str) -> ContributionView:
    view = earning.contribution_view(session, contribution_id)
    principal.require_store(view.store_id)
    return view


def organisation_json(session: Session, org: earning.Organisation) -> dict[str, Any]:
    store = session.get(Store, org.store_id)
    assert store is not None
    return {"organisation_id": str(org.id), "name": org.name, "store": store.code,
            "balance": balance(session, org.account_id)}


def rates_json(rates: earning.Rates) -> dict[str, Any]:
    return {"points_per_hour": rates.points_per_hour, "cash_points_per_yuan": rates.cash_points_per_yuan,
            "daily_cap_minutes": rules.DAILY_CAP_MINUTES, "max_minutes": rules.MAX_MINUTES}


# ---------------------------------------------------------------------------------------------- routes


@bp.post("/contributions")
@endpoint(roles=RECORDERS, body=ContributionIn,
          summary="Record volunteer hours or a donation (cash or goods); it waits for approval")
def record(body: ContributionIn):
    actor = current_principal()
    kind = KIND_IN[body.kind]
    check_shape(body, kind)
    if actor.store_id is None:
        raise Forbidden("contributions are recorded in a shop")

    def work(session: Session) -> tuple[dict[str, Any], int]:
        donor = donor_of(session, actor, body)
        receipt = None
        if kind == earning.VOLUNTEER_HOURS:
            category_id = earning.find_category(session, body.category).id if body.category is not None else None
            contribution = earning.record_volunteer_hours(
                session, id=body.id, member_id=donor.member_id, minutes=body.minutes,  # type: ignore[arg-type]
                actor=actor.username, store_id=actor.store_id, started_at=body.started_at,
                activity_id=body.activity_id, category_id=category_id, note=body.note)
        elif kind == earning.DONATION_CASH:
            contribution, job = record_cash_donation(
                session, id=body.id, donor=donor, amount_fen=body.amount_fen,  # type: ignore[arg-type]
                actor=actor.username, store_id=actor.store_id, note=body.note)  # type: ignore[arg-type]
            receipt = {"job_id": str(job.id), "status": job.status}
        else:
            contribution, job = record_goods_donation(
                session, id=body.id, donor=donor, store_id=actor.store_id,  # type: ignore[arg-type]
                lines=[(line.barcode, line.qty) for line in body.lines or []], actor=actor.username, note=body.note)
            receipt = {"job_id": str(job.id), "status": job.status}
        answer = contribution_json(earning.contribution_view(session, contribution.id))
        if receipt is not None:
            answer["receipt"] = receipt
        return answer, 201

    return create_once(db.unit_of_work(), "contributions", str(body.id), body, work)


@bp.post("/contributions/quote")
@endpoint(roles=RECORDERS, body=GoodsQuoteIn,
          summary="What donated goods would earn, line by line at today's points prices; writes nothing")
def quote_goods(body: GoodsQuoteIn):
    valued = db.unit_of_work().read(lambda session: [
        {"barcode": product.barcode, "name": product.name, "unit": product.unit, "qty": qty,
         "points_price": product.points_price, "points": qty * product.points_price}
        for product, qty in value_goods(session, [(line.barcode, line.qty) for line in body.lines])])
    return {"lines": valued, "points": sum(line["points"] for line in valued)}


@bp.get("/contributions")
@endpoint(roles=LIST_READERS, query=ContributionsQuery,
          summary="A shop's contributions; status=pending is the approval queue, oldest first")
def list_contributions(query: ContributionsQuery):
    principal = current_principal()
    session = db.session()
    store_id = scoped_store_id(session, principal, query.store)
    found = earning.list_contributions(session, store_id, status=query.status, kind=query.kind, limit=query.limit,
                                       offset=query.offset)
    return {"contributions": [contribution_json(v) for v in found],
            "pending_points": sum(v.points for v in found if v.status == earning.PENDING)}


@bp.get("/contributions/<contribution_id>")
@endpoint(roles=READERS, summary="One contribution with its donor, rate, points and decision")
def contribution_details(contribution_id: str):
    session = db.session()
    view = visible_contribution(session, current_principal(), contribution_id)
    answer = contribution_json(view)
    if view.kind in (earning.DONATION_CASH, earning.DONATION_GOODS):
        job = latest_receipt(session, view.id)
        answer["receipt"] = None if job is None else {"job_id": str(job.id), "status": job.status,
                                                      "last_error": job.last_error}
    return answer


@bp.post("/contributions/<contribution_id>/receipt")
@endpoint(roles=RECORDERS, summary="Print a donation's receipt (cash or goods) again, as it stands now")
def reprint_receipt(contribution_id: str):
    actor = current_principal()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        visible_contribution(session, actor, contribution_id)
        job = print_donation_receipt(session, contribution_id)
        return {"job_id": str(job.id), "status": job.status}, 201

    return db.unit_of_work().run(work)


@bp.post("/contributions/<contribution_id>/approve")
@endpoint(roles=MANAGER, summary="Approve: posts the points to the donor, once (not by the recorder)")
def approve(contribution_id: str):
    actor = current_principal()

    def work(session: Session) -> dict[str, Any]:
        decision = earning.approve_contribution(session, contribution_id, actor.username, store_id=actor.store_id)
        return {"contribution_id": str(decision.contribution_id), "status": decision.status,
                "points": decision.points, "transfer_seq": decision.transfer_seq,
                "balance_after": decision.balance_after, "decided_by": decision.decided_by,
                "decided_at": shown(decision.decided_at)}

    return db.unit_of_work().run(work)


@bp.post("/contributions/<contribution_id>/reject")
@endpoint(roles=MANAGER, body=RejectIn, summary="Reject: the record stays with its reason; nothing is posted")
def reject(contribution_id: str, body: RejectIn):
    actor = current_principal()

    def work(session: Session) -> dict[str, Any]:
        decision = earning.reject_contribution(session, contribution_id, actor.username, body.reason,
                                               store_id=actor.store_id)
        return {"contribution_id": str(decision.contribution_id), "status": decision.status,
                "reason": body.reason, "decided_by": decision.decided_by, "decided_at": shown(decision.decided_at)}

    return db.unit_of_work().run(work)


@bp.post("/organisations")
@endpoint(roles=MANAGER, body=OrganisationIn, summary="Register an organisation donor with its own points account")
def create_organisation(body: OrganisationIn):
    actor = current_principal()
    own_store(actor, body.store)

    def work(session: Session) -> tuple[dict[str, Any], int]:
        store = get_store_by_code(session, body.store)
        org = earning.create_organisation(session, body.id, body.name, store.id, actor.username)
        return organisation_json(session, org), 201

    return create_once(db.unit_of_work(), "organisations", str(body.id), body, work)


@bp.get("/organisations")
@endpoint(roles=READERS, query=StoreQuery, summary="A shop's organisation donors and their balances")
def list_organisations(query: StoreQuery):
    principal = current_principal()
    session = db.session()
    store_id = scoped_store_id(session, principal, query.store)
    return {"organisations": [organisation_json(session, org)
                              for org in earning.list_organisations(session, store_id)]}


@bp.get("/earning/rates")
@endpoint(roles=RATE_READERS, summary="The bureau's earning rates and the volunteer-time limits")
def rates():
    return rates_json(earning.current_rates(db.session()))


@bp.put("/earning/rates")
@endpoint(roles=("admin",), body=RatesIn, summary="Set the bureau's earning rates, for contributions from now on")
def set_rates(body: RatesIn):
    actor = current_principal()

    def work(session: Session) -> dict[str, Any]:
        return rates_json(earning.set_rates(session, points_per_hour=body.points_per_hour,
                                            cash_points_per_yuan=body.cash_points_per_yuan, actor=actor.username))

    return db.unit_of_work().run(work)
