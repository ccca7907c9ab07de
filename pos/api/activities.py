"""Volunteer activities: categories, opening an activity, scanning members in and out, bulk entry, who is there.

A coordinator or manager works in their own shop only: another shop's activity or member is 403. The bureau
(auditor, admin) reads every shop. Each creating POST is exactly-once by its client `id`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app
from pydantic import AwareDatetime, Field, StrictInt
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import DomainError, Forbidden, ValidationFailed
from core.stores import Store, get_store_by_code
from ledger import earning
from ledger.earning import Activity, ActivityCategory, AttendanceView, BulkRefused
from ledger.members import resolve_card
from pos import db
from pos.api.common import Schema, endpoint
from pos.auth import Principal, current_principal
from pos.errors import request_language
from pos.i18n import translate
from pos.idempotency import create_once

bp = Blueprint("activities", __name__)

RECORDERS = ("coordinator", "manager")
READERS = ("coordinator", "manager", "auditor", "admin")
CATEGORY_READERS = ("coordinator", "manager", "clerk", "auditor", "admin")

StoreCode = Annotated[str, Field(min_length=1, max_length=16)]
CardText = Annotated[str, Field(min_length=1, max_length=40)]
Note = Annotated[str, Field(max_length=earning.MAX_NOTE)]


class ActivityIn(Schema):
    id: UUID = Field(description="client id of the activity")
    title: Annotated[str, Field(min_length=1, max_length=earning.MAX_TITLE)]
    category: StrictInt | Annotated[str, Field(min_length=1, max_length=80)] = Field(
        description="the category's id, or its Chinese or English name")
    store: StoreCode
    starts_at: AwareDatetime


class AttendanceIn(Schema):
    id: UUID = Field(description="client id of this scan; an out scan's id becomes its contribution's id")
    card_number: CardText
    action: Literal["in", "out"]
    at: AwareDatetime | None = Field(default=None, description="when the card was scanned (default: now)")
    note: Note | None = None


class BulkIn(Schema):
    id: UUID = Field(description="client id of this bulk entry")
    card_numbers: list[CardText] = Field(min_length=1, max_length=earning.MAX_BULK)
    minutes: StrictInt
    started_at: AwareDatetime | None = Field(default=None, description="default: the activity's start")
    note: Note | None = None


class ActivitiesQuery(Schema):
    store: StoreCode | None = None
    from_: date | None = Field(default=None, alias="from", description="first local day (Asia/Shanghai)")
    to: date | None = Field(default=None, description="last local day (Asia/Shanghai)")
    limit: int = Field(default=100, ge=1, le=500)


class CategoryRateIn(Schema):
    points_per_hour: Annotated[int, Field(strict=True, ge=1, le=1000)] | None = Field(
        description="the category's own rate; null for the bureau's default")


# ---------------------------------------------------------------------------------------------- answers


def shown(moment: datetime | None) -> str | None:
    """A stored UTC time as shown to people: ISO 8601 in the shop's time zone."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))).isoformat()


def category_json(category: ActivityCategory, default_rate: int) -> dict[str, Any]:
    return {"id": category.id, "name_zh": category.name_zh, "name_en": category.name_en,
            "points_per_hour": category.points_per_hour or default_rate,
            "own_rate": category.points_per_hour is not None}


def activity_json(session: Session, activity: Activity) -> dict[str, Any]:
    category = session.get(ActivityCategory, activity.category_id)
    store = session.get(Store, activity.store_id)
    assert category is not None and store is not None
    return {"activity_id": str(activity.id), "title": activity.title,
            "category": category_json(category, earning.current_rates(session).points_per_hour),
            "store": store.code, "starts_at": shown(activity.starts_at), "organiser": activity.organiser}


def attendance_json(view: AttendanceView) -> dict[str, Any]:
    return {"attendance_id": str(view.attendance_id), "member_id": str(view.member_id), "name": view.name,
            "card_number": view.card_number, "present": view.present, "checked_in_at": shown(view.checked_in_at),
            "checked_out_at": shown(view.checked_out_at), "minutes": view.minutes,
            "contribution_id": str(view.contribution_id) if view.contribution_id else None,
            "points": view.points, "status": view.status}


def own_store(principal: Principal, code: str) -> None:
    """A shop user acts for their own shop: naming another is 403 before anything is looked up."""
    if principal.store_code is not None and code != principal.store_code:
        raise Forbidden("another shop's data", store=code)


def visible_activity(session: Session, principal: Principal, activity_id: str) -> Activity:
    activity = earning.get_activity(session, activity_id)
    principal.require_store(activity.store_id)
    return activity


def scoped_store_id(session: Session, principal: Principal, code: str | None) -> int | None:
    """The shop a listing covers: a shop user's own (naming another is 403); any, or all, for the bureau."""
    if principal.store_id is not None:
        if code is not None:
            own_store(principal, code)
        return principal.store_id
    return get_store_by_code(session, code).id if code else None


def local_day_start(day: date) -> datetime:
    zone = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    return datetime.combine(day, time(0), zone)


# ---------------------------------------------------------------------------------------------- routes


@bp.get("/activity-categories")
@endpoint(roles=CATEGORY_READERS, summary="Activity categories with their points per hour")
def categories():
    session = db.session()
    default_rate = earning.current_rates(session).points_per_hour
    return {"categories": [category_json(c, default_rate) for c in earning.list_categories(session)],
            "default_points_per_hour": default_rate}


@bp.put("/activity-categories/<int:category_id>")
@endpoint(roles=("admin",), body=CategoryRateIn,
          summary="Set a category's own points per hour (null: the bureau's default), for future records")
def set_category_rate(category_id: int, body: CategoryRateIn):
    actor = current_principal()

    def work(session: Session) -> dict[str, Any]:
        category = earning.set_category_rate(session, category_id, body.points_per_hour, actor.username)
        return category_json(category, earning.current_rates(session).points_per_hour)

    return db.unit_of_work().run(work)


@bp.post("/activities")
@endpoint(roles=RECORDERS, body=ActivityIn, summary="Open a volunteer activity in your shop")
def create_activity(body: ActivityIn):
    actor = current_principal()
    own_store(actor, body.store)

    def work(session: Session) -> tuple[dict[str, Any], int]:
        store = get_store_by_code(session, body.store)
        category = earning.find_category(session, body.category)
        activity = earning.create_activity(session, body.id, body.title, category.id, store.id, body.starts_at,
                                           actor.username)
        return activity_json(session, activity), 201

    return create_once(db.unit_of_work(), "activities", str(body.id), body, work)


@bp.get("/activities")
@endpoint(roles=READERS, query=ActivitiesQuery, summary="A shop's activities, the latest first")
def list_activities(query: ActivitiesQuery):
    principal = current_principal()
    session = db.session()
    store_id = scoped_store_id(session, principal, query.store)
    require_dates(query.from_, query.to)
    since = local_day_start(query.from_) if query.from_ else None
    until = local_day_start(query.to + timedelta(days=1)) if query.to else None
    found = earning.list_activities(session, store_id, since=since, until=until, limit=query.limit)
    return {"activities": [activity_json(session, a) for a in found]}


@bp.get("/activities/<activity_id>")
@endpoint(roles=READERS, summary="An activity: who is present and for how long, who came and went")
def activity_details(activity_id: str):
    principal = current_principal()
    session = db.session()
    activity = visible_activity(session, principal, activity_id)
    stays = earning.attendance_of(session, activity.id)
    answer = activity_json(session, activity)
    answer["attendance"] = [attendance_json(v) for v in stays]
    answer["present"] = sum(1 for v in stays if v.present)
    return answer


@bp.post("/activities/<activity_id>/attendance")
@endpoint(roles=RECORDERS, body=AttendanceIn,
          summary="Scan a member's card in or out; an out creates a pending contribution")
def attendance(activity_id: str, body: AttendanceIn):
    actor = current_principal()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        activity = visible_activity(session, actor, activity_id)
        member, _card = resolve_card(session, body.card_number, store_id=actor.store_id)
        at = body.at or utcnow()
        answer: dict[str, Any] = {"activity_id": str(activity.id), "member_id": str(member.id),
                                  "name": member.name, "action": body.action}
        if body.action == "in":
            result = earning.check_in(session, attendance_id=body.id, activity_id=activity.id, member_id=member.id,
                                      at=at, actor=actor.username)
            answer.update(attendance_id=str(result.attendance.id), already_in=result.already_in,
                          checked_in_at=shown(result.attendance.checked_in_at))
            return answer, 200 if result.already_in else 201
        out = earning.check_out(session, contribution_id=body.id, activity_id=activity.id, member_id=member.id,
                                at=at, actor=actor.username, note=body.note)
        contribution = out.contribution
        answer.update(attendance_id=str(out.attendance.id), checked_in_at=shown(out.attendance.checked_in_at),
                      checked_out_at=shown(out.attendance.checked_out_at), minutes=out.minutes,
                      contribution_id=str(contribution.id) if contribution else None,
                      points=contribution.points if contribution else 0,
                      status=contribution.status if contribution else None)
        return answer, 201

    fingerprint = {"activity_id": activity_id, **body.model_dump(mode="json")}
    return create_once(db.unit_of_work(), "attendance", str(body.id), fingerprint, work)


@bp.post("/activities/<activity_id>/bulk")
@endpoint(roles=RECORDERS, body=BulkIn,
          summary="Many members with the same minutes at once: all or nothing, errors per card")
def bulk(activity_id: str, body: BulkIn):
    actor = current_principal()

    def work(session: Session) -> tuple[dict[str, Any], int]:
        activity = visible_activity(session, actor, activity_id)
        members: list[tuple[str, Any]] = []
        names = {}
        for card in body.card_numbers:
            try:
                member, _ = resolve_card(session, card, store_id=actor.store_id)
            except DomainError as exc:
                members.append((card, exc))
                continue
            names[member.id] = member.name
            members.append((card, member.id))
        made = earning.bulk_hours(session, bulk_id=body.id, activity_id=activity.id, member_ids=members,
                                  minutes=body.minutes, actor=actor.username, started_at=body.started_at,
                                  note=body.note)
        cards = [card for card, member in members]
        return {"bulk_id": str(body.id), "activity_id": str(activity.id),
                "contributions": [{"card_number": card, "member_id": str(c.member_id), "name": names[c.member_id],
                                   "contribution_id": str(c.id), "minutes": c.minutes, "points": c.points,
                                   "status": c.status} for card, c in zip(cards, made, strict=True)],
                "points_total": sum(c.points for c in made)}, 201

    fingerprint = {"activity_id": activity_id, **body.model_dump(mode="json")}
    try:
        return create_once(db.unit_of_work(), "attendance_bulk", str(body.id), fingerprint, work)
    except BulkRefused as refused:
        lang = request_language()
        for problem in refused.details.get("errors", []):
            problem["message"] = translate(f"error.{problem['code']}", lang)
            limit = problem.get("details", {}).get("limit")
            if limit:
                problem["message"] = translate(f"earning.limit.{limit}", lang)
        raise


def require_dates(first: date | None, last: date | None) -> None:
    if first and last and last < first:
        raise ValidationFailed("the period ends before it begins", to="must not be before from")
