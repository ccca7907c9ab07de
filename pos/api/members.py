"""Members and their cards: registration (with consent), card lookup at the counter, search, details,
statement, reissue of a lost card, and the card images and A4 print sheet.

Shop scoping: a shop user (manager, clerk, coordinator) reads and writes only their own shop's members; a
card of another shop's member is 403 `forbidden` before anything else about it is said. The bureau (admin,
auditor) reads every shop. Phone numbers are masked (138****1234) except for managers and the bureau.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template
from markupsafe import Markup
from pydantic import AfterValidator, Field
from sqlalchemy.orm import Session

from core.errors import Forbidden, NotFound
from core.stores import get_store_by_code
from ledger.accounts import balance
from ledger.members import (
    Member,
    MemberCard,
    MemberInfo,
    active_card,
    cards_of,
    clean_household,
    clean_name,
    find_members,
    get_member,
    list_members,
    mask_phone,
    member_info,
    member_statement,
    normalise_phone,
    register_member,
    reissue_card,
    resolve_card,
)
from pos import db
from pos.api.common import DB_INT_MAX, Schema, endpoint
from pos.auth import Principal, current_principal
from pos.errors import request_language
from pos.i18n import translate
from pos.idempotency import create_once
from pos.services import printing
from printers.cards import CardFace, card_png, card_svg, card_svg_element

bp = Blueprint("members", __name__)

BUREAU = ("admin", "auditor")
REGISTRARS = ("manager", "clerk")
READERS = ("manager", "clerk", "coordinator", *BUREAU)
STATEMENT_READERS = ("manager", "clerk", *BUREAU)
MANAGER = ("manager",)
# Who sees a member's whole phone number; everyone else gets 138****1234.
FULL_PHONE_ROLES = frozenset({"manager", *BUREAU})
CARDS_PER_SHEET = 10  # 2 × 5 bank-card-sized cards on A4
SHEET_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# ---------------------------------------------------------------------------------------------- pending points

PendingPoints = Callable[[Session, uuid.UUID], int]
# Points recorded for a member and awaiting a second person's approval. The earning work owns these: it
# appends its counter here (`PENDING_POINTS.append(fn)`, fn(session, member_id) -> int); until then it is 0.
PENDING_POINTS: list[PendingPoints] = []


def pending_points(session: Session, member_id: uuid.UUID) -> int:
    return sum(source(session, member_id) for source in PENDING_POINTS)


def sees_full_phone(role: str) -> bool:
    return role in FULL_PHONE_ROLES


# ---------------------------------------------------------------------------------------------- schemas

Name = Annotated[str, AfterValidator(clean_name)]
Phone = Annotated[str | None, AfterValidator(normalise_phone)]
Household = Annotated[str | None, AfterValidator(clean_household)]
StoreCode = Annotated[str, Field(min_length=1, max_length=16)]


class MemberIn(Schema):
    id: uuid.UUID = Field(description="client id: a retry with it registers nobody new")
    name: Name = Field(description="1 to 50 characters")
    phone: Phone = Field(default=None, description="mainland mobile: 11 digits starting with 1")
    household: Household = Field(default=None, description="household (户) code")
    store: StoreCode
    consent: Literal[True] = Field(description="the resident's informed consent, required")


class ReissueIn(Schema):
    id: uuid.UUID = Field(description="client id of this reissue")


class SearchQuery(Schema):
    q: str = Field(default="", max_length=50, description="card number, phone (11 digits or last 4), or name")
    store: StoreCode | None = None
    limit: int = Field(default=50, ge=1, le=200)


class StatementQuery(Schema):
    before_seq: int | None = Field(default=None, ge=1, description="entries older than this journal seq")
    limit: int = Field(default=50, ge=1, le=500)


class SheetQuery(Schema):
    store: StoreCode | None = None
    household: Household = Field(default=None, description="only this household's cards")
    offset: int = Field(default=0, ge=0, le=DB_INT_MAX)
    limit: int = Field(default=100, ge=1, le=200)


# ---------------------------------------------------------------------------------------------- answers


def member_json(info: MemberInfo, principal: Principal, pending: int | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "member_id": str(info.id),
        "name": info.name,
        "phone_masked": mask_phone(info.phone),
        "household": info.household,
        "store": info.store_code,
        "balance": info.balance,
        "status": info.status,
        "card_number": info.card_number,
    }
    if pending is not None:
        answer["pending_points"] = pending
    if sees_full_phone(principal.role):
        answer["phone"] = info.phone
    return answer


def card_json(card: MemberCard) -> dict[str, Any]:
    return {"card_number": card.card_number, "status": card.status, "issued_at": card.issued_at.isoformat(),
            "blocked_at": card.blocked_at.isoformat() if card.blocked_at else None,
            "replaced_by": card.replaced_by}


def _scoped_store_id(session: Session, principal: Principal, store_code: str | None) -> int | None:
    """The shop a listing covers: a shop user's own (naming another is 403), or any/all for the bureau."""
    if principal.store_id is not None:
        if store_code is not None and store_code != principal.store_code:
            raise Forbidden("another shop's members", store=store_code)
        return principal.store_id
    return get_store_by_code(session, store_code).id if store_code else None


def _visible_member(session: Session, principal: Principal, member_id: str) -> MemberInfo:
    info = member_info(session, member_id)
    principal.require_store(info.store_id)
    return info


def _card_face(info: MemberInfo) -> CardFace:
    if info.card_number is None:
        raise NotFound("the member has no card in use", member_id=str(info.id))
    # Cards are printed in Chinese whatever the manager's screen language, as receipts are.
    return CardFace(card_number=info.card_number, member_name=info.name, store_name=info.store_name,
                    household=info.household or "", title=translate("members.card_title", "zh-CN"))


# ---------------------------------------------------------------------------------------------- routes


@bp.post("/members")
@endpoint(roles=REGISTRARS, body=MemberIn, summary="Register a member (consent required) and issue their card")
def register(body: MemberIn):
    actor = current_principal()
    if body.store != actor.store_code:
        raise Forbidden("another shop's members", store=body.store)  # before any lookup: no probing

    def work(session: Session) -> tuple[dict[str, Any], int]:
        store = get_store_by_code(session, body.store)
        member = register_member(session, body.id, body.name, body.phone, body.household, store.id, actor.username)
        card = active_card(session, member.id)
        assert card is not None
        return {"member_id": str(member.id), "card_number": card.card_number, "name": member.name,
                "store": store.code, "balance": balance(session, member.account_id)}, 201

    return create_once(db.unit_of_work(), "members", str(body.id), body, work)


@bp.get("/cards/<card_number>")
@endpoint(roles=READERS, summary="Look a card up at the counter: the member, balance and pending points")
def lookup_card(card_number: str):
    principal = current_principal()
    session = db.session()
    member, _card = resolve_card(session, card_number, store_id=principal.store_id)
    return member_json(member_info(session, member.id), principal, pending_points(session, member.id))


@bp.get("/members")
@endpoint(roles=READERS, query=SearchQuery, summary="Find members by card, phone (or its last 4 digits) or name")
def search(query: SearchQuery):
    principal = current_principal()
    session = db.session()
    store_id = _scoped_store_id(session, principal, query.store)
    if query.q.strip():
        found = find_members(session, store_id, query.q, limit=query.limit)
    else:
        found = list_members(session, store_id, limit=query.limit)
    return {"members": [member_json(info, principal) for info in found]}


@bp.get("/members/<member_id>")
@endpoint(roles=READERS, summary="A member's details, cards and consent record")
def details(member_id: str):
    principal = current_principal()
    session = db.session()
    info = _visible_member(session, principal, member_id)
    answer = member_json(info, principal, pending_points(session, info.id))
    answer.update({
        "store_name": info.store_name,
        "consent_at": info.consent_at.isoformat(),
        "consent_recorded_by": info.consent_recorded_by,
        "created_at": info.created_at.isoformat(),
        "cards": [card_json(card) for card in cards_of(session, info.id)],
    })
    return answer


@bp.get("/members/<member_id>/statement")
@endpoint(roles=STATEMENT_READERS, query=StatementQuery,
          summary="The member's statement with running balance, newest first (page with before_seq)")
def member_statement_view(member_id: str, query: StatementQuery):
    principal = current_principal()
    session = db.session()
    info = _visible_member(session, principal, member_id)
    page = member_statement(session, info.id, limit=query.limit, before_seq=query.before_seq)
    shown_in = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    entries = [{"seq": e.seq, "at": e.at.astimezone(shown_in).isoformat(), "code": e.code, "amount": e.amount,
                "balance_after": e.balance_after, "ref": e.ref} for e in page.entries]
    more = page.next_before_version is not None and len(entries) == query.limit
    return {"member_id": str(info.id), "balance": page.balance, "entries": entries,
            "next_before_seq": entries[-1]["seq"] if more else None}


@bp.post("/members/<member_id>/cards")
@endpoint(roles=MANAGER, body=ReissueIn, summary="Reissue a lost card: the old one is blocked, the balance stays")
def reissue(member_id: str, body: ReissueIn):
    actor = current_principal()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        member: Member = get_member(session, member_id)
        actor.require_store(member.store_id)
        old = active_card(session, member.id)
        card = reissue_card(session, member.id, actor.username)
        return {"member_id": str(member.id), "card_number": card.card_number,
                "replaces": old.card_number if old else None}, 201

    fingerprint = {"member_id": member_id, **body.model_dump(mode="json")}
    return create_once(db.unit_of_work(), "member_cards", str(body.id), fingerprint, work)


@bp.get("/members/<member_id>/card.svg")
@endpoint(roles=MANAGER, summary="The member's card as SVG: name, shop, Code128 barcode and QR code")
def card_image_svg(member_id: str):
    info = _visible_member(db.session(), current_principal(), member_id)
    return _image(card_svg(_card_face(info)), "image/svg+xml", f"card-{info.card_number}.svg")


@bp.get("/members/<member_id>/card.png")
@endpoint(roles=MANAGER, summary="The member's card as a 300 dpi PNG")
def card_image_png(member_id: str):
    info = _visible_member(db.session(), current_principal(), member_id)
    return _image(card_png(_card_face(info)), "image/png", f"card-{info.card_number}.png")


@bp.post("/members/<member_id>/card/print")
@endpoint(roles=REGISTRARS, summary="Send the member's card (name, card number as barcode and QR) to the shop's "
          "receipt printer")
def card_print(member_id: str):
    principal = current_principal()
    return db.unit_of_work().run(lambda session: printing.print_member_card(session, principal, member_id)), 201


@bp.get("/members/cards/sheet")
@endpoint(roles=MANAGER, query=SheetQuery,
          summary="An A4 HTML page of cards (2 × 5 a page) for a shop or one household, to print and cut")
def cards_sheet(query: SheetQuery):
    principal = current_principal()
    session = db.session()
    store_id = _scoped_store_id(session, principal, query.store)
    household = query.household
    members = [info for info in list_members(session, store_id, household=household, limit=query.limit,
                                             offset=query.offset) if info.card_number]
    cards = [{"name": info.name, "household": info.household, "svg": Markup(card_svg_element(_card_face(info)))}
             for info in members]
    pages = [cards[i:i + CARDS_PER_SHEET] for i in range(0, len(cards), CARDS_PER_SHEET)]
    lang = request_language()
    store_label = principal.store_code or query.store or "*"
    if household:
        store_label += " · " + translate("members.sheet_household", lang, household=household)
    html = render_template(
        "cards_sheet.html", lang=lang, pages=pages, title=translate("members.sheet_title", lang),
        summary=translate("members.sheet_summary", lang, store=store_label, count=len(cards)),
        hint=translate("members.sheet_hint", lang), empty=translate("members.sheet_empty", lang),
        page_label=translate("members.sheet_page", lang),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = SHEET_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def _image(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    # An SVG opened on its own is a document: no script, no outside resources.
    response.headers["Content-Security-Policy"] = SHEET_CSP
    response.headers["Cache-Control"] = "no-store"  # it carries a member's name
    return response
