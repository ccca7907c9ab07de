"""The public notice (公示): who earned how many points for what, in one shop and period, names partly masked.

A notice is meant for the village notice board, so every form needs no login: the JSON at
`GET /api/v1/notices?store=&from=&to=`, the same as `notices.csv` and `notices.xlsx` (the entries of the JSON,
row for row, with Chinese headers), and a printable page at `/notice/<store_code>?from=&to=`. All show only
approved contributions and only masked member names (王*英); an organisation's name is shown whole (it is a
business being thanked, not a person). `from`/`to` are local days (Asia/Shanghai), inclusive; by default the
current month.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, render_template, request
from pydantic import Field

from core.db import utcnow
from core.errors import DomainError, ValidationFailed
from core.stores import Store, get_store_by_code
from ledger import earning
from ledger.earning import NoticeEntry
from pos import db
from pos.api.common import PUBLIC, Schema, download, endpoint, parse
from pos.bureau import exports
from pos.errors import request_language
from pos.i18n import negotiate, translate

bp = Blueprint("notices", __name__)

MAX_DAYS = 366
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"


class NoticeQuery(Schema):
    store: str = Field(min_length=1, max_length=16)
    from_: date | None = Field(default=None, alias="from", description="first local day; default: this month's 1st")
    to: date | None = Field(default=None, description="last local day; default: today")


class PageQuery(Schema):
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


def period(first: date | None, last: date | None) -> tuple[date, date]:
    zone = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    today = utcnow().astimezone(zone).date()
    last = last or today
    first = first or last.replace(day=1)
    if last < first:
        raise ValidationFailed("the period ends before it begins", to="must not be before from")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed("the period is too long", to=f"at most {MAX_DAYS} days after from")
    return first, last


def what(entry: NoticeEntry, lang: str) -> str:
    """What the points were for, in the reader's language."""
    if entry.kind == earning.VOLUNTEER_HOURS:
        category = entry.category_en if lang == "en" else entry.category_zh
        label = category or translate("earning.kind.volunteer_hours", lang)
        if entry.activity_title:
            label += f" · {entry.activity_title}"
        minutes = entry.minutes or 0
        return f"{label} · " + translate("notice.minutes", lang, hours=minutes // 60, minutes=minutes % 60)
    if entry.kind == earning.DONATION_CASH:
        amount = entry.amount_fen or 0
        yuan = f"{amount // 100}.{amount % 100:02d}" if amount % 100 else str(amount // 100)
        return translate("notice.cash", lang, yuan=yuan)
    items = "、".join(f"{name} ×{qty}" for name, qty in entry.goods)
    return translate("notice.goods", lang, items=items)


def notice_json(store: Store, first: date, last: date, entries: list[NoticeEntry], lang: str) -> dict[str, Any]:
    return {
        "store": store.code, "store_name": store.name, "from": first.isoformat(), "to": last.isoformat(),
        "entries": [{"date": e.day.isoformat(), "name": e.name, "donor_type": e.donor_type, "kind": e.kind,
                     "what": what(e, lang), "minutes": e.minutes, "amount_fen": e.amount_fen, "points": e.points}
                    for e in entries],
        "total_points": sum(e.points for e in entries),
    }


def _notice(query: NoticeQuery) -> dict[str, Any]:
    session = db.session()
    store = get_store_by_code(session, query.store)
    first, last = period(query.from_, query.to)
    return notice_json(store, first, last, earning.notice(session, store.id, first, last), request_language())


def _file_name(notice: dict[str, Any], extension: str) -> str:
    return f"creditmart-notice-{notice['store']}-{notice['from']}_{notice['to']}.{extension}"


@bp.get("/notices")
@endpoint(roles=PUBLIC, query=NoticeQuery,
          summary="The public notice (公示) of a shop and period as JSON: masked names, approved points only")
def notices(query: NoticeQuery):
    return _notice(query)


@bp.get("/notices.xlsx")
@endpoint(roles=PUBLIC, query=NoticeQuery,
          summary="The public notice as an Excel workbook: a summary sheet and the shop's sheet of entries")
def notices_xlsx(query: NoticeQuery):
    notice = _notice(query)
    return download(exports.notice_xlsx(notice, request_language()), exports.XLSX_TYPE, _file_name(notice, "xlsx"))


@bp.get("/notices.csv")
@endpoint(roles=PUBLIC, query=NoticeQuery,
          summary="The public notice as CSV (UTF-8 with BOM): a row per entry and a total row")
def notices_csv(query: NoticeQuery):
    notice = _notice(query)
    return download(exports.notice_csv(notice, request_language()), exports.CSV_TYPE, _file_name(notice, "csv"))


def notice_page(store_code: str) -> Response:
    """/notice/<store_code>: the printable notice for the village board, in the reader's language."""
    lang = negotiate(request.headers.get("Accept-Language"), request.cookies.get("lang"))
    try:
        query = parse(PageQuery, request.args.to_dict())
        first, last = period(query.from_, query.to)
        session = db.session()
        store = get_store_by_code(session, store_code)
        entries = earning.notice(session, store.id, first, last)
    except ValidationFailed:
        abort(400)
    except DomainError:
        abort(404)
    zone = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    rows = [{"date": e.day.isoformat(), "name": e.name, "what": what(e, lang), "points": e.points} for e in entries]
    t = {key: translate(f"notice.{key}", lang) for key in ("title", "empty", "footer")}
    t.update({f"col_{key}": translate(f"notice.col.{key}", lang) for key in ("date", "name", "what", "points")})
    html = render_template(
        "notice.html", lang=lang, t=t, store=store, rows=rows,
        period=translate("notice.period", lang, first=first.isoformat(), last=last.isoformat()),
        total=translate("notice.total", lang, count=len(rows), points=sum(r["points"] for r in rows)),
        printed=translate("notice.printed", lang,
                          at=datetime.now(zone).replace(microsecond=0).isoformat(sep=" ")[:16]),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Cache-Control"] = "no-cache"
    return response


def _mount_page(state: Any) -> None:
    # The page lives outside /api/v1 (it is for people, not programs); the API blueprint mounts this module.
    state.app.add_url_rule("/notice/<store_code>", "notice_page", notice_page, methods=["GET"])


bp.record_once(_mount_page)
