"""Anomaly flags: patterns the bureau looks into, each with the transfers behind it.

For a period (cut to the journal's seqs as the reconciliation is) and a set of shops:
- `recorder_hours`: a recorder whose approved volunteer hours per member stand far above the other recorders'
  (more than `recorder_factor` times their median, with at least `min_recorder_hours` hours);
- `daily_cap`: a member whose approved volunteer time on one day (shop time) reached the daily cap (12 hours);
- `void_share`: a clerk whose redemptions were reversed (voided) far more often than the shop's other clerks
  (a share above `void_factor` times the others', and at least `min_voids` voids);
- `after_hours`: redemptions outside the shops' opening hours (shop time; `opening` and `closing`, configurable).

Every figure comes from aggregate queries; only the flagged cases list their transfers (at most
`MAX_LISTED` each).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from sqlalchemy import Connection, String, and_, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from ledger import rules
from ledger.earning import POSTED, Contribution
from ledger.members import Member
from ledger.models import REDEMPTION, REVERSAL, VOLUNTEER_HOURS
from pos.bureau import journal
from pos.bureau.identity import MAX_LISTED
from pos.bureau.journal import transfers
from pos.bureau.periods import Cut, Period, cut

contributions = Contribution.__table__
members = Member.__table__
KINDS = ("recorder_hours", "daily_cap", "void_share", "after_hours")


@dataclass(frozen=True)
class Settings:
    opening: time = time(8, 0)
    closing: time = time(20, 0)
    recorder_factor: float = 3.0
    min_recorder_hours: float = 10.0
    void_factor: float = 3.0
    min_voids: int = 3

    def to_dict(self) -> dict[str, Any]:
        return {"opening": self.opening.strftime("%H:%M"), "closing": self.closing.strftime("%H:%M"),
                "recorder_factor": self.recorder_factor, "min_recorder_hours": self.min_recorder_hours,
                "void_factor": self.void_factor, "min_voids": self.min_voids,
                "daily_cap_minutes": rules.DAILY_CAP_MINUTES}


def parse_hours(text: str) -> tuple[time, time]:
    """`08:00-20:00` → (08:00, 20:00). Raises ValueError."""
    opening, _, closing = text.partition("-")
    start, end = time.fromisoformat(opening.strip()), time.fromisoformat(closing.strip())
    if start == end:
        raise ValueError("opening and closing are the same time")
    return start, end


@dataclass
class Flag:
    kind: str
    store_id: int | None
    subject: str  # the recorder's or clerk's username, the member's name, the shop
    figures: dict[str, Any]
    transfers: list[int] = field(default_factory=list)
    store: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "store": self.store, "subject": self.subject, "figures": self.figures,
                "transfers": self.transfers[:MAX_LISTED]}


@dataclass
class Anomalies:
    period: Period
    cut: Cut
    settings: Settings
    selected: list[str] | None
    flags: list[Flag]
    shops: list[tuple[str, str]] = field(default_factory=list)  # (code, name) of every shop looked at

    def to_dict(self) -> dict[str, Any]:
        counts = {kind: sum(1 for f in self.flags if f.kind == kind) for kind in KINDS}
        return {"period": {**self.period.to_dict(), **self.cut.to_dict()}, "stores_selected": self.selected,
                "stores": [{"store": code, "name": name} for code, name in self.shops],
                "settings": self.settings.to_dict(), "counts": counts, "flags": [f.to_dict() for f in self.flags]}


def find_anomalies(session: Session, period: Period, store_ids: Sequence[int] | None = None,
                   settings: Settings | None = None) -> Anomalies:
    settings = settings or Settings()
    conn = session.connection()
    names = journal.store_names(conn)
    selected = list(names) if store_ids is None else list(dict.fromkeys(store_ids))
    position = cut(conn, period)
    flags = (_recorders(conn, position, selected, settings) + _daily_cap(conn, position, selected)
             + _void_share(conn, position, selected, settings) + _after_hours(conn, position, selected, settings))
    for flag in flags:
        flag.store = names.get(flag.store_id, (None, None))[0] if flag.store_id is not None else None
    codes = None if store_ids is None else [names[s][0] for s in selected if s in names]
    shops = [names[s] for s in selected if s in names]
    return Anomalies(period, position, settings, codes, flags, shops)


def _in_cut(column: Any, position: Cut) -> Any:
    return and_(column > position.lo, column <= position.hi)


def _recorders(conn: Connection, position: Cut, store_ids: list[int], settings: Settings) -> list[Flag]:
    c = contributions
    rows = conn.execute(
        select(c.c.store_id, c.c.recorded_by, func.sum(c.c.minutes), func.count(func.distinct(c.c.member_id)),
               func.count())
        .where(_in_cut(c.c.transfer_seq, position), c.c.kind == VOLUNTEER_HOURS, c.c.status == POSTED,
               c.c.store_id.in_(store_ids))
        .group_by(c.c.store_id, c.c.recorded_by)).all()
    per_member = {(store_id, who): (int(minutes) / 60 / members_count, int(minutes), members_count, count)
                  for store_id, who, minutes, members_count, count in rows if members_count}
    if len(per_member) < 3:
        return []  # no "others" to stand above
    median = statistics.median(v[0] for v in per_member.values())
    flags = []
    for (store_id, who), (hours, minutes, members_count, count) in sorted(per_member.items(),
                                                                        key=lambda kv: -kv[1][0]):
        if hours > settings.recorder_factor * median and minutes / 60 >= settings.min_recorder_hours:
            seqs = conn.execute(select(c.c.transfer_seq).where(
                _in_cut(c.c.transfer_seq, position), c.c.kind == VOLUNTEER_HOURS, c.c.status == POSTED,
                c.c.store_id == store_id, c.c.recorded_by == who).order_by(c.c.transfer_seq).limit(MAX_LISTED))
            flags.append(Flag("recorder_hours", store_id, who,
                              {"hours_per_member": round(hours, 2), "median_hours_per_member": round(median, 2),
                               "hours": round(minutes / 60, 2), "members": members_count, "contributions": count},
                              [int(s) for s in seqs.scalars()]))
    return flags


def local_day(conn: Connection, column: Any) -> Any:
    """The shop-time (Asia/Shanghai) date of a stored UTC instant, as text YYYY-MM-DD."""
    if conn.dialect.name == "sqlite":
        return func.date(type_coerce(column, String), "+8 hours")  # UTC+8 without daylight saving since 1991
    return cast(func.date(func.timezone("Asia/Shanghai", column)), String)


def local_time(conn: Connection, column: Any) -> Any:
    """The shop-time time of day of a stored UTC instant, as text HH:MM:SS."""
    if conn.dialect.name == "sqlite":
        return func.time(type_coerce(column, String), "+8 hours")
    return func.to_char(func.timezone("Asia/Shanghai", column), "HH24:MI:SS")


def _daily_cap(conn: Connection, position: Cut, store_ids: list[int]) -> list[Flag]:
    c, m = contributions, members
    day = local_day(conn, c.c.occurred_at)
    rows = conn.execute(
        select(c.c.store_id, c.c.member_id, day.label("day"), func.sum(c.c.minutes))
        .where(_in_cut(c.c.transfer_seq, position), c.c.kind == VOLUNTEER_HOURS, c.c.status == POSTED,
               c.c.store_id.in_(store_ids))
        .group_by(c.c.store_id, c.c.member_id, day)
        .having(func.sum(c.c.minutes) >= rules.DAILY_CAP_MINUTES)
        .order_by(c.c.store_id, day).limit(1000)).all()
    flags = []
    for store_id, member_id, on_day, minutes in rows:
        name = conn.execute(select(m.c.name).where(m.c.id == member_id)).scalar_one_or_none() or ""
        seqs = conn.execute(select(c.c.transfer_seq).where(
            _in_cut(c.c.transfer_seq, position), c.c.kind == VOLUNTEER_HOURS, c.c.status == POSTED,
            c.c.member_id == member_id, local_day(conn, c.c.occurred_at) == on_day).order_by(c.c.transfer_seq))
        flags.append(Flag("daily_cap", store_id, name,
                          {"member_id": str(member_id), "day": str(on_day), "minutes": int(minutes),
                           "cap_minutes": rules.DAILY_CAP_MINUTES}, [int(s) for s in seqs.scalars()]))
    return flags


def _void_share(conn: Connection, position: Cut, store_ids: list[int], settings: Settings) -> list[Flag]:
    """Per shop and clerk (the redemption's actor): its redemptions in the period and how many of them were
    reversed (at any time up to the period's end)."""
    t, r = transfers, transfers.alias("reversal")
    rows = _void_rows(conn, position, store_ids)
    by_store: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for store_id, actor, sales_count, voids in rows:
        by_store[store_id].append((actor, int(sales_count), int(voids)))
    flags = []
    for store_id, clerks in by_store.items():
        for actor, sales_count, voids in clerks:
            others_sales = sum(s for a, s, _ in clerks if a != actor)
            others_voids = sum(v for a, _, v in clerks if a != actor)
            share = voids / sales_count if sales_count else 0.0
            others_share = others_voids / others_sales if others_sales else 0.0
            if voids >= settings.min_voids and share > settings.void_factor * max(others_share, 0.01):
                seqs = conn.execute(
                    select(r.c.seq).select_from(t.join(r, r.c.reverses_seq == t.c.seq))
                    .where(_in_cut(t.c.seq, position), r.c.seq <= position.hi, t.c.code == REDEMPTION,
                           t.c.store_id == store_id, t.c.actor == actor)
                    .order_by(r.c.seq).limit(MAX_LISTED))
                flags.append(Flag("void_share", store_id, actor,
                                  {"sales": sales_count, "voids": voids, "share": round(share, 4),
                                   "others_share": round(others_share, 4)}, [int(s) for s in seqs.scalars()]))
    return flags


def _void_rows(conn: Connection, position: Cut, store_ids: list[int]) -> list[tuple[int, str, int, int]]:
    t, r = transfers, transfers.alias("reversal")
    counted = (select(t.c.store_id, t.c.actor, func.count())
               .where(_in_cut(t.c.seq, position), t.c.code == REDEMPTION, t.c.store_id.in_(store_ids))
               .group_by(t.c.store_id, t.c.actor))
    voided = (select(t.c.store_id, t.c.actor, func.count())
              .select_from(r.join(t, t.c.seq == r.c.reverses_seq))
              .where(r.c.code == REVERSAL, r.c.seq <= position.hi, _in_cut(t.c.seq, position),
                     t.c.code == REDEMPTION, t.c.store_id.in_(store_ids))
              .group_by(t.c.store_id, t.c.actor))
    voids = {(store_id, actor): int(n) for store_id, actor, n in conn.execute(voided)}
    return [(store_id, actor, int(n), voids.get((store_id, actor), 0)) for store_id, actor, n in conn.execute(counted)]


def _after_hours(conn: Connection, position: Cut, store_ids: list[int], settings: Settings) -> list[Flag]:
    t = transfers
    clock = local_time(conn, t.c.at)
    opening, closing = settings.opening.strftime("%H:%M:%S"), settings.closing.strftime("%H:%M:%S")
    if settings.opening < settings.closing:
        outside = (clock < opening) | (clock >= closing)
    else:  # open past midnight (e.g. 18:00-02:00)
        outside = and_(clock >= closing, clock < opening)
    rows = conn.execute(
        select(t.c.store_id, func.count(), func.sum(t.c.amount))
        .where(_in_cut(t.c.seq, position), t.c.code == REDEMPTION, t.c.store_id.in_(store_ids), outside)
        .group_by(t.c.store_id)).all()
    flags = []
    for store_id, count, amount in rows:
        seqs = conn.execute(select(t.c.seq).where(_in_cut(t.c.seq, position), t.c.code == REDEMPTION,
                                                  t.c.store_id == store_id, outside)
                            .order_by(t.c.seq).limit(MAX_LISTED))
        flags.append(Flag("after_hours", store_id, "", {"redemptions": int(count), "points": int(amount),
                                                        "opening": settings.opening.strftime("%H:%M"),
                                                        "closing": settings.closing.strftime("%H:%M")},
                          [int(s) for s in seqs.scalars()]))
    return flags
