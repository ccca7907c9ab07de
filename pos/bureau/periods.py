"""Report periods: local dates (Asia/Shanghai) turned into UTC instants, and instants into journal positions.

A period is [start, end) in UTC; either end may be open (the beginning of the journal, now). The reports do
not filter transfers by their time: they cut the journal at two seqs (`Cut`), found by binary search on seq,
because posting stamps each transfer's time in seq order under the chain-head lock. Every figure of a
report then counts exactly the same transfers, the identities hold to the point, and the scans are range
scans on the primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from ledger.models import ChainHead, Transfer

SHOP_TZ = ZoneInfo("Asia/Shanghai")

transfers = Transfer.__table__
chain_head = ChainHead.__table__


@dataclass(frozen=True)
class Period:
    start: datetime | None = None  # inclusive, aware UTC
    end: datetime | None = None  # exclusive, aware UTC

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if value is not None and value.tzinfo is None:
                raise ValueError("period bounds are aware datetimes")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("the period ends before it starts")

    @classmethod
    def of_days(cls, first: date | None, last: date | None) -> Period:
        """From the start of `first` to the end of `last`, both local days (inclusive)."""
        return cls(local_midnight(first) if first else None,
                   local_midnight(last + timedelta(days=1)) if last else None)

    def to_dict(self) -> dict[str, Any]:
        return {"from": iso(self.start), "to": iso(self.end), "timezone": str(SHOP_TZ)}


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHOP_TZ).astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """An instant as ISO 8601 in shop time, with its offset (API.md: times carry their offset)."""
    return None if moment is None else moment.astimezone(SHOP_TZ).isoformat()


def parse_bound(text: str, *, end: bool) -> datetime:
    """`2025-03-31` (a local day: its start, or for an end the start of the next day) or an ISO 8601 instant
    with an offset. Raises ValueError."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return local_midnight(day + timedelta(days=1) if end else day)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHOP_TZ)
    return moment.astimezone(UTC)


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_days(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * (quarter - 1) + 1, 1)
    after = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    return first, after - timedelta(days=1)


@dataclass(frozen=True)
class Cut:
    """The journal's positions for a period: transfers `lo < seq <= hi` are inside it; `head` is the last."""

    lo: int
    hi: int
    head: int

    def to_dict(self) -> dict[str, int]:
        return {"from_seq": self.lo, "to_seq": self.hi, "head_seq": self.head}


def head_seq(conn: Connection) -> int:
    return int(conn.execute(select(chain_head.c.seq).where(chain_head.c.id == 1)).scalar_one())


def seq_before(conn: Connection, moment: datetime | None, head: int, *, default: int) -> int:
    """The last seq whose time is before `moment` (0 when none; `default` when `moment` is None)."""
    if moment is None:
        return default
    lo, hi = 0, head  # invariant: at(lo) < moment (seq 0 is the beginning), at(hi + 1) >= moment
    if hi and _time_at_or_after(conn, hi) < moment:
        return hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _time_at_or_after(conn, mid) < moment:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _time_at_or_after(conn: Connection, seq: int) -> datetime:
    # The next existing transfer's time: a gap (which verify reports) must not stop the search.
    row = conn.execute(select(transfers.c.at).where(transfers.c.seq >= seq).order_by(transfers.c.seq).limit(1)
                       ).scalar_one_or_none()
    return row if row is not None else datetime.max.replace(tzinfo=UTC)


def cut(conn: Connection, period: Period) -> Cut:
    head = head_seq(conn)
    lo = seq_before(conn, period.start, head, default=0)
    hi = seq_before(conn, period.end, head, default=head)
    return Cut(lo, max(lo, hi), head)
