"""The earning rules as pure functions: points for minutes and money, the time limits, and name masking.

No database, no clock: `ledger.earning` applies these to what is stored. Every amount is an integer and every
division rounds down (a volunteer earns for whole points only; 59 minutes at 10 points an hour is 9 points).

A rate is exact: `Rate(points, per)` is `points` points for every `per` units of what is counted (minutes,
fen, goods), so 10 points an hour is Rate(10, 60) and 1 point a yuan is Rate(1, 100). The bureau may set a
cash rate such as 0.5 points a yuan: Rate(1, 200). No float is ever involved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from zoneinfo import ZoneInfo

MINUTES_PER_HOUR = 60
FEN_PER_YUAN = 100
DEFAULT_POINTS_PER_HOUR = 10  # DESIGN.md: 10 points an hour unless the category says otherwise
DEFAULT_CASH_POINTS_PER_YUAN = "1"  # DESIGN.md: 1 point per yuan
MAX_MINUTES = 24 * 60  # one contribution: above 0 and at most a day
DAILY_CAP_MINUTES = 12 * 60  # one member, one day (in the shop's time zone)
MAX_POINTS_PER_HOUR = 1000
SHOP_TIME_ZONE = "Asia/Shanghai"

# The limits a 422 limit_exceeded names in its details ("limit": one of these).
OVERLAP = "overlap"
DAILY_CAP = "daily_cap"
MINUTES_RANGE = "minutes_range"


@dataclass(frozen=True, slots=True)
class Rate:
    """`points` points for every `per` units (minutes, fen). Both whole numbers; `per` above zero."""

    points: int
    per: int

    def __post_init__(self) -> None:
        if not (_whole(self.points) and _whole(self.per)) or self.points < 0 or self.per <= 0:
            raise ValueError(f"a rate is whole points per a positive whole quantity, got {self.points}/{self.per}")

    def apply(self, quantity: int) -> int:
        """Points for `quantity` units, rounded down."""
        if not _whole(quantity) or quantity < 0:
            raise ValueError(f"quantity must be a whole number of at least 0, got {quantity!r}")
        return quantity * self.points // self.per


def hourly(points_per_hour: int) -> Rate:
    """A volunteer rate: points per hour, applied by the minute."""
    if not _whole(points_per_hour) or not 0 < points_per_hour <= MAX_POINTS_PER_HOUR:
        raise ValueError(f"points per hour must be 1 to {MAX_POINTS_PER_HOUR}, got {points_per_hour!r}")
    return Rate(points_per_hour, MINUTES_PER_HOUR)


def hours_points(minutes: int, points_per_hour: int) -> int:
    """Volunteer points: the rate × minutes / 60, rounded down."""
    return hourly(points_per_hour).apply(minutes)


def cash_rate(points_per_yuan: str | int | Decimal) -> Rate:
    """The bureau's cash donation rate, given as points per yuan ("1", "0.5", "2"), as an exact per-fen rate.

    At most two decimals (a rate finer than a point per 100 yuan makes no sense on a receipt).
    """
    try:
        value = Decimal(str(points_per_yuan).strip())
    except InvalidOperation:
        raise ValueError(f"points per yuan must be a number, got {points_per_yuan!r}") from None
    if not value.is_finite() or value <= 0 or value > 1000 or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"points per yuan must be above 0, at most 1000, with at most 2 decimals, got {value}")
    exact = Fraction(value) / FEN_PER_YUAN
    return Rate(exact.numerator, exact.denominator)


def points_per_yuan_text(rate: Rate) -> str:
    """A cash rate as the bureau wrote it: "1", "0.5"."""
    value = Decimal(rate.points * FEN_PER_YUAN) / Decimal(rate.per)
    return format(value.quantize(Decimal("0.01")).normalize(), "f")


def cash_points(amount_fen: int, rate: Rate) -> int:
    """Cash donation points: fen × rate, rounded down (99 fen at 1 point a yuan is 0 points)."""
    return rate.apply(amount_fen)


def goods_points(lines: Iterable[tuple[int, int]]) -> int:
    """Goods donation points: the sum of qty × unit points price over the lines."""
    total = 0
    for qty, price in lines:
        if not (_whole(qty) and _whole(price)) or qty <= 0 or price < 0:
            raise ValueError(f"a goods line is a positive whole qty and a price of at least 0, got {qty}, {price}")
        total += qty * price
    return total


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from check-in to check-out (the seconds of a started minute do not count)."""
    return int((end - start).total_seconds() // 60)


def minutes_in_range(minutes: int) -> bool:
    return _whole(minutes) and 0 < minutes <= MAX_MINUTES


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals [start, end): one ending at 10:00 and another starting at 10:00 do not overlap."""
    return a_start < b_end and b_start < a_end


def seconds_by_day(start: datetime, end: datetime, zone: str = SHOP_TIME_ZONE) -> dict[date, int]:
    """How many seconds of [start, end) fall on each calendar day in `zone` (an evening shift past midnight
    counts on both days)."""
    tz = ZoneInfo(zone)
    out: dict[date, int] = {}
    cursor = start
    while cursor < end:
        local = cursor.astimezone(tz)
        next_midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tz)
        stop = min(end, next_midnight)
        out[local.date()] = out.get(local.date(), 0) + int((stop - cursor).total_seconds())
        cursor = stop
    return out


def local_day(moment: datetime, zone: str = SHOP_TIME_ZONE) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def day_bounds(day: date, zone: str = SHOP_TIME_ZONE) -> tuple[datetime, datetime]:
    """The instant a local day begins and the instant the next one begins."""
    tz = ZoneInfo(zone)
    return datetime.combine(day, time(0), tz), datetime.combine(day + timedelta(days=1), time(0), tz)


def mask_name(name: str) -> str:
    """A person's name for a public notice: the first character and, from three characters on, the last;
    every other character becomes *. 王小英 → 王*英, 欧阳小明 → 欧**明, 王英 → 王*.

    A one-character name would be shown whole, which is what the notice must never do, so it becomes *.
    """
    chars = list(name.strip())
    if len(chars) <= 1:
        return "*"
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
