"""The reconciliation's identities on generated village histories, through the real use cases, on SQLite and
PostgreSQL: earning and approval, sales and voids (which may fall in a later period than their sale), reversed
issues, adjustments of no shop (which cross shops). Every figure is also compared with an oracle that replays the
same history in Python."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import UnitOfWork, make_engine, make_session_factory
from core.errors import DomainError
from ledger import snapshot_session
from pos.bureau.periods import Period
from pos.bureau.reconciliation import reconcile
from tests.databases import Templates, drop_pg_database, postgres_admin_url
from tests.test_bureau_support import PRICES, Village

GOODS = sorted(PRICES)
HOMES = ("DSC", "DSC", "XHC")  # three members: two of DSC, one of XHC


@dataclass
class Posted:
    seq: int
    code: str
    store: str | None
    member: int
    effect: int  # on the member's balance
    amount: int
    reversed_code: str | None = None


@dataclass
class History:
    """What the operations did, in journal order, and the boundaries between them."""

    transfers: list[Posted] = field(default_factory=list)
    marks: list[tuple[datetime, int]] = field(default_factory=list)  # (instant, transfers before it)

    def balance(self, member: int, upto: int) -> int:
        return sum(p.effect for p in self.transfers if p.member == member and p.seq <= upto)

    def expected(self, lo: int, hi: int, shops: set[str | None] | None) -> dict[str, Any]:
        def here(p: Posted) -> bool:
            return shops is None or p.store in shops

        inside = [p for p in self.transfers if lo < p.seq <= hi and here(p)]
        members = [m for m, home in enumerate(HOMES) if shops is None or home in shops]
        by_code: dict[str, int] = defaultdict(int)
        for p in inside:
            if p.code == "reversal":
                by_code[p.reversed_code or ""] += p.amount
        return {
            "volunteer_hours": sum(p.amount for p in inside if p.code == "volunteer_hours"),
            "donation": sum(p.amount for p in inside if p.code == "donation"),
            "redeemed": sum(p.amount for p in inside if p.code == "redemption"),
            "reversed": sum(p.amount for p in inside if p.code == "reversal"),
            "by_code": dict(by_code),
            "adjusted": sum(p.effect for p in inside if p.code == "adjustment"),
            "outstanding": sum(self.balance(m, hi) for m in members),
            "outstanding_start": sum(self.balance(m, lo) for m in members),
            "now": sum(self.balance(m, 10**12) for m in members),
        }


operation = st.one_of(
    st.tuples(st.just("earn"), st.integers(0, 2), st.sampled_from([30, 60, 90, 240])),
    st.tuples(st.just("donate"), st.integers(0, 2), st.integers(1, 80)),
    st.tuples(st.just("sell"), st.integers(0, 2), st.lists(st.tuples(st.sampled_from(GOODS), st.integers(1, 2)),
                                                           min_size=1, max_size=3)),
    st.tuples(st.just("void"), st.integers(0, 30)),
    st.tuples(st.just("reverse_issue"), st.integers(0, 30)),
    st.tuples(st.just("adjust"), st.integers(0, 2), st.integers(-20, 20).filter(bool), st.sampled_from([None, "own"])),
    st.tuples(st.just("mark")),
)


def run(village: Village, steps: list[tuple[Any, ...]]) -> History:
    history = History()
    members = [village.register(home) for home in HOMES]
    history.marks.append((village.now(), 0))
    seq = 0
    for step in steps:
        kind = step[0]
        try:
            if kind == "earn":
                seq = village.earn(members[step[1]], step[2])
                history.transfers.append(Posted(seq, "volunteer_hours", HOMES[step[1]], step[1],
                                                _amount(village, seq), _amount(village, seq)))
            elif kind == "donate":
                seq = village.donate(members[step[1]], step[2] * 100)
                history.transfers.append(Posted(seq, "donation", HOMES[step[1]], step[1], step[2], step[2]))
            elif kind == "sell":
                sale = village.sell(members[step[1]], [(b, q) for b, q in dict(step[2]).items()])
                history.transfers.append(Posted(sale.seq, "redemption", HOMES[step[1]], step[1], -sale.points,
                                                sale.points))
            elif kind == "void":
                open_sales = [s for s in village.sales if not s.voided]
                if not open_sales:
                    continue
                sale = open_sales[step[1] % len(open_sales)]
                seq = village.void(sale)
                history.transfers.append(Posted(seq, "reversal", sale.store, sale.member, sale.points, sale.points,
                                                "redemption"))
            elif kind == "reverse_issue":
                reversed_seqs = {p.seq for p in history.transfers if p.code == "reversal"}
                issues = [p for p in history.transfers if p.code in ("volunteer_hours", "donation")
                          and p.seq not in reversed_seqs]
                if not issues:
                    continue
                original = issues[step[1] % len(issues)]
                seq = village.reverse_issue(original.seq)
                history.transfers.append(Posted(seq, "reversal", original.store, original.member, -original.amount,
                                                original.amount, original.code))
            elif kind == "adjust":
                store = HOMES[step[1]] if step[3] == "own" else None
                seq = village.adjust(members[step[1]], step[2], store=store)
                history.transfers.append(Posted(seq, "adjustment", store, step[1], step[2], abs(step[2])))
            else:
                history.marks.append((village.now(), len(history.transfers)))
        except DomainError:
            continue  # refused by a rule (not enough points, the daily cap): nothing was posted
    history.marks.append((village.now(), len(history.transfers)))
    for i, p in enumerate(history.transfers, start=1):
        assert p.seq == i, "the history's transfers are the journal's, in order"
    return history


def _amount(village: Village, seq: int) -> int:
    from ledger import get_transfer_by_seq

    return village.uow.read(lambda s: get_transfer_by_seq(s, seq).amount)


def check_period(session: Any, village: Village, history: History, start: tuple[datetime, int] | None,
                 end: tuple[datetime, int] | None) -> None:
    period = Period(start[0] if start else None, end[0] if end else None)
    lo = start[1] if start else 0
    hi = end[1] if end else len(history.transfers)
    codes = {v: k for k, v in village.stores.items()}
    for shops in (None, {"DSC"}, {"XHC"}, {"DSC", "XHC"}):
        ids = None if shops is None else sorted(village.stores[c] for c in shops)
        report = reconcile(session, period, ids).to_dict()
        assert (report["period"]["from_seq"], report["period"]["to_seq"]) == (lo, hi)
        failing = [i for i in report["identities"] if not i["ok"]]
        assert not failing, failing
        for row in report["stores"]:
            assert all(i["ok"] for i in row["identities"]), row["identities"]
        _compare(report, history.expected(lo, hi, shops))
        for row in report["stores"]:
            shop = {row["store"]} if row["store"] else {None}
            if row["store"] is None and shops is not None:
                continue
            _compare(row, history.expected(lo, hi, shop))
        assert set(codes.values()) >= {r["store"] for r in report["stores"] if r["store"]}


def _compare(report: dict[str, Any], want: dict[str, Any]) -> None:
    got = {
        "volunteer_hours": report["issued"]["volunteer_hours"], "donation": report["issued"]["donation"],
        "redeemed": report["redeemed"], "reversed": report["reversed"],
        "by_code": report["reversals"]["by_reversed_code"], "adjusted": report["adjusted"]["net"],
        "outstanding": report["outstanding"], "outstanding_start": report["outstanding_start"],
        "now": report["members_balance_total"],
    }
    assert got == want


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_databases(request: pytest.FixtureRequest, templates: Templates) -> Iterator[Any]:
    """A new migrated, seeded database per call (hypothesis runs many examples in one test)."""
    made: list[str] = []

    def make() -> str:
        if request.param == "sqlite":
            return templates.sqlite()
        name, url = templates.postgres()
        made.append(name)
        return url

    yield make
    for name in made:
        drop_pg_database(postgres_admin_url(), name)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(operation, min_size=1, max_size=22))
def test_the_identities_hold_for_any_period_and_shops(fresh_databases: Any, steps: list[tuple[Any, ...]]) -> None:
    engine = make_engine(fresh_databases())
    try:
        factory = make_session_factory(engine)
        village = Village(UnitOfWork(factory))
        history = run(village, steps)
        bounds: list[tuple[datetime, int] | None] = [None, *history.marks]
        with snapshot_session(factory) as session:
            for i, start in enumerate(bounds):
                for end in [None, *history.marks[max(0, i - 1):]]:
                    if start is not None and end is not None and end[0] < start[0]:
                        continue
                    check_period(session, village, history, start, end)
    finally:
        engine.dispose()


def test_a_void_in_a_later_period_is_a_reversal_there_and_the_books_balance_in_both(uow: UnitOfWork) -> None:
    village = Village(uow)
    member = village.register("DSC")
    village.earn(member, 240)  # 40 points
    sale = village.sell(member, [("6972449445466", 1)])  # 25 points
    between = village.now()
    village.void(sale)
    factory = uow.session_factory
    with snapshot_session(factory) as session:
        first = reconcile(session, Period(None, between)).to_dict()
        second = reconcile(session, Period(between, None)).to_dict()
    assert (first["redeemed"], first["reversed"], first["outstanding"]) == (25, 0, 15)
    assert (second["redeemed"], second["reversed"], second["outstanding_start"], second["outstanding"]) == (
        0, 25, 15, 40)
    assert second["reversals"] == {"net": 25, "by_reversed_code": {"redemption": 25}}
    for report in (first, second):
        assert report["ok"], report["identities"]
    # The sales side follows its own records: the sale in the first period, its void in the second.
    assert first["sales"]["lines"]["points"] == 25 and first["sales"]["stock"]["value_out"] == 25
    assert second["sales"]["lines"]["voided_points"] == 25 and second["sales"]["stock"]["value_back"] == 25


def test_an_adjustment_of_no_shop_is_counted_across_shops(uow: UnitOfWork) -> None:
    village = Village(uow)
    member = village.register("XHC")
    village.earn(member, 120)
    village.adjust(member, 7, store=None)
    with snapshot_session(uow.session_factory) as session:
        report = reconcile(session, Period(), [village.stores["XHC"]]).to_dict()
        everything = reconcile(session, Period()).to_dict()
    (xhc,) = report["stores"]
    assert xhc["cross_shop_net"] == 7 and xhc["adjusted"]["net"] == 0 and xhc["outstanding"] == 27
    assert report["ok"] and everything["ok"]
    no_shop = [s for s in everything["stores"] if s["store"] is None]
    assert no_shop and no_shop[0]["adjusted"]["net"] == 7 and no_shop[0]["cross_shop_net"] == -7


def test_issued_points_by_activity_category(uow: UnitOfWork) -> None:
    from sqlalchemy import select

    from ledger.earning import ActivityCategory

    village = Village(uow)
    member = village.register("DSC")
    categories = uow.read(lambda s: {c.name_zh: c.id for c in s.scalars(select(ActivityCategory))})
    village.earn(member, 60, category_id=categories["助老服务"])  # 12 points an hour
    village.earn(member, 120, category_id=categories["助老服务"])
    village.earn(member, 60, category_id=categories["矛盾调解"])  # 15
    village.donate(member, 3000)
    with snapshot_session(uow.session_factory) as session:
        report = reconcile(session, Period()).to_dict()
    lines = {(c["name_zh"] or c["kind"]): (c["count"], c["points"]) for c in report["issued_by_category"]}
    assert lines == {"助老服务": (2, 36), "donation_cash": (1, 30), "矛盾调解": (1, 15)}
    assert report["issued"] == {"volunteer_hours": 51, "donation": 30, "total": 81}
    assert report["ok"]


def test_a_stranger_transfer_and_a_changed_amount_are_named(uow: UnitOfWork, db_url: str) -> None:
    """A redemption posted straight into the ledger (no sale behind it) and a changed amount: the identities
    that must see them fail, and name the transfers."""
    from ledger import NewTransfer, post, redemption_sink
    from tests.test_bureau_support import tamper

    village = Village(uow)
    member = village.register("DSC")
    village.earn(member, 240)
    sale = village.sell(member, [("6972449445466", 1)])
    account = village.members[member][2]
    store = village.stores["DSC"]
    stranger = uow.run(lambda s: post(s, NewTransfer(
        id=uuid.uuid4(), debit=account, credit=redemption_sink(s, store).id, amount=5, code="redemption",
        ref="sale:none", actor="intruder", store_id=store)).seq)
    with snapshot_session(uow.session_factory) as session:
        report = reconcile(session, Period()).to_dict()
    by_name = {i["name"]: i for i in report["identities"]}
    assert by_name["flows"]["ok"] and by_name["cached_balances"]["ok"]
    assert not by_name["redeemed_lines"]["ok"] and by_name["redeemed_lines"]["transfers"] == [stranger]

    engine = make_engine(db_url)
    try:
        tamper(engine, "UPDATE ledger_transfers SET amount = amount + 3 WHERE seq = :seq", seq=sale.seq)
    finally:
        engine.dispose()
    with snapshot_session(uow.session_factory) as session:
        report = reconcile(session, Period()).to_dict()
    by_name = {i["name"]: i for i in report["identities"]}
    assert not by_name["flows"]["ok"] and sale.seq in by_name["flows"]["transfers"]
    assert by_name["flows"]["accounts"] == [account]
    assert sale.seq in by_name["redeemed_lines"]["transfers"]
