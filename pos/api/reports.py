"""The bureau's reports: reconciliation, anomalies, dashboard (with SVG charts), the transfers behind them,
verification runs, and the journal as a plain-text accounting file.

The bureau (auditor, admin) reads every shop; a manager reads their own shop only (403 for another). Every
report reads one snapshot of the database (`ledger.snapshot_session`). `store` names the shops: repeated
(`?store=DSC&store=XHC`) or comma-separated (`?store=DSC,XHC`); without it, the bureau gets every shop and a
manager their own. `from` and `to` are shop-time days (`2025-01-01`, both included) or ISO 8601 instants with
an offset (`to` then excluded); either may be left out.

Each report is JSON, and `.xlsx` / `.csv` for the same query.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from flask import Blueprint, Response, current_app, request, stream_with_context
from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import ValidationFailed
from core.stores import Store
from ledger import snapshot_session
from pos import db
from pos.api.common import Schema, download, endpoint
from pos.auth import current_principal
from pos.bureau import anomalies, dashboard, exports, plaintext, transfers_view, verification
from pos.bureau.periods import Period, parse_bound
from pos.bureau.reconciliation import reconcile
from pos.errors import request_language

bp = Blueprint("reports", __name__)

READERS = ("auditor", "admin", "manager")
AUDITORS = ("auditor", "admin")
MAX_SEQS = 200
STORE_LIST = r"^[A-Za-z0-9, ]{0,400}$"
DEFAULT_HOURS = "08:00-20:00"


class ReportQuery(Schema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    store: str | None = Field(default=None, pattern=STORE_LIST)
    from_: str | None = Field(default=None, alias="from", max_length=40)
    to: str | None = Field(default=None, max_length=40)


class AnomaliesQuery(ReportQuery):
    hours: str | None = Field(default=None, pattern=r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$")
    recorder_factor: Annotated[float, Field(gt=1, le=100)] = 3.0
    void_factor: Annotated[float, Field(gt=1, le=100)] = 3.0
    min_voids: Annotated[int, Field(ge=1, le=10_000)] = 3


class ChartQuery(ReportQuery):
    shop: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{2,16}$")


class TransfersQuery(Schema):
    seq: Annotated[str, Field(pattern=r"^[0-9,]+$", max_length=4000)]


class RunIn(Schema):
    id: UUID


# ------------------------------------------------------------------------------------------------ parsing


def period_of(query: ReportQuery) -> Period:
    problems: dict[str, str] = {}
    bounds: dict[str, datetime | None] = {"from": None, "to": None}
    for name, value, end in (("from", query.from_, False), ("to", query.to, True)):
        if value:
            try:
                bounds[name] = parse_bound(value, end=end)
            except ValueError:
                problems[name] = "a day (2025-01-31) or an ISO 8601 time with an offset"
    if problems:
        raise ValidationFailed("invalid period", **problems)
    try:
        return Period(bounds["from"], bounds["to"])
    except ValueError:
        raise ValidationFailed("invalid period", to="ends before it starts") from None


def selected_stores(session: Session) -> list[int] | None:
    """The shops the request names (all of `store`'s values), checked against the caller; None = every shop."""
    codes = [code.strip().upper() for raw in request.args.getlist("store") for code in raw.split(",")
             if code.strip()]
    principal = current_principal()
    if not codes:
        return None if principal.store_id is None else [principal.store_id]
    found = {code: store_id for code, store_id in session.execute(
        select(Store.code, Store.id).where(Store.code.in_(codes)))}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise ValidationFailed("unknown shop", store=f"no shop {', '.join(sorted(set(unknown)))}")
    ids = list(dict.fromkeys(found[code] for code in codes))
    for store_id in ids:
        principal.require_store(store_id)
    return ids


def _snapshot(work: Callable[[Session], Any]) -> Any:
    with snapshot_session(db.database().session_factory) as session:
        return work(session)


def _file_name(kind: str, query: ReportQuery, extension: str) -> str:
    span = f"{query.from_ or 'start'}_{query.to or 'now'}".replace(":", "")
    return f"creditmart-{kind}-{span}.{extension}"


# ------------------------------------------------------------------------------------------------ reconciliation


def _reconciliation(query: ReportQuery) -> dict[str, Any]:
    period = period_of(query)
    stores = selected_stores(db.session())
    return _snapshot(lambda session: reconcile(session, period, stores).to_dict())


@bp.get("/reports/reconciliation")
@endpoint(roles=READERS, query=ReportQuery, summary="Reconciliation: issued, redeemed, reversed, adjusted, "
                                                    "outstanding, and the identities, per shop and in total")
def reconciliation(query: ReportQuery):
    return _reconciliation(query)


@bp.get("/reports/reconciliation.xlsx")
@endpoint(roles=READERS, query=ReportQuery, summary="The reconciliation as an Excel workbook (a sheet per shop)")
def reconciliation_xlsx(query: ReportQuery):
    body = exports.reconciliation_xlsx(_reconciliation(query), request_language())
    return download(body, exports.XLSX_TYPE, _file_name("reconciliation", query, "xlsx"))


@bp.get("/reports/reconciliation.csv")
@endpoint(roles=READERS, query=ReportQuery, summary="The reconciliation as CSV (UTF-8 with BOM), a row per shop")
def reconciliation_csv(query: ReportQuery):
    body = exports.reconciliation_csv(_reconciliation(query), request_language())
    return download(body, exports.CSV_TYPE, _file_name("reconciliation", query, "csv"))


# ------------------------------------------------------------------------------------------------ anomalies


def opening_hours(query: AnomaliesQuery) -> str:
    return (query.hours or current_app.config.get("BUREAU_OPENING_HOURS")
            or os.environ.get("CREDITMART_OPENING_HOURS") or DEFAULT_HOURS)


def _anomalies(query: AnomaliesQuery) -> dict[str, Any]:
    period = period_of(query)
    try:
        opening, closing = anomalies.parse_hours(opening_hours(query))
    except ValueError:
        raise ValidationFailed("invalid opening hours", hours="HH:MM-HH:MM, two different times") from None
    settings = anomalies.Settings(opening=opening, closing=closing, recorder_factor=query.recorder_factor,
                                  void_factor=query.void_factor, min_voids=query.min_voids)
    stores = selected_stores(db.session())
    return _snapshot(lambda session: anomalies.find_anomalies(session, period, stores, settings).to_dict())


@bp.get("/reports/anomalies")
@endpoint(roles=READERS, query=AnomaliesQuery, summary="Anomaly flags, each with the transfers behind it")
def anomalies_report(query: AnomaliesQuery):
    return _anomalies(query)


@bp.get("/reports/anomalies.xlsx")
@endpoint(roles=READERS, query=AnomaliesQuery, summary="The anomaly flags as an Excel workbook")
def anomalies_xlsx(query: AnomaliesQuery):
    body = exports.anomalies_xlsx(_anomalies(query), request_language())
    return download(body, exports.XLSX_TYPE, _file_name("anomalies", query, "xlsx"))


@bp.get("/reports/anomalies.csv")
@endpoint(roles=READERS, query=AnomaliesQuery, summary="The anomaly flags as CSV (UTF-8 with BOM)")
def anomalies_csv(query: AnomaliesQuery):
    body = exports.anomalies_csv(_anomalies(query), request_language())
    return download(body, exports.CSV_TYPE, _file_name("anomalies", query, "csv"))


# ------------------------------------------------------------------------------------------------ dashboard


def _dashboard(query: ReportQuery) -> dashboard.Dashboard:
    period = period_of(query)
    stores = selected_stores(db.session())
    return _snapshot(lambda session: dashboard.build(session, period, stores))


@bp.get("/reports/dashboard")
@endpoint(roles=READERS, query=ReportQuery, summary="Dashboard data: issued and redeemed per month and shop, top "
                                                    "activity categories, stock value per shop")
def dashboard_report(query: ReportQuery):
    return _dashboard(query).to_dict()


@bp.get("/reports/dashboard.xlsx")
@endpoint(roles=READERS, query=ReportQuery, summary="The dashboard's figures as an Excel workbook")
def dashboard_xlsx(query: ReportQuery):
    body = exports.dashboard_xlsx(_dashboard(query).to_dict(), request_language())
    return download(body, exports.XLSX_TYPE, _file_name("dashboard", query, "xlsx"))


@bp.get("/reports/dashboard.csv")
@endpoint(roles=READERS, query=ReportQuery, summary="Issued and redeemed per shop and month as CSV")
def dashboard_csv(query: ReportQuery):
    body = exports.dashboard_csv(_dashboard(query).to_dict(), request_language())
    return download(body, exports.CSV_TYPE, _file_name("dashboard", query, "csv"))


@bp.get("/reports/charts/<any(monthly, categories, stock):chart>.svg")
@endpoint(roles=READERS, query=ChartQuery, summary="A dashboard chart as SVG (monthly, categories, stock)")
def dashboard_chart(chart: str, query: ChartQuery):
    board = _dashboard(query)
    shop = query.shop.upper() if query.shop else None
    if shop is not None and shop not in board.by_store:
        raise ValidationFailed("the shop is not in the selection", shop="not one of the selected shops")
    svg = dashboard.chart(board, chart, request_language(), shop)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------------------------------------ transfers


@bp.get("/reports/transfers")
@endpoint(roles=READERS, query=TransfersQuery, summary="The transfers behind an identity or a flag, by seq "
                                                       "(a manager sees their own shop's)")
def transfers_behind(query: TransfersQuery):
    seqs = list(dict.fromkeys(int(s) for s in query.seq.split(",") if s))[:MAX_SEQS]
    if not seqs or any(s > 2**62 for s in seqs):
        raise ValidationFailed("which transfers?", seq="comma-separated transfer seqs")
    principal = current_principal()
    return _snapshot(lambda session: transfers_view.transfers(session, seqs, principal.store_id))


# ------------------------------------------------------------------------------------------------ verification


@bp.post("/reports/verify-runs")
@endpoint(roles=AUDITORS, body=RunIn, summary="Start verifying the whole journal; poll the run for its progress")
def start_verification(body: RunIn):
    principal = current_principal()
    database = db.database()
    existing = _run_or_none(body.id)
    if existing is not None:
        return existing, 202
    try:
        verification.start_run(db.unit_of_work(), database.session_factory, principal.username, run_id=body.id,
                               wait=bool(current_app.config.get("BUREAU_VERIFY_INLINE")))
    except IntegrityError:
        pass  # a twin request with the same id started it a moment ago
    return _run_or_none(body.id), 202


def _run_or_none(run_id: UUID) -> dict[str, Any] | None:
    def read(session: Session) -> dict[str, Any] | None:
        try:
            return verification.get_run(session, run_id).to_dict()
        except verification.UnknownRun:
            return None

    return db.unit_of_work().read(read)


@bp.get("/reports/verify-runs/<uuid:run_id>")
@endpoint(roles=AUDITORS, summary="A verification run: status, progress, the chain head and the problems")
def verification_run(run_id: UUID):
    return db.unit_of_work().read(lambda session: verification.get_run(session, run_id).to_dict())


@bp.get("/reports/verify-runs")
@endpoint(roles=AUDITORS, summary="The latest verification runs")
def verification_runs():
    return {"runs": db.unit_of_work().read(lambda s: [r.to_dict() for r in verification.recent_runs(s)])}


# ------------------------------------------------------------------------------------------------ journal


@bp.get("/reports/journal.txt")
@endpoint(roles=AUDITORS, summary="The journal as a plain-text accounting file for hledger and ledger")
def plain_journal():
    def lines():
        with snapshot_session(db.database().session_factory) as session:
            yield from plaintext.journal_lines(session)

    return Response(stream_with_context(lines()), mimetype="text/plain; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="creditmart.journal"'})
