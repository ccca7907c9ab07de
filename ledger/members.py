"""Members (会员): the people who hold points accounts, and their cards.

A member is registered in their home shop with their informed consent (who recorded it and when), gets a
points account in the ledger (kind `member`, owner_ref = the member's id) and a first card. A lost card is
reissued: the old number is blocked and names its replacement; the account, and so the balance, stays with
the member.

Like the rest of `ledger`, nothing here imports Flask or `pos`: every function takes the caller's Session
and never commits. The public API:

- `register_member`, `reissue_card`, `resolve_card`, `active_card`, `cards_of`, `get_member`
- `member_info`, `find_members`, `list_members` → `MemberInfo`; `member_statement` → `Statement`
- text rules: `clean_name`, `normalise_phone`, `clean_household`, `mask_phone`, `escape_like`
- errors: `UnknownCard` (422 unknown_card), `CardBlocked` (422 card_blocked), `UnknownMember` (404),
  `MemberConflict` (409)
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Select,
    String,
    Uuid,
    and_,
    column,
    func,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.errors import DomainError, Forbidden, IdempotencyConflict, NotFound, ValidationFailed
from core.stores import Store
from core.text import normalise_scan
from ledger.accounts import open_account
from ledger.cards import CARD_LENGTH, is_valid_card_number, new_card_number, normalise_card_number
from ledger.models import MEMBER, Account
from ledger.statement import Statement, statement

ACTIVE = "active"
BLOCKED = "blocked"
CLOSED = "closed"
MEMBER_STATUSES = (ACTIVE, CLOSED)  # closed: left the programme (no use case closes a member yet)
CARD_STATUSES = (ACTIVE, BLOCKED)

MAX_NAME = 50
MAX_HOUSEHOLD = 32
MAX_ACTOR = 64
PHONE_PATTERN = re.compile(r"1\d{10}")
CARD_DRAWS = 8  # a clash among 10^15 numbers is already rare; eight in a row means something else is wrong
SEARCH_LIMIT = 50


class UnknownCard(DomainError):
    """No card was issued with this number (or what was scanned is not a card number at all)."""

    code = "unknown_card"


class CardBlocked(DomainError):
    """The card was blocked (reported lost and reissued). Details: `replaced` (a newer card exists) and the
    member's `name`, so the clerk can ask for the new card; never the new number."""

    code = "card_blocked"


class UnknownMember(NotFound):
    pass


class MemberConflict(IdempotencyConflict):
    """A member with this id exists already, with other facts (409)."""


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(_one_of("status", MEMBER_STATUSES), name="status"),
        Index("ix_members_store_id_name", "store_id", "name"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the client's id from registration
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    phone: Mapped[str | None] = mapped_column(String(11), index=True)
    household: Mapped[str | None] = mapped_column(String(MAX_HOUSEHOLD), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), unique=True)
    # Rongcheng's rules require the resident's informed consent: who recorded it, and when.
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_recorded_by: Mapped[str] = mapped_column(String(MAX_ACTOR))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)


class MemberCard(Base):
    __tablename__ = "member_cards"
    __table_args__ = (
        CheckConstraint(_one_of("status", CARD_STATUSES), name="status"),
        CheckConstraint(f"length(card_number) = {CARD_LENGTH}", name="card_number_length"),
        CheckConstraint("(status = 'blocked') = (blocked_at IS NOT NULL)", name="blocked_at"),
        # At most one card in use per member: a reissue blocks the old card before the new one is added.
        Index("uq_member_cards_active_member", "member_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )

    card_number: Mapped[str] = mapped_column(String(CARD_LENGTH), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(MAX_ACTOR))
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by: Mapped[str | None] = mapped_column(ForeignKey("member_cards.card_number"))


# ---------------------------------------------------------------------------------------------- text rules


def clean_name(raw: str) -> str:
    """A member's name as stored: trimmed, 1 to 50 characters, no control characters (it goes on receipts)."""
    name = unicodedata.normalize("NFC", raw).strip() if isinstance(raw, str) else ""
    if not name:
        raise ValueError("must not be blank")
    if len(name) > MAX_NAME:
        raise ValueError(f"at most {MAX_NAME} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise ValueError("must not contain control characters or line breaks")
    return name


def normalise_phone(raw: str | None) -> str | None:
    """A mainland mobile number: 11 digits starting with 1. Full-width digits, spaces, hyphens and a +86
    prefix, as people type or copy them, are accepted and removed. Blank means no phone."""
    if raw is None:
        return None
    phone = re.sub(r"[\s\-()]", "", normalise_scan(raw))
    if not phone:
        return None
    if phone.startswith("+86"):
        phone = phone[3:]
    if not (phone.isascii() and PHONE_PATTERN.fullmatch(phone)):
        raise ValueError("11 digits starting with 1")
    return phone


def clean_household(raw: str | None) -> str | None:
    """The household (户) code, e.g. DSC-018: scanned or typed, so normalised like any code. Blank means none."""
    if raw is None:
        return None
    household = normalise_scan(raw)
    if not household:
        return None
    if len(household) > MAX_HOUSEHOLD:
        raise ValueError(f"at most {MAX_HOUSEHOLD} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in household):
        raise ValueError("must not contain control characters")
    return household


def mask_phone(phone: str | None) -> str | None:
    """138****1234: the first three and the last four digits. Who may see the whole number is the caller's
    decision (managers and the bureau)."""
    if not phone:
        return None
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def escape_like(fragment: str, escape: str = "\\") -> str:
    """A user's text for LIKE: % and _ match themselves, not any text."""
    return fragment.replace(escape, escape * 2).replace("%", escape + "%").replace("_", escape + "_")


def _validated(**fields: tuple[Callable[[Any], Any], Any]) -> dict[str, Any]:
    """Applies each rule; every failing field is named in one ValidationFailed (HTTP 400)."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field, (rule, value) in fields.items():
        try:
            values[field] = rule(value)
        except ValueError as exc:
            problems[field] = str(exc)
    if problems:
        raise ValidationFailed("invalid member", **problems)
    return values


# ---------------------------------------------------------------------------------------------- registering


def register_member(session: Session, id: uuid.UUID | str, name: str, phone: str | None, household: str | None,
                    store_id: int, recorded_by: str, *,
                    draw: Callable[[], str] = new_card_number) -> Member:
    """Registers a member whose consent `recorded_by` has just recorded: opens their points account and
    issues their first card (see `active_card`).

    Registering the same id again with the same facts returns the member (a retried request); with other
    facts it is refused (MemberConflict). `draw` gives card numbers (tests pass their own to force a clash).
    """
    values = _validated(id=(_uuid, id), name=(clean_name, name), phone=(normalise_phone, phone),
                        household=(clean_household, household), recorded_by=(_actor, recorded_by))
    member_id: uuid.UUID = values["id"]
    existing = session.get(Member, member_id)
    if existing is not None:
        same = (existing.name, existing.phone, existing.household, existing.store_id) == (
            values["name"], values["phone"], values["household"], store_id)
        if not same:
            raise MemberConflict("a member with this id exists with other facts", id=str(member_id))
        return existing
    if session.get(Store, store_id) is None:
        raise NotFound("store not found", store_id=store_id)
    account = open_account(session, MEMBER, str(member_id), store_id)
    now = utcnow()
    member = Member(id=member_id, name=values["name"], phone=values["phone"], household=values["household"],
                    store_id=store_id, account_id=account.id, consent_at=now,
                    consent_recorded_by=values["recorded_by"], created_at=now, status=ACTIVE)
    session.add(member)
    session.flush()
    _issue_card(session, member_id, values["recorded_by"], draw)
    return member


def reissue_card(session: Session, member_id: uuid.UUID | str, actor: str, *,
                 draw: Callable[[], str] = new_card_number) -> MemberCard:
    """A new card for a member who lost theirs: the card in use is blocked and names the new one. The
    member's account does not change, so the balance stays with them."""
    values = _validated(member_id=(_uuid, member_id), actor=(_actor, actor))
    # Lock the member: two reissues at once for one member run one after the other (PostgreSQL; SQLite's
    # BEGIN IMMEDIATE already serialises writers).
    member = session.scalars(
        select(Member).where(Member.id == values["member_id"]).with_for_update()
    ).one_or_none()
    if member is None:
        raise UnknownMember("no such member", member_id=str(values["member_id"]))
    old = active_card(session, member.id)
    if old is not None:
        old.status, old.blocked_at = BLOCKED, utcnow()
        session.flush()  # blocked before the new card is added: at most one active card per member
    new = _issue_card(session, member.id, values["actor"], draw)
    if old is not None:
        old.replaced_by = new.card_number
        session.flush()
    return new


def _issue_card(session: Session, member_id: uuid.UUID, actor: str, draw: Callable[[], str]) -> MemberCard:
    for _ in range(CARD_DRAWS):
        number = draw()
        if not is_valid_card_number(number):
            raise ValueError(f"the card number source gave an invalid number: {number!r}")
        card = MemberCard(card_number=number, member_id=member_id, status=ACTIVE, issued_at=utcnow(),
                          issued_by=actor)
        # A savepoint, so a clash with an existing number costs one draw, not the whole transaction.
        try:
            with session.begin_nested():
                session.add(card)
        except IntegrityError:
            if session.get(MemberCard, number) is None:
                raise  # not a number clash: let the caller see it
            continue
        return card
    raise RuntimeError(f"{CARD_DRAWS} card numbers in a row were taken: is the number source random?")


# ---------------------------------------------------------------------------------------------- cards


def resolve_card(session: Session, raw: str, *, store_id: int | None = None) -> tuple[Member, MemberCard]:
    """The member behind a scanned or typed card number, for the counter (balance, checkout, attendance).

    - not a card number, or never issued → UnknownCard;
    - `store_id` given (a shop user's shop) and the member belongs to another shop → Forbidden, before
      anything else about the card is said;
    - blocked (lost and reissued) → CardBlocked with `replaced` and the member's name, not the new number;
    - a closed member → CardBlocked with `closed`.
    """
    number = normalise_card_number(raw) if isinstance(raw, str) else ""
    if not is_valid_card_number(number):
        raise UnknownCard("not a card number", reason="not_a_card_number")
    row = session.execute(
        select(Member, MemberCard).join(MemberCard, MemberCard.member_id == Member.id)
        .where(MemberCard.card_number == number)
    ).one_or_none()
    if row is None:
        raise UnknownCard("no card with this number", reason="not_issued")
    member, card = row
    if store_id is not None and member.store_id != store_id:
        raise Forbidden("another shop's member", reason="other_store")
    if card.status == BLOCKED:
        raise CardBlocked("this card is blocked", replaced=card.replaced_by is not None, name=member.name)
    if member.status != ACTIVE:
        raise CardBlocked("this member's account is closed", closed=True, name=member.name)
    return member, card


def active_card(session: Session, member_id: uuid.UUID) -> MemberCard | None:
    return session.scalars(
        select(MemberCard).where(MemberCard.member_id == member_id, MemberCard.status == ACTIVE)
    ).one_or_none()


def cards_of(session: Session, member_id: uuid.UUID) -> list[MemberCard]:
    """Every card the member was issued, the newest first."""
    return list(session.scalars(
        select(MemberCard).where(MemberCard.member_id == member_id)
        .order_by(MemberCard.issued_at.desc(), MemberCard.card_number)
    ))


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A member with their shop, balance and the card in use: what a search or a details page shows."""

    id: uuid.UUID
    name: str
    phone: str | None
    household: str | None
    store_id: int
    store_code: str
    store_name: str
    account_id: int
    balance: int
    card_number: str | None
    status: str
    consent_at: datetime
    consent_recorded_by: str
    created_at: datetime


def _info_select() -> Select[Any]:
    return (
        select(Member.id, Member.name, Member.phone, Member.household, Member.store_id, Store.code, Store.name,
               Member.account_id, Account.balance, MemberCard.card_number, Member.status, Member.consent_at,
               Member.consent_recorded_by, Member.created_at)
        .join(Store, Store.id == Member.store_id)
        .join(Account, Account.id == Member.account_id)
        .outerjoin(MemberCard, and_(MemberCard.member_id == Member.id, MemberCard.status == ACTIVE))
    )


def get_member(session: Session, member_id: uuid.UUID | str) -> Member:
    member = session.get(Member, _member_uuid(member_id))
    if member is None:
        raise UnknownMember("no such member", member_id=str(member_id))
    return member


def member_info(session: Session, member_id: uuid.UUID | str) -> MemberInfo:
    row = session.execute(_info_select().where(Member.id == _member_uuid(member_id))).one_or_none()
    if row is None:
        raise UnknownMember("no such member", member_id=str(member_id))
    return MemberInfo(*row)


def find_members(session: Session, store_id: int | None, query: str, *, limit: int = SEARCH_LIMIT
                 ) -> list[MemberInfo]:
    """Members of one shop (None: every shop) matching what the clerk scanned or typed:

    - a card number (any card the member was issued, blocked ones too: a found card names its owner);
    - 11 digits: the phone number; 4 digits: the last four digits of the phone;
    - other text: part of the name (汉字 or Latin, % and _ taken literally), or the household code exactly.
    """
    q = normalise_scan(query) if isinstance(query, str) else ""
    if not q:
        return []
    number = normalise_card_number(q)
    if is_valid_card_number(number):
        holder = select(MemberCard.member_id).where(MemberCard.card_number == number).scalar_subquery()
        condition = Member.id == holder
    elif q.isascii() and q.isdigit():
        if len(q) == 11:
            condition = Member.phone == q
        elif len(q) == 4:
            condition = Member.phone.like(f"%{q}")
        else:
            return []
    else:
        condition = or_(Member.name.ilike(f"%{escape_like(q)}%", escape="\\"), Member.household == q)
    stmt = _info_select().where(condition)
    if store_id is not None:
        stmt = stmt.where(Member.store_id == store_id)
    rows = session.execute(stmt.order_by(Member.name, Member.id).limit(limit))
    return [MemberInfo(*row) for row in rows]


def list_members(session: Session, store_id: int | None, *, household: str | None = None,
                 limit: int | None = None, offset: int = 0) -> list[MemberInfo]:
    """A shop's members (None: all), optionally one household's, by household then name: a card sheet's order."""
    stmt = _info_select()
    if store_id is not None:
        stmt = stmt.where(Member.store_id == store_id)
    if household is not None:
        stmt = stmt.where(Member.household == household)
    stmt = stmt.order_by(Member.household, Member.name, Member.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [MemberInfo(*row) for row in session.execute(stmt)]


def count_members(session: Session, store_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(Member)
    if store_id is not None:
        stmt = stmt.where(Member.store_id == store_id)
    return session.scalar(stmt) or 0


# One row per account per transfer. Named by its columns, not the ledger's model: the ledger keeps this shape
# (a table now, a view over the transfers when the entries move onto the transfer row).
_entries = table("ledger_entries", column("seq"), column("account_id"), column("account_version"))


def member_statement(session: Session, member_id: uuid.UUID | str, *, limit: int = 50,
                     before_seq: int | None = None) -> Statement:
    """The member's statement (newest first, running balance) from the ledger. Pages by journal seq: the
    next page is `before_seq=<the last entry's seq>`."""
    member = get_member(session, member_id)
    before_version = None
    if before_seq is not None:
        # An account's versions grow with seq, so "older than seq S" is "versions up to the last one before S".
        last = session.scalar(select(func.max(_entries.c.account_version))
                              .where(_entries.c.account_id == member.account_id, _entries.c.seq < before_seq))
        before_version = (last or 0) + 1
    return statement(session, member.account_id, limit=limit, before_version=before_version)


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValueError("must be a UUID") from None


def _member_uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return _uuid(value)
    except ValueError:
        raise UnknownMember("no such member", member_id=str(value)[:64]) from None


def _actor(value: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ACTOR:
        raise ValueError(f"1 to {MAX_ACTOR} characters")
    return value
