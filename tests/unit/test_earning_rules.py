"""The earning rules as tables: points for minutes, money and goods; day splits; name masking."""

from __future__ import annotations

import csv
import importlib.util
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ledger import rules
from ledger.rules import Rate

SH = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("minutes", "points_per_hour", "points"), [
    (60, 10, 10),      # the default rate: an hour is 10 points
    (90, 10, 15),      # pro rata by the minute
    (59, 10, 9),       # 9.83 rounds down
    (5, 10, 0),        # 0.83 rounds down to nothing
    (6, 10, 1),
    (1, 10, 0),
    (1440, 10, 240),   # a whole day
    (45, 12, 9),       # 助老服务 12/h: 9.0
    (50, 12, 10),      # 10.0 exactly
    (55, 8, 7),        # 文明宣讲 8/h: 7.33
    (40, 15, 10),      # 矛盾调解 15/h: 10.0
    (7, 20, 2),        # 应急救援 20/h: 2.33
    (61, 1, 1),
    (119, 1, 1),
])
def test_hours_points(minutes: int, points_per_hour: int, points: int) -> None:
    assert rules.hours_points(minutes, points_per_hour) == points


def test_a_category_rate_overrides_the_default() -> None:
    """The same minutes earn by the rate that applies: the category's own, else the default."""
    text = (ROOT / "pos/demo_data/activity_categories.csv").read_text(encoding="utf-8")
    categories = {row["name_zh"]: int(row["points_per_hour"]) for row in csv.DictReader(text.splitlines())}
    assert rules.hours_points(150, rules.DEFAULT_POINTS_PER_HOUR) == 25
    assert rules.hours_points(150, categories["助老服务"]) == 30
    assert rules.hours_points(150, categories["应急救援"]) == 50
    assert rules.hours_points(150, categories["文明宣讲"]) == 20


@pytest.mark.parametrize("bad", [0, -1, 1001, True, 1.5, "10"])
def test_an_hourly_rate_is_a_whole_number_1_to_1000(bad: object) -> None:
    with pytest.raises(ValueError):
        rules.hourly(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("points_per_yuan", "rate", "amount_fen", "points"), [
    ("1", Rate(1, 100), 10_000, 100),   # 100 yuan at the default rate
    ("1", Rate(1, 100), 199, 1),        # 1.99 yuan → 1 point
    ("1", Rate(1, 100), 99, 0),         # under a yuan → nothing
    ("0.5", Rate(1, 200), 1_000, 5),
    ("0.5", Rate(1, 200), 300, 1),      # 1.5 → 1
    ("2", Rate(1, 50), 1_234, 24),      # 24.68 → 24
    ("1.25", Rate(1, 80), 800, 10),
    ("0.01", Rate(1, 10_000), 9_999, 0),
    (3, Rate(3, 100), 150, 4),          # 4.5 → 4
])
def test_cash_points(points_per_yuan: str, rate: Rate, amount_fen: int, points: int) -> None:
    assert rules.cash_rate(points_per_yuan) == rate
    assert rules.cash_points(amount_fen, rate) == points
    assert rules.points_per_yuan_text(rate) == str(points_per_yuan)


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "0.001", "1e3x", "NaN", "1001", ""])
def test_a_bad_cash_rate_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        rules.cash_rate(bad)


def test_goods_points_are_price_times_qty() -> None:
    assert rules.goods_points([(2, 70), (3, 45)]) == 275
    assert rules.goods_points([(1, 0)]) == 0
    with pytest.raises(ValueError):
        rules.goods_points([(0, 5)])


@pytest.mark.parametrize(("start", "end", "minutes"), [
    ("09:00:00", "10:00:00", 60),
    ("09:00:00", "09:59:59", 59),   # the seconds of a started minute do not count
    ("09:00:30", "09:01:29", 0),
    ("09:00:00", "09:00:00", 0),
])
def test_minutes_between(start: str, end: str, minutes: int) -> None:
    day = "2026-03-02T"
    assert rules.minutes_between(datetime.fromisoformat(day + start + "+08:00"),
                                 datetime.fromisoformat(day + end + "+08:00")) == minutes


def test_minutes_range() -> None:
    assert [m for m in (-1, 0, 1, 1440, 1441) if rules.minutes_in_range(m)] == [1, 1440]


def test_intervals_are_half_open() -> None:
    t = [datetime(2026, 3, 2, h, tzinfo=SH) for h in range(8, 13)]
    assert not rules.overlaps(t[0], t[1], t[1], t[2])   # back to back
    assert rules.overlaps(t[0], t[2], t[1], t[3])
    assert rules.overlaps(t[1], t[2], t[0], t[4])       # inside


def test_seconds_by_day_splits_at_local_midnight() -> None:
    start = datetime(2026, 3, 2, 22, 30, tzinfo=SH)
    end = datetime(2026, 3, 3, 1, 15, tzinfo=SH)
    assert rules.seconds_by_day(start, end) == {date(2026, 3, 2): 90 * 60, date(2026, 3, 3): 75 * 60}
    # The same instants in UTC: the split is by the shop's day, not UTC's.
    assert rules.seconds_by_day(start.astimezone(UTC), end.astimezone(UTC)) == {
        date(2026, 3, 2): 90 * 60, date(2026, 3, 3): 75 * 60}
    whole_day = datetime(2026, 3, 2, 0, 0, tzinfo=SH)
    assert rules.seconds_by_day(whole_day, datetime(2026, 3, 3, 0, 0, tzinfo=SH)) == {date(2026, 3, 2): 86_400}
    assert rules.local_day(datetime(2026, 3, 2, 17, 0, tzinfo=UTC)) == date(2026, 3, 3)


@pytest.mark.parametrize(("name", "masked"), [
    ("王小英", "王*英"),
    ("王英", "王*"),
    ("欧阳小明", "欧**明"),
    ("买买提·吐尔逊", "买*****逊"),
    ("王", "*"),          # one character: shown whole it would not be masked at all
    ("  李四  ", "李*"),
    ("Anna", "A**a"),
    ("", "*"),
])
def test_names_are_masked_for_the_public_notice(name: str, masked: str) -> None:
    assert rules.mask_name(name) == masked


def test_the_migration_seeds_the_categories_of_the_sample_file() -> None:
    spec = importlib.util.spec_from_file_location("m0007", ROOT / "migrations/versions/0007_earning.py")
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with (ROOT / "pos/demo_data/activity_categories.csv").open(encoding="utf-8") as f:
        sample = [(r["name_zh"], r["name_en"], int(r["points_per_hour"])) for r in csv.DictReader(f)]
    assert migration.CATEGORIES == sample
