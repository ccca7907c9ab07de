"""Earning points (积分来源): activity categories, volunteer activities, attendance, contributions and their approval.

This is how points come into the world, so it is built to be hard to abuse:

- A **contribution** (volunteer hours, a cash donation, a goods donation) is recorded *pending*. Its points
  are computed when it is recorded, with the rate in force then, and both are stored. Pending points are not
  in the ledger, so they cannot be spent.
- A manager who did not record it approves it (`FourEyes` otherwise). Approval posts one ledger transfer
  (programme → member for hours, donation fund → donor for donations) whose id is derived from the
  contribution's (`transfer_id_for`), with ref `contribution:<id>`: a replayed or concurrent approval finds the
  contribution decided (`AlreadyDecided`), and even a posting repeated by a retry is a replay in the ledger.
  Rejection keeps the record with its reason. A decision is final: the database refuses to change a decided
  contribution or delete any (triggers in migration 0007).
- Volunteer time is limited per member: no overlapping time, at most 12 hours in a local day, and each
  contribution above 0 and at most 24 hours (`LimitExceeded`, details name the limit). Recording locks the
  member's row (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so two tablets at once
  cannot both squeeze under a limit.

Donors are members (`ledger.members`) or organisations (enterprises, merchants), which get a ledger account of
their own (kind `organisation`). Goods donations come here as plain lines with their prices: the stock side
is `inventory`'s, and the use case that does both is `pos.services.earning`.

Every function takes the caller's Session and never commits. Nothing here imports Flask, `pos` or
`inventory`. The public API:

- rates: `current_rates`, `set_rates` → `Rates`; categories: `load_categories`, `list_categories`,
  `find_category`, `set_category_rate`, `category_points_per_hour`
- organisations: `create_organisation`, `get_organisation`, `list_organisations`
- activities: `create_activity`, `get_activity`, `list_activities`, `check_in` → `CheckIn`, `check_out`
  → `CheckOut`, `attendance_of` → `AttendanceView`, `bulk_hours`
- contributions: `record_volunteer_hours`, `record_cash_donation`, `record_goods_donation` (with `GoodsLine`s),
  `approve_contribution`, `reject_contribution` → `Decision`, `get_contribution`, `contribution_view`,
  `list_contributions` → `ContributionView`, `pending_points`, `transfer_id_for`
- the public notice: `notice` → `NoticeEntry` (names masked)
- errors: `LimitExceeded`, `NotCheckedIn`, `OutBeforeIn`, `FourEyes`, `AlreadyDecided`, `NoPoints`,
  `BulkRefused`, `UnknownCategory`, `UnknownActivity`, `UnknownContribution`, `UnknownOrganisation`,
  `NameTaken`
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    and_,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.errors import DomainError, Forbidden, IdempotencyConflict, NotFound, ValidationFailed
from core.stores import Store
from ledger import rules
from ledger.accounts import donation_fund_account, open_account, programme_account
from ledger.members import Member, MemberCard, UnknownMember
from ledger.models import DONATION, ORGANISATION, VOLUNTEER_HOURS
from ledger.posting import NewTransfer, post
from ledger.rules import DAILY_CAP, MINUTES_RANGE, OVERLAP, Rate

DONATION_CASH = "donation_cash"
DONATION_GOODS = "donation_goods"
KINDS = (VOLUNTEER_HOURS, DONATION_CASH, DONATION_GOODS)
PENDING, POSTED, REJECTED = "pending", "posted", "rejected"
STATUSES = (PENDING, POSTED, REJECTED)

MAX_TITLE = 100
MAX_NOTE = 200
MAX_REASON = 200
MAX_ORG_NAME = 100
MAX_ACTOR = 64
MAX_AMOUNT_FEN = 100_000_000  # one million yuan: anything above is a typing slip, not a village donation
MAX_GOODS_LINES = 200
MAX_BULK = 200
# A tablet's clock may run a little ahead of the server's; a scan further in the future is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
# The namespace of the ledger transfer ids derived from contribution ids (fixed forever: changing it would let
# an old contribution post a second time).
TRANSFER_NAMESPACE = uuid.UUID("6f1c9a4e-2b7d-5c3e-9a10-43a7e0c0e0a6")


# ---------------------------------------------------------------------------------------------- errors


class LimitExceeded(DomainError):
    """A volunteer-time limit. Details: `limit` (overlap, daily_cap or minutes_range) and what it found."""

    code = "limit_exceeded"


class NotCheckedIn(DomainError):
    """A check-out for a member who is not checked in at this activity."""

    code = "not_checked_in"


class OutBeforeIn(DomainError):
    """A check-out time before the member's check-in time."""

    code = "out_before_in"


class FourEyes(DomainError):
    """The recorder of a contribution tried to approve it (HTTP 403 four_eyes)."""

    code = "four_eyes"


class AlreadyDecided(DomainError):
    """The contribution was approved or rejected already (HTTP 409). Details: status, decided_by,
    transfer_seq."""

    code = "already_decided"


class NoPoints(DomainError):
    """The contribution would earn 0 points (a few minutes, or less than a point's worth of money)."""

    code = "no_points"


class BulkRefused(DomainError):
    """A bulk entry refused as a whole. Details: `errors`, one per refused card (index, card_number, code,
    details)."""

    code = "bulk_refused"


class UnknownCategory(DomainError):
    code = "unknown_category"


class UnknownActivity(NotFound):
    pass


class UnknownContribution(NotFound):
    pass


class UnknownOrganisation(NotFound):
    pass


class NameTaken(DomainError):
    """Another organisation of this shop has this name (HTTP 409 conflict)."""

    code = "conflict"


# ---------------------------------------------------------------------------------------------- tables


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class EarningRates(Base):
    """The bureau's rates (one row; none means the defaults of DESIGN.md). A change applies to what is recorded
    after it: every contribution keeps the rate it was computed with."""

    __tablename__ = "earning_rates"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(f"points_per_hour > 0 AND points_per_hour <= {rules.MAX_POINTS_PER_HOUR}",
                        name="points_per_hour"),
        CheckConstraint("cash_points > 0 AND cash_per_fen > 0", name="cash_rate"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    points_per_hour: Mapped[int] = mapped_column(Integer)
    cash_points: Mapped[int] = mapped_column(Integer)
    cash_per_fen: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(MAX_ACTOR))


class ActivityCategory(Base):
    """A kind of volunteering (环境整治, 助老服务, ...). `points_per_hour` NULL means the bureau's default rate."""

    __tablename__ = "activity_categories"
    __table_args__ = (
        CheckConstraint(f"points_per_hour IS NULL OR (points_per_hour > 0 AND points_per_hour <= "
                        f"{rules.MAX_POINTS_PER_HOUR})", name="points_per_hour"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(80))
    points_per_hour: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(MAX_ACTOR), default="migration")


class Organisation(Base):
    """An enterprise, merchant or association that donates, with a points account of its own."""

    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the client's id
    name: Mapped[str] = mapped_column(String(MAX_ORG_NAME))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))  # (store_id, name) is unique, and indexed
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(MAX_ACTOR))


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_store_id_starts_at", "store_id", "starts_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the client's id
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    category_id: Mapped[int] = mapped_column(ForeignKey("activity_categories.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    organiser: Mapped[str] = mapped_column(String(MAX_ACTOR))  # the username who opened it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attendance(Base):
    """One stay of a member at an activity: checked in, and (later) checked out with the contribution it made.

    A member is checked in at most once at a time, anywhere (the partial unique index): being at two
    activities at once is overlapping time.
    """

    __tablename__ = "attendances"
    __table_args__ = (
        CheckConstraint("checked_out_at IS NULL OR checked_out_at >= checked_in_at", name="out_after_in"),
        CheckConstraint("(checked_out_at IS NULL) = (checked_out_by IS NULL)", name="checked_out_by"),
        Index("uq_attendances_open_member", "member_id", unique=True,
              sqlite_where=text("checked_out_at IS NULL"), postgresql_where=text("checked_out_at IS NULL")),
        Index("ix_attendances_member_id_checked_in_at", "member_id", "checked_in_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the check-in scan's client id
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id"), index=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_in_by: Mapped[str] = mapped_column(String(MAX_ACTOR))
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR))
    minutes: Mapped[int | None] = mapped_column(Integer)
    contribution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contributions.id"), unique=True)


class Contribution(Base):
    """Points earned by a member or an organisation, pending until a second person decides.

    The bureau's reports read this table: `kind`, `points`, `status`, `store_id`, `occurred_at` (when the work
    began or the donation was received), `transfer_seq` (the ledger transfer of a posted one).
    """

    __tablename__ = "contributions"
    __table_args__ = (
        CheckConstraint(_one_of("kind", KINDS), name="kind"),
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint("(member_id IS NULL) <> (organisation_id IS NULL)", name="one_donor"),
        CheckConstraint(f"kind <> 'volunteer_hours' OR (member_id IS NOT NULL AND minutes > 0 AND minutes <= "
                        f"{rules.MAX_MINUTES})", name="hours"),
        CheckConstraint("kind <> 'donation_cash' OR amount_fen > 0", name="cash"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("(started_at IS NULL) = (ended_at IS NULL)", name="timed"),
        CheckConstraint("started_at IS NULL OR ended_at > started_at", name="end_after_start"),
        CheckConstraint("(rate_points IS NULL) = (rate_per IS NULL)", name="rate"),
        CheckConstraint("(status = 'posted') = (transfer_seq IS NOT NULL)", name="posted_has_transfer"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided_at"),
        CheckConstraint("(decided_at IS NULL) = (decided_by IS NULL)", name="decided_by"),
        CheckConstraint("status <> 'rejected' OR reason IS NOT NULL", name="rejected_has_reason"),
        Index("ix_contributions_member_id_occurred_at", "member_id", "occurred_at"),
        Index("ix_contributions_store_id_status_recorded_at", "store_id", "status", "recorded_at"),
        Index("ix_contributions_store_id_occurred_at", "store_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # the client's id
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)  # started_at, or when it was recorded
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    # The rate used, stored: `rate_points` points per `rate_per` minutes (hours) or fen (cash); none for goods,
    # whose lines keep their unit prices.
    rate_points: Mapped[int | None] = mapped_column(Integer)
    rate_per: Mapped[int | None] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("activity_categories.id"))
    note: Mapped[str | None] = mapped_column(String(MAX_NOTE))
    recorded_by: Mapped[str] = mapped_column(String(MAX_ACTOR))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(MAX_ACTOR))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(MAX_REASON))
    transfer_seq: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_transfers.seq"), unique=True)


class ContributionLine(Base):
    """A line of a goods donation, as it was valued when recorded (a later price change does not touch it)."""

    __tablename__ = "contribution_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("points_price >= 0", name="price"),
    )

    contribution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contributions.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    barcode: Mapped[str] = mapped_column(String(14))
    name: Mapped[str] = mapped_column(String(100))
    qty: Mapped[int] = mapped_column(Integer)
    points_price: Mapped[int] = mapped_column(Integer)


# ---------------------------------------------------------------------------------------------- rates


@dataclass(frozen=True, slots=True)
class Rates:
    points_per_hour: int
    cash: Rate

    @property
    def cash_points_per_yuan(self) -> str:
        return rules.points_per_yuan_text(self.cash)


def current_rates(session: Session) -> Rates:
    row = session.get(EarningRates, 1)
    if row is None:
        return Rates(rules.DEFAULT_POINTS_PER_HOUR, rules.cash_rate(rules.DEFAULT_CASH_POINTS_PER_YUAN))
    return Rates(row.points_per_hour, Rate(row.cash_points, row.cash_per_fen))


def set_rates(session: Session, *, points_per_hour: int, cash_points_per_yuan: str, actor: str) -> Rates:
    """The bureau's new rates, for contributions recorded from now on."""
    problems: dict[str, str] = {}
    try:
        rules.hourly(points_per_hour)
    except ValueError as exc:
        problems["points_per_hour"] = str(exc)
    try:
        cash = rules.cash_rate(cash_points_per_yuan)
    except ValueError as exc:
        problems["cash_points_per_yuan"] = str(exc)
    if problems:
        raise ValidationFailed("invalid rates", **problems)
    row = session.get(EarningRates, 1, with_for_update=True)
    if row is None:
        row = EarningRates(id=1)
        session.add(row)
    row.points_per_hour, row.cash_points, row.cash_per_fen = points_per_hour, cash.points, cash.per
    row.updated_at, row.updated_by = utcnow(), _actor(actor)
    session.flush()
    return current_rates(session)


# ---------------------------------------------------------------------------------------------- categories


def load_categories(session: Session, rows: Iterable[Mapping[str, str]], *, actor: str = "demo") -> int:
    """Adds the categories of `rows` (name_zh, name_en, points_per_hour; as in activity_categories.csv) that
    do not exist yet, by Chinese name. Returns how many were added; existing ones are left as they are."""
    existing = set(session.scalars(select(ActivityCategory.name_zh)))
    added = 0
    for row in rows:
        name_zh = row["name_zh"].strip()
        if name_zh in existing:
            continue
        rate = (row.get("points_per_hour") or "").strip()
        session.add(ActivityCategory(name_zh=name_zh, name_en=row["name_en"].strip(),
                                     points_per_hour=int(rate) if rate else None, active=True,
                                     updated_at=utcnow(), updated_by=actor))
        existing.add(name_zh)
        added += 1
    session.flush()
    return added


def list_categories(session: Session, *, include_inactive: bool = False) -> list[ActivityCategory]:
    query = select(ActivityCategory).order_by(ActivityCategory.id)
    if not include_inactive:
        query = query.where(ActivityCategory.active)
    return list(session.scalars(query))


def find_category(session: Session, ref: int | str) -> ActivityCategory:
    """A category by id, or by its Chinese or English name (as a coordinator picks or types it)."""
    category: ActivityCategory | None
    if isinstance(ref, int) and not isinstance(ref, bool):
        category = session.get(ActivityCategory, ref)
    else:
        name = unicodedata.normalize("NFKC", str(ref)).strip()
        category = session.scalars(select(ActivityCategory).where(or_(
            ActivityCategory.name_zh == name, func.lower(ActivityCategory.name_en) == name.lower()))).first()
    if category is None or not category.active:
        raise UnknownCategory("no such activity category", category=str(ref)[:80])
    return category


def set_category_rate(session: Session, category_id: int, points_per_hour: int | None, actor: str
                      ) -> ActivityCategory:
    """A category's own rate (None: the bureau's default), for contributions recorded from now on."""
    if points_per_hour is not None:
        try:
            rules.hourly(points_per_hour)
        except ValueError as exc:
            raise ValidationFailed("invalid rate", points_per_hour=str(exc)) from None
    category = session.get(ActivityCategory, category_id, with_for_update=True)
    if category is None:
        raise UnknownCategory("no such activity category", category=str(category_id))
    category.points_per_hour, category.updated_at, category.updated_by = points_per_hour, utcnow(), _actor(actor)
    session.flush()
    return category


def category_points_per_hour(session: Session, category: ActivityCategory | None) -> int:
    if category is not None and category.points_per_hour is not None:
        return category.points_per_hour
    return current_rates(session).points_per_hour


# ---------------------------------------------------------------------------------------------- organisations


def create_organisation(session: Session, id: uuid.UUID | str, name: str, store_id: int, actor: str
                        ) -> Organisation:
    """An organisation donor of a shop, with its own points account (kind `organisation`)."""
    org_id = _uuid_field("id", id)
    clean = _text_field("name", name, MAX_ORG_NAME)
    existing = session.get(Organisation, org_id)
    if existing is not None:
        if (existing.name, existing.store_id) != (clean, store_id):
            raise IdempotencyConflict("an organisation with this id exists with other facts", id=str(org_id))
        return existing
    if session.get(Store, store_id) is None:
        raise NotFound("store not found", store_id=store_id)
    if session.scalar(select(Organisation.id).where(Organisation.store_id == store_id,
                                                    Organisation.name == clean)) is not None:
        raise NameTaken("an organisation of this shop has this name", name=clean)
    account = open_account(session, ORGANISATION, str(org_id), store_id)
    org = Organisation(id=org_id, name=clean, store_id=store_id, account_id=account.id, created_at=utcnow(),
                       created_by=_actor(actor))
    session.add(org)
    session.flush()
    return org


def get_organisation(session: Session, organisation_id: uuid.UUID | str) -> Organisation:
    org = session.get(Organisation, _uuid_or(organisation_id, UnknownOrganisation))
    if org is None:
        raise UnknownOrganisation("no such organisation", organisation_id=str(organisation_id)[:64])
    return org


def list_organisations(session: Session, store_id: int | None) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.store_id, Organisation.name)
    if store_id is not None:
        query = query.where(Organisation.store_id == store_id)
    return list(session.scalars(query))


# ---------------------------------------------------------------------------------------------- activities


def create_activity(session: Session, id: uuid.UUID | str, title: str, category_id: int, store_id: int,
                    starts_at: datetime, organiser: str) -> Activity:
    activity_id = _uuid_field("id", id)
    clean = _text_field("title", title, MAX_TITLE)
    _aware("starts_at", starts_at)
    existing = session.get(Activity, activity_id)
    if existing is not None:
        if (existing.title, existing.category_id, existing.store_id, existing.starts_at) != (
                clean, category_id, store_id, starts_at):
            raise IdempotencyConflict("an activity with this id exists with other facts", id=str(activity_id))
        return existing
    if session.get(ActivityCategory, category_id) is None:
        raise UnknownCategory("no such activity category", category=str(category_id))
    activity = Activity(id=activity_id, title=clean, category_id=category_id, store_id=store_id,
                        starts_at=starts_at, organiser=_actor(organiser), created_at=utcnow())
    session.add(activity)
    session.flush()
    return activity


def get_activity(session: Session, activity_id: uuid.UUID | str) -> Activity:
    activity = session.get(Activity, _uuid_or(activity_id, UnknownActivity))
    if activity is None:
        raise UnknownActivity("no such activity", activity_id=str(activity_id)[:64])
    return activity


def list_activities(session: Session, store_id: int | None, *, since: datetime | None = None,
                    until: datetime | None = None, limit: int = 100) -> list[Activity]:
    """A shop's activities (None: every shop), the latest first."""
    query = select(Activity)
    if store_id is not None:
        query = query.where(Activity.store_id == store_id)
    if since is not None:
        query = query.where(Activity.starts_at >= since)
    if until is not None:
        query = query.where(Activity.starts_at < until)
    return list(session.scalars(query.order_by(Activity.starts_at.desc(), Activity.id).limit(limit)))


@dataclass(frozen=True, slots=True)
class CheckIn:
    attendance: Attendance
    already_in: bool  # the member was checked in here already: this scan changed nothing


@dataclass(frozen=True, slots=True)
class CheckOut:
    attendance: Attendance
    minutes: int
    contribution: Contribution | None  # None when the stay earned 0 points (a few minutes)


def check_in(session: Session, *, attendance_id: uuid.UUID | str, activity_id: uuid.UUID | str,
             member_id: uuid.UUID, at: datetime, actor: str, now: datetime | None = None) -> CheckIn:
    """签到. A second check-in while checked in here answers the first one (`already_in`); a member checked in
    at another activity, or whose recorded volunteer time covers `at`, is refused (limit overlap)."""
    now = now or utcnow()
    _not_in_future("at", at, now)
    record_id = _uuid_field("id", attendance_id)
    activity = get_activity(session, activity_id)
    member = _lock_member(session, member_id)
    if member.store_id != activity.store_id:
        raise Forbidden("another shop's member", reason="other_store")
    existing = session.get(Attendance, record_id)
    if existing is not None:
        if (existing.activity_id, existing.member_id, existing.checked_in_at) != (activity.id, member.id, at):
            raise IdempotencyConflict("an attendance with this id exists with other facts", id=str(record_id))
        return CheckIn(existing, already_in=existing.checked_out_at is None)
    open_stay = _open_attendance(session, member.id)
    if open_stay is not None:
        if open_stay.activity_id == activity.id:
            return CheckIn(open_stay, already_in=True)
        raise LimitExceeded("checked in at another activity", limit=OVERLAP, activity_id=str(open_stay.activity_id),
                            checked_in_at=open_stay.checked_in_at.isoformat())
    covering = session.scalars(
        select(Contribution).where(_counts_for_limits(member.id), Contribution.started_at <= at,
                                   Contribution.ended_at > at).limit(1)
    ).first()
    if covering is not None:
        raise _overlap_error(covering)
    attendance = Attendance(id=record_id, activity_id=activity.id, member_id=member.id, checked_in_at=at,
                            checked_in_by=_actor(actor))
    session.add(attendance)
    session.flush()
    return CheckIn(attendance, already_in=False)


def check_out(session: Session, *, contribution_id: uuid.UUID | str, activity_id: uuid.UUID | str,
              member_id: uuid.UUID, at: datetime, actor: str, note: str | None = None,
              now: datetime | None = None) -> CheckOut:
    """签退: closes the member's stay here and records its minutes as a pending volunteer_hours contribution
    (id `contribution_id`). Refused, leaving the member checked in: no check-in here (`NotCheckedIn`), `at`
    before the check-in (`OutBeforeIn`), 0 minutes or more than a day (limit minutes_range), overlapping
    time or the daily cap. A stay of a few minutes that earns 0 points is closed with no contribution."""
    now = now or utcnow()
    _not_in_future("at", at, now)
    record_id = _uuid_field("id", contribution_id)
    activity = get_activity(session, activity_id)
    member = _lock_member(session, member_id)
    if member.store_id != activity.store_id:
        raise Forbidden("another shop's member", reason="other_store")
    stay = _open_attendance(session, member.id)
    if stay is None or stay.activity_id != activity.id:
        details: dict[str, Any] = {"activity_id": str(activity.id)}
        if stay is not None:
            details["checked_in_elsewhere"] = str(stay.activity_id)
        raise NotCheckedIn("not checked in at this activity", **details)
    if at < stay.checked_in_at:
        raise OutBeforeIn("the check-out time is before the check-in", checked_in_at=stay.checked_in_at.isoformat(),
                          at=at.isoformat())
    minutes = rules.minutes_between(stay.checked_in_at, at)
    _require_minutes(minutes)
    category = session.get(ActivityCategory, activity.category_id)
    rate = rules.hourly(category_points_per_hour(session, category))
    contribution = None
    if rate.apply(minutes) > 0:
        contribution = _record_hours(
            session, record_id, member, minutes, actor, started_at=stay.checked_in_at, ended_at=at, rate=rate,
            activity=activity, category_id=activity.category_id, note=note, now=now, exclude_attendance=stay.id)
    stay.checked_out_at, stay.checked_out_by, stay.minutes = at, _actor(actor), minutes
    stay.contribution_id = contribution.id if contribution is not None else None
    session.flush()
    return CheckOut(stay, minutes, contribution)


@dataclass(frozen=True, slots=True)
class AttendanceView:
    attendance_id: uuid.UUID
    member_id: uuid.UUID
    name: str
    card_number: str | None
    checked_in_at: datetime
    checked_out_at: datetime | None
    minutes: int  # so far, for someone still present
    present: bool
    contribution_id: uuid.UUID | None
    points: int | None
    status: str | None


def attendance_of(session: Session, activity_id: uuid.UUID | str, *, now: datetime | None = None
                  ) -> list[AttendanceView]:
    """Who came to an activity: those present first (with their minutes so far), then by check-in time."""
    activity = get_activity(session, activity_id)
    now = now or utcnow()
    rows = session.execute(
        select(Attendance, Member.name, MemberCard.card_number, Contribution.points, Contribution.status)
        .join(Member, Member.id == Attendance.member_id)
        .outerjoin(MemberCard, and_(MemberCard.member_id == Member.id, MemberCard.status == "active"))
        .outerjoin(Contribution, Contribution.id == Attendance.contribution_id)
        .where(Attendance.activity_id == activity.id)
        .order_by(Attendance.checked_out_at.is_not(None), Attendance.checked_in_at, Attendance.id)
    )
    views = []
    for stay, name, card, points, status in rows:
        present = stay.checked_out_at is None
        minutes = max(0, rules.minutes_between(stay.checked_in_at, now)) if present else (stay.minutes or 0)
        views.append(AttendanceView(stay.id, stay.member_id, name, card, stay.checked_in_at, stay.checked_out_at,
                                    minutes, present, stay.contribution_id, points, status))
    return views


def bulk_hours(session: Session, *, bulk_id: uuid.UUID | str, activity_id: uuid.UUID | str,
               member_ids: Sequence[tuple[str, uuid.UUID | DomainError]], minutes: int, actor: str,
               started_at: datetime | None = None, note: str | None = None, now: datetime | None = None
               ) -> list[Contribution]:
    """Many members with the same minutes at one activity (the time-bank way of entering a sheet): all or
    nothing. `member_ids` pairs each card as scanned with its member (or the error resolving it gave). Each
    contribution's id is derived from the bulk id and the member, so a replay records nobody twice. Any
    refusal refuses the whole entry with `BulkRefused`, listing every refused card."""
    bulk = _uuid_field("id", bulk_id)
    activity = get_activity(session, activity_id)
    if not member_ids:
        raise ValidationFailed("no cards", card_numbers="at least one card")
    if len(member_ids) > MAX_BULK:
        raise ValidationFailed("too many cards", card_numbers=f"at most {MAX_BULK}")
    errors: list[dict[str, Any]] = []
    made: list[Contribution] = []
    seen: dict[uuid.UUID, int] = {}
    for index, (card, member_or_error) in enumerate(member_ids):
        if isinstance(member_or_error, DomainError):
            errors.append(_bulk_error(index, card, member_or_error))
            continue
        if member_or_error in seen:
            errors.append({"index": index, "card_number": card, "code": "duplicate_card",
                           "details": {"same_member_as_index": seen[member_or_error]}})
            continue
        seen[member_or_error] = index
        try:
            made.append(record_volunteer_hours(
                session, id=uuid.uuid5(bulk, str(member_or_error)), member_id=member_or_error, minutes=minutes,
                actor=actor, store_id=activity.store_id, activity_id=activity.id, started_at=started_at,
                note=note, now=now))
        except DomainError as exc:
            errors.append(_bulk_error(index, card, exc))
    if errors:
        raise BulkRefused("some cards were refused; nothing was recorded", errors=errors)
    return made


def _bulk_error(index: int, card: str, exc: DomainError) -> dict[str, Any]:
    details = {k: (v if isinstance(v, (str, int, float, bool, type(None))) else str(v))
               for k, v in exc.details.items()}
    return {"index": index, "card_number": card, "code": exc.code, "details": details}


# ---------------------------------------------------------------------------------------------- contributions


@dataclass(frozen=True, slots=True)
class GoodsLine:
    """A donated product as valued when it arrived: its current points price × qty."""

    barcode: str
    name: str
    qty: int
    points_price: int

    @property
    def points(self) -> int:
        return self.qty * self.points_price


@dataclass(frozen=True, slots=True)
class Donor:
    """Who gives: a member or an organisation (exactly one)."""

    member_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if (self.member_id is None) == (self.organisation_id is None):
            raise ValidationFailed("a donor is a member or an organisation", donor="exactly one of the two")


def record_volunteer_hours(session: Session, *, id: uuid.UUID | str, member_id: uuid.UUID, minutes: int,
                           actor: str, store_id: int | None = None, started_at: datetime | None = None,
                           activity_id: uuid.UUID | str | None = None, category_id: int | None = None,
                           note: str | None = None, now: datetime | None = None) -> Contribution:
    """Hours entered by hand (from a paper sheet) or in bulk. The rate is the activity's category's, else
    `category_id`'s, else the bureau's default. Without `started_at`, the activity's start time is used; hours
    with neither are untimed (no overlap check possible) and count towards the day they are recorded.

    `store_id`, when given, is the recorder's shop: a member of another shop is refused (Forbidden).
    """
    now = now or utcnow()
    record_id = _uuid_field("id", id)
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise ValidationFailed("invalid minutes", minutes="a whole number")
    member = _lock_member(session, member_id)
    if store_id is not None and member.store_id != store_id:
        raise Forbidden("another shop's member", reason="other_store")
    activity = get_activity(session, activity_id) if activity_id is not None else None
    if activity is not None and activity.store_id != member.store_id:
        raise Forbidden("another shop's activity", activity_id=str(activity.id))
    if activity is not None:
        category_id = activity.category_id
    category = None
    if category_id is not None:
        category = session.get(ActivityCategory, category_id)
        if category is None:
            raise UnknownCategory("no such activity category", category=str(category_id))
    if started_at is None and activity is not None:
        started_at = activity.starts_at
    if started_at is not None:
        _aware("started_at", started_at)
        _not_in_future("started_at", started_at, now)
    _require_minutes(minutes)
    ended_at = started_at + timedelta(minutes=minutes) if started_at is not None else None
    rate = rules.hourly(category_points_per_hour(session, category))
    return _record_hours(session, record_id, member, minutes, actor, started_at=started_at, ended_at=ended_at,
                         rate=rate, activity=activity, category_id=category_id, note=note, now=now)


def record_cash_donation(session: Session, *, id: uuid.UUID | str, donor: Donor, amount_fen: int, actor: str,
                         store_id: int | None = None, note: str | None = None, now: datetime | None = None
                         ) -> Contribution:
    """A cash donation in fen, earning points at the bureau's cash rate (stored on the contribution)."""
    record_id = _uuid_field("id", id)
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise ValidationFailed("invalid amount", amount_fen=f"a whole number of fen, 1 to {MAX_AMOUNT_FEN}")
    rate = current_rates(session).cash
    points = rules.cash_points(amount_fen, rate)
    home = _donor_store(session, donor)
    if store_id is not None and home != store_id:
        raise Forbidden("another shop's donor", reason="other_store")
    if points <= 0:
        raise NoPoints("the donation is worth less than one point", amount_fen=amount_fen,
                       points_per_yuan=rules.points_per_yuan_text(rate))
    fields = dict(kind=DONATION_CASH, store_id=home, member_id=donor.member_id,
                  organisation_id=donor.organisation_id, minutes=None, started_at=None, ended_at=None,
                  amount_fen=amount_fen, rate_points=rate.points, rate_per=rate.per, points=points,
                  activity_id=None, category_id=None)
    return _insert(session, record_id, fields, actor, note, now or utcnow())


def record_goods_donation(session: Session, *, id: uuid.UUID | str, donor: Donor, lines: Sequence[GoodsLine],
                          actor: str, store_id: int | None = None, note: str | None = None,
                          now: datetime | None = None) -> Contribution:
    """A goods donation's points: the sum of its lines' value (the caller has put the goods into stock)."""
    record_id = _uuid_field("id", id)
    if not lines:
        raise ValidationFailed("no lines", lines="at least one line")
    if len(lines) > MAX_GOODS_LINES:
        raise ValidationFailed("too many lines", lines=f"at most {MAX_GOODS_LINES}")
    points = rules.goods_points((line.qty, line.points_price) for line in lines)
    home = _donor_store(session, donor)
    if store_id is not None and home != store_id:
        raise Forbidden("another shop's donor", reason="other_store")
    if points <= 0:
        raise NoPoints("the goods are worth no points", lines=len(lines))
    fields = dict(kind=DONATION_GOODS, store_id=home, member_id=donor.member_id,
                  organisation_id=donor.organisation_id, minutes=None, started_at=None, ended_at=None,
                  amount_fen=None, rate_points=None, rate_per=None, points=points, activity_id=None,
                  category_id=None)
    contribution = _insert(session, record_id, fields, actor, note, now or utcnow())
    if not session.scalar(select(func.count()).select_from(ContributionLine)
                          .where(ContributionLine.contribution_id == contribution.id)):
        session.add_all(ContributionLine(contribution_id=contribution.id, line_no=n, barcode=line.barcode,
                                         name=line.name, qty=line.qty, points_price=line.points_price)
                        for n, line in enumerate(lines, start=1))
        session.flush()
    return contribution


def transfer_id_for(contribution_id: uuid.UUID) -> uuid.UUID:
    """The ledger transfer id of a contribution's approval: one contribution, one transfer, ever."""
    return uuid.uuid5(TRANSFER_NAMESPACE, f"contribution:{contribution_id}")


@dataclass(frozen=True, slots=True)
class Decision:
    contribution_id: uuid.UUID
    status: str
    points: int
    transfer_seq: int | None
    decided_by: str
    decided_at: datetime
    balance_after: int | None = None  # the donor's balance after the transfer (approval only)


def approve_contribution(session: Session, contribution_id: uuid.UUID | str, actor: str, *,
                         store_id: int | None = None) -> Decision:
    """审核通过: posts the contribution's points to the donor, once. `actor` must not be its recorder
    (`FourEyes`); `store_id`, when given, is the approver's shop (another shop's contribution is Forbidden)."""
    contribution = _decidable(session, contribution_id, store_id)
    if contribution.recorded_by == actor:
        raise FourEyes("the recorder cannot approve their own record", recorded_by=contribution.recorded_by)
    if contribution.member_id is not None:
        account_id = session.scalars(select(Member.account_id).where(Member.id == contribution.member_id)).one()
    else:
        account_id = get_organisation(session, contribution.organisation_id).account_id  # type: ignore[arg-type]
    hours = contribution.kind == VOLUNTEER_HOURS
    source = programme_account(session) if hours else donation_fund_account(session)
    posted = post(session, NewTransfer(
        id=transfer_id_for(contribution.id), debit=source.id, credit=account_id, amount=contribution.points,
        code=VOLUNTEER_HOURS if hours else DONATION, ref=f"contribution:{contribution.id}", actor=_actor(actor),
        store_id=contribution.store_id))
    contribution.status, contribution.transfer_seq = POSTED, posted.seq
    contribution.decided_by, contribution.decided_at = actor, utcnow()
    session.flush()
    return Decision(contribution.id, POSTED, contribution.points, posted.seq, actor, contribution.decided_at,
                    posted.balance_after(account_id))


def reject_contribution(session: Session, contribution_id: uuid.UUID | str, actor: str, reason: str, *,
                        store_id: int | None = None) -> Decision:
    """审核不通过: the record stays, with its reason, and posts nothing. The recorder may reject (withdraw)
    their own record. A goods donation's goods stay in stock: they arrived (correct stock with an adjustment)."""
    clean_reason = _text_field("reason", reason, MAX_REASON)
    contribution = _decidable(session, contribution_id, store_id)
    contribution.status, contribution.reason = REJECTED, clean_reason
    contribution.decided_by, contribution.decided_at = _actor(actor), utcnow()
    session.flush()
    return Decision(contribution.id, REJECTED, contribution.points, None, actor, contribution.decided_at)


def get_contribution(session: Session, contribution_id: uuid.UUID | str) -> Contribution:
    contribution = session.get(Contribution, _uuid_or(contribution_id, UnknownContribution))
    if contribution is None:
        raise UnknownContribution("no such contribution", contribution_id=str(contribution_id)[:64])
    return contribution


def pending_points(session: Session, member_id: uuid.UUID) -> int:
    """Points recorded for a member and awaiting approval (shown at the counter, not spendable)."""
    return int(session.scalar(select(func.coalesce(func.sum(Contribution.points), 0))
                              .where(Contribution.member_id == member_id, Contribution.status == PENDING)) or 0)


@dataclass(frozen=True)
class ContributionView:
    """A contribution with the names a list or a receipt shows."""

    id: uuid.UUID
    kind: str
    status: str
    store_id: int
    store_code: str
    store_name: str
    donor_type: str  # member or organisation
    donor_id: uuid.UUID
    donor_name: str
    card_number: str | None
    minutes: int | None
    started_at: datetime | None
    ended_at: datetime | None
    occurred_at: datetime
    amount_fen: int | None
    rate: Rate | None
    points: int
    activity_id: uuid.UUID | None
    activity_title: str | None
    category_zh: str | None
    category_en: str | None
    note: str | None
    recorded_by: str
    recorded_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    transfer_seq: int | None
    lines: list[GoodsLine] = field(default_factory=list)


def _view_select() -> Any:
    return (
        select(Contribution, Store.code, Store.name, Member.name, Organisation.name, MemberCard.card_number,
               Activity.title, ActivityCategory.name_zh, ActivityCategory.name_en)
        .join(Store, Store.id == Contribution.store_id)
        .outerjoin(Member, Member.id == Contribution.member_id)
        .outerjoin(MemberCard, and_(MemberCard.member_id == Contribution.member_id, MemberCard.status == "active"))
        .outerjoin(Organisation, Organisation.id == Contribution.organisation_id)
        .outerjoin(Activity, Activity.id == Contribution.activity_id)
        .outerjoin(ActivityCategory, ActivityCategory.id == Contribution.category_id)
    )


def _views(session: Session, rows: Iterable[Any]) -> list[ContributionView]:
    rows = list(rows)
    goods = [row[0].id for row in rows if row[0].kind == DONATION_GOODS]
    lines: dict[uuid.UUID, list[GoodsLine]] = {}
    if goods:
        for line in session.scalars(select(ContributionLine).where(ContributionLine.contribution_id.in_(goods))
                                    .order_by(ContributionLine.contribution_id, ContributionLine.line_no)):
            lines.setdefault(line.contribution_id, []).append(
                GoodsLine(line.barcode, line.name, line.qty, line.points_price))
    views = []
    for c, store_code, store_name, member_name, org_name, card, title, cat_zh, cat_en in rows:
        is_member = c.member_id is not None
        views.append(ContributionView(
            c.id, c.kind, c.status, c.store_id, store_code, store_name, "member" if is_member else "organisation",
            c.member_id if is_member else c.organisation_id, member_name if is_member else org_name,
            card if is_member else None, c.minutes, c.started_at, c.ended_at, c.occurred_at, c.amount_fen,
            Rate(c.rate_points, c.rate_per) if c.rate_points is not None else None, c.points, c.activity_id,
            title, cat_zh, cat_en, c.note, c.recorded_by, c.recorded_at, c.decided_by, c.decided_at, c.reason,
            c.transfer_seq, lines.get(c.id, [])))
    return views


def contribution_view(session: Session, contribution_id: uuid.UUID | str) -> ContributionView:
    row = session.execute(_view_select().where(
        Contribution.id == _uuid_or(contribution_id, UnknownContribution))).one_or_none()
    if row is None:
        raise UnknownContribution("no such contribution", contribution_id=str(contribution_id)[:64])
    return _views(session, [row])[0]


def list_contributions(session: Session, store_id: int | None, *, status: str | None = None,
                       kind: str | None = None, limit: int = 100, offset: int = 0) -> list[ContributionView]:
    """A shop's contributions (None: every shop), the oldest pending first when listing pending ones (the
    approval queue), otherwise the most recently recorded first."""
    query = _view_select()
    if store_id is not None:
        query = query.where(Contribution.store_id == store_id)
    if status is not None:
        query = query.where(Contribution.status == status)
    if kind is not None:
        query = query.where(Contribution.kind == kind)
    order = (Contribution.recorded_at, Contribution.id) if status == PENDING else (
        Contribution.recorded_at.desc(), Contribution.id)
    return _views(session, session.execute(query.order_by(*order).limit(limit).offset(offset)))


# ---------------------------------------------------------------------------------------------- public notice


@dataclass(frozen=True, slots=True)
class NoticeEntry:
    """One line of the public notice (公示). `name` is already masked for a member (王*英); an organisation's
    name is shown whole: it is a business, not a person, and is publicly thanked."""

    day: date
    name: str
    donor_type: str
    kind: str
    points: int
    minutes: int | None
    amount_fen: int | None
    category_zh: str | None
    category_en: str | None
    activity_title: str | None
    goods: list[tuple[str, int]]  # (product name, qty)


def notice(session: Session, store_id: int, first_day: date, last_day: date,
           zone: str = rules.SHOP_TIME_ZONE) -> list[NoticeEntry]:
    """The approved contributions of a shop whose work or donation falls within [first_day, last_day] (local
    days), oldest first. Pending and rejected ones are not on it: the notice shows points actually earned."""
    since, _ = rules.day_bounds(first_day, zone)
    _, until = rules.day_bounds(last_day, zone)
    views = _views(session, session.execute(
        _view_select().where(Contribution.store_id == store_id, Contribution.status == POSTED,
                             Contribution.occurred_at >= since, Contribution.occurred_at < until)
        .order_by(Contribution.occurred_at, Contribution.id)))
    return [NoticeEntry(rules.local_day(v.occurred_at, zone),
                        rules.mask_name(v.donor_name) if v.donor_type == "member" else v.donor_name,
                        v.donor_type, v.kind, v.points, v.minutes, v.amount_fen, v.category_zh, v.category_en,
                        v.activity_title, [(line.name, line.qty) for line in v.lines])
            for v in views]


# ---------------------------------------------------------------------------------------------- inside


def _counts_for_limits(member_id: uuid.UUID) -> Any:
    """Volunteer time that counts against a member's limits: everything not rejected."""
    return and_(Contribution.member_id == member_id, Contribution.kind == VOLUNTEER_HOURS,
                Contribution.status != REJECTED)


def _record_hours(session: Session, record_id: uuid.UUID, member: Member, minutes: int, actor: str, *,
                  started_at: datetime | None, ended_at: datetime | None, rate: Rate, activity: Activity | None,
                  category_id: int | None, note: str | None, now: datetime,
                  exclude_attendance: uuid.UUID | None = None) -> Contribution:
    points = rate.apply(minutes)
    fields = dict(kind=VOLUNTEER_HOURS, store_id=member.store_id, member_id=member.id, organisation_id=None,
                  minutes=minutes, started_at=started_at, ended_at=ended_at, amount_fen=None,
                  rate_points=rate.points, rate_per=rate.per, points=points,
                  activity_id=activity.id if activity is not None else None, category_id=category_id)
    replay = _same_or_conflict(session, record_id, fields)
    if replay is not None:
        return replay
    if points <= 0:
        raise NoPoints("too few minutes to earn a point", minutes=minutes, points_per_hour=rate.points)
    _check_time_limits(session, member.id, minutes, started_at, ended_at, now, exclude_attendance)
    return _insert(session, record_id, fields, actor, note, now)


def _check_time_limits(session: Session, member_id: uuid.UUID, minutes: int, started_at: datetime | None,
                       ended_at: datetime | None, now: datetime, exclude_attendance: uuid.UUID | None) -> None:
    if started_at is not None and ended_at is not None:
        clash = session.scalars(
            select(Contribution).where(_counts_for_limits(member_id), Contribution.started_at < ended_at,
                                       Contribution.ended_at > started_at)
            .order_by(Contribution.started_at).limit(1)
        ).first()
        if clash is not None:
            raise _overlap_error(clash)
        # Still checked in somewhere since before this time ends: those hours will be credited at check-out.
        open_stay = _open_attendance(session, member_id)
        if open_stay is not None and open_stay.id != exclude_attendance and open_stay.checked_in_at < ended_at:
            raise LimitExceeded("the member is checked in at an activity during this time", limit=OVERLAP,
                                activity_id=str(open_stay.activity_id),
                                checked_in_at=open_stay.checked_in_at.isoformat())
        credited = rules.seconds_by_day(started_at, started_at + timedelta(minutes=minutes))
    else:
        credited = {rules.local_day(now): minutes * 60}
    cap = rules.DAILY_CAP_MINUTES * 60
    for day, seconds in sorted(credited.items()):
        since, until = rules.day_bounds(day)
        recorded = 0
        # Any contribution touching this day began at most a day (the longest there is) before it.
        for c_start, c_minutes, occurred in session.execute(
                select(Contribution.started_at, Contribution.minutes, Contribution.occurred_at)
                .where(_counts_for_limits(member_id), Contribution.occurred_at >= since - timedelta(days=1),
                       Contribution.occurred_at < until)):
            if c_start is None:
                recorded += c_minutes * 60 if since <= occurred < until else 0
            else:
                recorded += rules.seconds_by_day(c_start, c_start + timedelta(minutes=c_minutes)).get(day, 0)
        if recorded + seconds > cap:
            raise LimitExceeded("more than the daily cap of volunteer time", limit=DAILY_CAP, day=day.isoformat(),
                                cap_minutes=rules.DAILY_CAP_MINUTES, recorded_minutes=recorded // 60,
                                minutes=-(-seconds // 60))


def _overlap_error(clash: Contribution) -> LimitExceeded:
    return LimitExceeded("overlaps time already recorded for this member", limit=OVERLAP,
                         contribution_id=str(clash.id),
                         started_at=clash.started_at.isoformat() if clash.started_at else None,
                         ended_at=clash.ended_at.isoformat() if clash.ended_at else None)


def _require_minutes(minutes: int) -> None:
    if not rules.minutes_in_range(minutes):
        raise LimitExceeded("minutes must be above 0 and at most a day", limit=MINUTES_RANGE, minutes=minutes,
                            min_minutes=1, max_minutes=rules.MAX_MINUTES)


def _same_or_conflict(session: Session, record_id: uuid.UUID, fields: Mapping[str, Any]) -> Contribution | None:
    """A contribution recorded under this id before: the same one (a retry) is answered again, another is a 409."""
    existing = session.get(Contribution, record_id)
    if existing is None:
        return None
    if any(getattr(existing, name) != value for name, value in fields.items()):
        raise IdempotencyConflict("a contribution with this id exists with other facts", id=str(record_id))
    return existing


def _insert(session: Session, record_id: uuid.UUID, fields: Mapping[str, Any], actor: str, note: str | None,
            now: datetime) -> Contribution:
    replay = _same_or_conflict(session, record_id, fields)
    if replay is not None:
        return replay
    clean_note = _text_field("note", note, MAX_NOTE) if note else None
    contribution = Contribution(id=record_id, **fields, occurred_at=fields["started_at"] or now, note=clean_note,
                                status=PENDING, recorded_by=_actor(actor), recorded_at=now)
    session.add(contribution)
    session.flush()
    return contribution


def _decidable(session: Session, contribution_id: uuid.UUID | str, store_id: int | None) -> Contribution:
    """The contribution, locked (a concurrent decision waits, then finds it decided), still pending."""
    contribution = session.scalars(
        select(Contribution).where(Contribution.id == _uuid_or(contribution_id, UnknownContribution))
        .with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if contribution is None:
        raise UnknownContribution("no such contribution", contribution_id=str(contribution_id)[:64])
    if store_id is not None and contribution.store_id != store_id:
        raise Forbidden("another shop's contribution", store_id=contribution.store_id)
    if contribution.status != PENDING:
        raise AlreadyDecided("this contribution was decided already", status=contribution.status,
                             decided_by=contribution.decided_by, transfer_seq=contribution.transfer_seq)
    return contribution


def _donor_store(session: Session, donor: Donor) -> int:
    if donor.member_id is not None:
        member = session.get(Member, donor.member_id)
        if member is None:
            raise UnknownMember("no such member", member_id=str(donor.member_id))
        return member.store_id
    return get_organisation(session, donor.organisation_id).store_id  # type: ignore[arg-type]


def _lock_member(session: Session, member_id: uuid.UUID) -> Member:
    """The member's row, locked until the transaction ends: their limits are checked one recording at a time."""
    member = session.scalars(select(Member).where(Member.id == member_id).with_for_update()
                             .execution_options(populate_existing=True)).one_or_none()
    if member is None:
        raise UnknownMember("no such member", member_id=str(member_id))
    return member


def _open_attendance(session: Session, member_id: uuid.UUID) -> Attendance | None:
    return session.scalars(select(Attendance).where(Attendance.member_id == member_id,
                                                    Attendance.checked_out_at.is_(None))
                           .execution_options(populate_existing=True)).one_or_none()


def _not_in_future(name: str, moment: datetime, now: datetime) -> None:
    _aware(name, moment)
    if moment > now + CLOCK_SKEW:
        raise ValidationFailed("a time in the future", **{name: "must not be in the future"})


def _aware(name: str, moment: datetime) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValidationFailed("a time without its offset", **{name: "a time with its UTC offset"})


def _text_field(name: str, value: str | None, limit: int) -> str:
    clean = unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else ""
    if not clean:
        raise ValidationFailed(f"invalid {name}", **{name: "must not be blank"})
    if len(clean) > limit:
        raise ValidationFailed(f"invalid {name}", **{name: f"at most {limit} characters"})
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in clean):
        raise ValidationFailed(f"invalid {name}", **{name: "must not contain control characters"})
    return clean


def _actor(value: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ACTOR:
        raise ValidationFailed("invalid actor", actor=f"1 to {MAX_ACTOR} characters")
    return value


def _uuid_field(name: str, value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed("not a UUID", **{name: "must be a UUID"}) from None


def _uuid_or(value: uuid.UUID | str | None, missing: type[NotFound]) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise missing("not found", id=str(value)[:64]) from None

