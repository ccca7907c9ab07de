"""Earning in the database, on SQLite and PostgreSQL: rates stored, every limit, four-eyes, exactly one transfer
per approval, records the database keeps, pending points that cannot be spent, goods donations and stock."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import DomainError, Forbidden, IdempotencyConflict
from inventory.models import StockLevel, StockMovement
from inventory.products import change_price, create_product
from ledger import earning, verify
from ledger.accounts import balance, programme_account, redemption_sink
from ledger.earning import Contribution, Donor
from ledger.errors import InsufficientPoints
from ledger.members import get_member
from ledger.models import REDEMPTION, Transfer
from ledger.posting import NewTransfer, post
from pos.services.earning import donation_receipt, record_goods_donation
from tests.integration.test_earning_support import activity, local, member, transfers_for
from tests.support import store_id

C = "coordinator-dsc"
M1, M2 = "manager-dsc", "manager2-dsc"


def hours(uow: UnitOfWork, member_id: uuid.UUID, minutes: int, **kw) -> Contribution:  # type: ignore[no-untyped-def]
    kw.setdefault("actor", C)
    return uow.run(lambda s: earning.record_volunteer_hours(s, id=kw.pop("id", uuid.uuid4()), member_id=member_id,
                                                            minutes=minutes, **kw))


def refused(uow: UnitOfWork, member_id: uuid.UUID, minutes: int, **kw) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        hours(uow, member_id, minutes, **kw)
    return caught.value


def count(uow: UnitOfWork, model: type) -> int:
    return uow.read(lambda s: s.scalar(select(func.count()).select_from(model)))


# ---- rates ----------------------------------------------------------------------------------------------------


def test_the_rate_used_is_stored_and_a_later_change_applies_only_to_new_records(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    elderly = activity(uow, category="助老服务", starts_at=local(10, 9))
    by_category = hours(uow, m, 100, activity_id=elderly)
    default = hours(uow, m, 100, started_at=local(10, 14))
    assert (by_category.points, by_category.rate_points, by_category.rate_per) == (20, 12, 60)  # 12/h: 20.0
    assert (default.points, default.rate_points) == (16, 10)  # 10/h: 16.67 → 16
    uow.run(lambda s: earning.set_rates(s, points_per_hour=15, cash_points_per_yuan="0.5", actor="admin"))
    later = hours(uow, m, 100, started_at=local(9, 14))
    assert (later.points, later.rate_points) == (25, 15)
    cash = uow.run(lambda s: earning.record_cash_donation(s, id=uuid.uuid4(), donor=Donor(member_id=m),
                                                          amount_fen=1_999, actor=C))
    assert (cash.points, cash.rate_points, cash.rate_per) == (9, 1, 200)  # 19.99 yuan at 0.5 → 9
    # The category's own rate still wins over the new default; the old records kept theirs.
    cat = uow.run(lambda s: earning.set_category_rate(s, earning.find_category(s, "助老服务").id, None, "admin"))
    assert cat.points_per_hour is None
    again = hours(uow, m, 60, activity_id=activity(uow, category="助老服务", starts_at=local(8, 9)))
    assert again.points == 15
    stored = uow.read(lambda s: [(c.points, c.rate_points) for c in s.scalars(
        select(Contribution).where(Contribution.id.in_([by_category.id, default.id])).order_by(Contribution.points))])
    assert stored == [(16, 10), (20, 12)]


def test_categories_are_seeded_and_found_by_either_name(uow: UnitOfWork) -> None:
    def work(session: Session) -> None:
        names = [c.name_zh for c in earning.list_categories(session)]
        assert names[:2] == ["环境整治", "助老服务"] and len(names) == 8
        assert earning.find_category(session, "Elderly Care Visits").name_zh == "助老服务"
        assert earning.find_category(session, earning.find_category(session, "应急救援").id).points_per_hour == 20
        with pytest.raises(earning.UnknownCategory):
            earning.find_category(session, "不存在")
        assert earning.load_categories(session, [{"name_zh": "环境整治", "name_en": "x", "points_per_hour": "99"},
                                                 {"name_zh": "新类别", "name_en": "new", "points_per_hour": ""}]) == 1
        assert earning.find_category(session, "新类别").points_per_hour is None
        assert earning.find_category(session, "环境整治").points_per_hour == 10
    uow.run(work)


# ---- limits ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [0, -30, 1441, 100_000])
def test_minutes_out_of_range_are_refused(uow: UnitOfWork, minutes: int) -> None:
    m, _ = member(uow)
    error = refused(uow, m, minutes, started_at=local(5, 8))
    assert (error.code, error.details["limit"]) == ("limit_exceeded", "minutes_range")
    assert count(uow, Contribution) == 0


def test_overlapping_time_is_refused_and_back_to_back_is_not(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    first = hours(uow, m, 120, started_at=local(5, 9))  # 09:00-11:00
    error = refused(uow, m, 60, started_at=local(5, 10, 30))
    assert (error.code, error.details["limit"], error.details["contribution_id"]) == (
        "limit_exceeded", "overlap", str(first.id))
    assert refused(uow, m, 240, started_at=local(5, 8)).details["limit"] == "overlap"  # covers it
    hours(uow, m, 60, started_at=local(5, 11))  # 11:00-12:00: back to back
    hours(uow, m, 60, started_at=local(5, 8))   # 08:00-09:00
    other, _ = member(uow, name="李四")
    hours(uow, other, 120, started_at=local(5, 9))  # another member's time is theirs


def test_rejected_time_no_longer_counts(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    first = hours(uow, m, 120, started_at=local(5, 9))
    assert refused(uow, m, 120, started_at=local(5, 9)).details["limit"] == "overlap"
    uow.run(lambda s: earning.reject_contribution(s, first.id, M1, "entered twice"))
    hours(uow, m, 120, started_at=local(5, 9))


def test_at_most_twelve_hours_a_day(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    hours(uow, m, 8 * 60, started_at=local(5, 6))    # 06:00-14:00
    hours(uow, m, 4 * 60, started_at=local(5, 15))   # 15:00-19:00: 12 h, exactly the cap
    error = refused(uow, m, 6, started_at=local(5, 20))
    assert error.details == {"limit": "daily_cap", "day": local(5).date().isoformat(), "cap_minutes": 720,
                             "recorded_minutes": 720, "minutes": 6}
    hours(uow, m, 60, started_at=local(4, 0))  # the next local day starts afresh


def test_the_daily_cap_counts_each_local_day_of_a_night_shift(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    hours(uow, m, 10 * 60, started_at=local(5, 8))   # day 1: 10 h (08:00-18:00)
    # 22:00 to 04:00: 2 h on day 1 (total 12, allowed), 4 h on day 2.
    hours(uow, m, 6 * 60, started_at=local(5, 22))
    # Another 9 h on day 2 (from 05:00) would make 13 h there.
    error = refused(uow, m, 9 * 60, started_at=local(4, 5))
    assert (error.details["limit"], error.details["day"], error.details["recorded_minutes"]) == (
        "daily_cap", local(4).date().isoformat(), 240)
    hours(uow, m, 8 * 60, started_at=local(4, 5))    # 4 + 8 = 12 on day 2
    # Six more minutes before the night shift on day 1 are over day 1's cap.
    assert refused(uow, m, 6, started_at=local(5, 21, 54)).details["limit"] == "daily_cap"


def test_untimed_hours_count_towards_the_day_they_are_recorded(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    hours(uow, m, 7 * 60)
    hours(uow, m, 5 * 60)
    assert refused(uow, m, 6).details["limit"] == "daily_cap"


def test_no_points_for_minutes_worth_less_than_a_point(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    assert refused(uow, m, 5, started_at=local(5, 8)).code == "no_points"
    assert hours(uow, m, 6, started_at=local(5, 8)).points == 1


def test_a_time_in_the_future_is_refused(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    error = refused(uow, m, 60, started_at=local(-1, 9))
    assert (error.code, list(error.details)) == ("validation_error", ["started_at"])


def test_another_shops_member_or_activity_is_refused(uow: UnitOfWork) -> None:
    m, _ = member(uow, "XHC")
    dsc = uow.read(lambda s: store_id(s, "DSC"))
    assert isinstance(refused(uow, m, 60, store_id=dsc, started_at=local(5, 8)), Forbidden)
    dsc_activity = activity(uow, "DSC")
    assert isinstance(refused(uow, m, 60, activity_id=dsc_activity), Forbidden)


def test_the_same_id_is_a_replay_or_a_conflict(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    cid = uuid.uuid4()
    first = hours(uow, m, 60, id=cid, started_at=local(5, 8))
    again = hours(uow, m, 60, id=cid, started_at=local(5, 8))  # a retry: not an overlap with itself
    assert again.id == first.id and count(uow, Contribution) == 1
    assert isinstance(refused(uow, m, 61, id=cid, started_at=local(5, 8)), IdempotencyConflict)


# ---- approval -------------------------------------------------------------------------------------------------


def test_four_eyes_and_exactly_one_transfer(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    c = hours(uow, m, 90, started_at=local(5, 8), actor=M1)
    with pytest.raises(earning.FourEyes):
        uow.run(lambda s: earning.approve_contribution(s, c.id, M1))
    with pytest.raises(Forbidden):
        uow.run(lambda s: earning.approve_contribution(s, c.id, M2, store_id=uow.read(
            lambda r: store_id(r, "XHC"))))
    decision = uow.run(lambda s: earning.approve_contribution(s, c.id, M2))
    assert (decision.status, decision.points, decision.balance_after) == ("posted", 15, 15)
    with pytest.raises(earning.AlreadyDecided) as again:
        uow.run(lambda s: earning.approve_contribution(s, c.id, M2))
    assert again.value.details == {"status": "posted", "decided_by": M2, "transfer_seq": decision.transfer_seq}
    with pytest.raises(earning.AlreadyDecided):
        uow.run(lambda s: earning.reject_contribution(s, c.id, M2, "too late"))

    def check(session: Session) -> None:
        transfer = session.scalars(select(Transfer).where(Transfer.ref == f"contribution:{c.id}")).one()
        assert (transfer.seq, transfer.id, transfer.code, transfer.amount, transfer.actor) == (
            decision.transfer_seq, earning.transfer_id_for(c.id), "volunteer_hours", 15, M2)
        assert transfer.debit_account_id == programme_account(session).id
        assert balance(session, get_member(session, m).account_id) == 15
        assert verify(session).ok
    uow.read(check)


def test_a_replayed_posting_cannot_post_twice(uow: UnitOfWork) -> None:
    """Even if a decision's bookkeeping were lost, the transfer id derived from the contribution makes a
    second posting a replay in the ledger, not a second credit."""
    m, _ = member(uow)
    c = hours(uow, m, 60, started_at=local(5, 8))
    decision = uow.run(lambda s: earning.approve_contribution(s, c.id, M1))

    def repost(session: Session) -> None:
        account = get_member(session, m).account_id
        replay = post(session, NewTransfer(id=earning.transfer_id_for(c.id), debit=programme_account(session).id,
                                           credit=account, amount=10, code="volunteer_hours",
                                           ref=f"contribution:{c.id}", actor=M1, store_id=c.store_id))
        assert replay.replayed and replay.seq == decision.transfer_seq
        assert transfers_for(session, c.id) == 1 and balance(session, account) == 10
    uow.run(repost)


def test_rejection_keeps_the_record_and_its_reason(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    c = hours(uow, m, 60, started_at=local(5, 8))
    uow.run(lambda s: earning.reject_contribution(s, c.id, C, "  记错了人  "))  # the recorder may withdraw it
    view = uow.read(lambda s: earning.contribution_view(s, c.id))
    assert (view.status, view.reason, view.decided_by, view.transfer_seq, view.points) == (
        "rejected", "记错了人", C, None, 10)
    with pytest.raises(earning.AlreadyDecided):
        uow.run(lambda s: earning.approve_contribution(s, c.id, M1))
    assert uow.read(lambda s: transfers_for(s, c.id)) == 0
    with pytest.raises(DomainError):
        uow.run(lambda s: earning.reject_contribution(s, hours(uow, m, 60, started_at=local(4, 8)).id, M1, "  "))


def test_the_database_keeps_decided_contributions(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    c = hours(uow, m, 60, started_at=local(5, 8))
    pending = hours(uow, m, 60, started_at=local(5, 10))
    uow.run(lambda s: earning.approve_contribution(s, c.id, M1))
    cid, pid = c.id.hex, pending.id.hex
    for statement in (f"UPDATE contributions SET status = 'rejected', reason = 'x' WHERE {_id(uow, cid)}",
                      f"UPDATE contributions SET points = 999 WHERE {_id(uow, pid)}",
                      f"DELETE FROM contributions WHERE {_id(uow, pid)}"):
        with pytest.raises(DBAPIError, match="earning records are kept"):
            uow.run(lambda s, sql=statement: s.execute(text(sql)))
    assert uow.read(lambda s: s.get(Contribution, pending.id).points) == 10


def _id(uow: UnitOfWork, hex_id: str) -> str:
    # SQLite stores a Uuid as 32 hex characters; PostgreSQL as its uuid type.
    dialect = uow.read(lambda s: s.get_bind().dialect.name)
    return f"id = '{hex_id}'" if dialect == "sqlite" else f"id = '{uuid.UUID(hex_id)}'"


def test_pending_points_show_but_cannot_be_spent(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    posted = hours(uow, m, 60, started_at=local(5, 8))
    hours(uow, m, 120, started_at=local(5, 10))
    uow.run(lambda s: earning.approve_contribution(s, posted.id, M1))
    assert uow.read(lambda s: earning.pending_points(s, m)) == 20

    def spend(session: Session, amount: int) -> None:
        account = get_member(session, m).account_id
        post(session, NewTransfer(id=uuid.uuid4(), debit=account, credit=redemption_sink(session, 1).id,
                                  amount=amount, code=REDEMPTION, ref="sale:test", actor="clerk-dsc"))
    with pytest.raises(InsufficientPoints) as short:
        uow.run(lambda s: spend(s, 11))  # 10 posted + 20 pending: only the 10 are there
    assert short.value.details["balance"] == 10
    uow.run(lambda s: spend(s, 10))


# ---- donations ------------------------------------------------------------------------------------------------


def test_an_organisation_gets_its_own_account_and_its_donation(uow: UnitOfWork) -> None:
    def work(session: Session) -> uuid.UUID:
        org = earning.create_organisation(session, uuid.uuid4(), "荣成海洋食品有限公司", store_id(session, "DSC"), M1)
        return org.id
    org_id = uow.run(work)
    with pytest.raises(earning.NameTaken):
        uow.run(lambda s: earning.create_organisation(s, uuid.uuid4(), "荣成海洋食品有限公司", store_id(s, "DSC"), M1))
    uow.run(lambda s: earning.create_organisation(s, uuid.uuid4(), "荣成海洋食品有限公司", store_id(s, "XHC"), "m"))
    cash = uow.run(lambda s: earning.record_cash_donation(s, id=uuid.uuid4(), donor=Donor(organisation_id=org_id),
                                                          amount_fen=100_000, actor=C, note="助老基金"))
    assert cash.points == 1000
    decision = uow.run(lambda s: earning.approve_contribution(s, cash.id, M1))
    assert decision.balance_after == 1000

    def check(session: Session) -> None:
        org = earning.get_organisation(session, org_id)
        transfer = session.scalars(select(Transfer).where(Transfer.seq == decision.transfer_seq)).one()
        assert (transfer.code, transfer.credit_account_id) == ("donation", org.account_id)
        receipt = donation_receipt(session, cash.id)
        assert (receipt.member_name, receipt.card_number, receipt.amount_fen, receipt.points, receipt.status,
                receipt.note, receipt.clerk, receipt.store_name) == (
            "荣成海洋食品有限公司", "", 100_000, 1000, "posted", "助老基金", C, "东山村信用超市")
    uow.read(check)


def test_a_cash_donation_under_a_point_is_refused(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    with pytest.raises(earning.NoPoints):
        uow.run(lambda s: earning.record_cash_donation(s, id=uuid.uuid4(), donor=Donor(member_id=m),
                                                       amount_fen=99, actor=C))


def test_goods_enter_stock_on_record_and_their_value_is_posted_on_approval(uow: UnitOfWork) -> None:
    m, card = member(uow)

    def products(session: Session) -> None:
        create_product(session, barcode="6920244418529", name="大豆油 5L", points_price=70, unit="桶", actor="test")
        create_product(session, barcode="6982606870703", name="东北大米 5kg", points_price=35, unit="袋", actor="test")
    uow.run(products)
    dsc = uow.read(lambda s: store_id(s, "DSC"))
    cid = uuid.uuid4()
    c, job = uow.run(lambda s: record_goods_donation(s, id=cid, donor=Donor(member_id=m), store_id=dsc,
                                                     lines=[("6920244418529", 2), ("６９８２６０６８７０７０３", 3),
                                                            ("6920244418529", 1)], actor=C))
    assert (c.kind, c.points, c.status) == ("donation_goods", 3 * 70 + 3 * 35, "pending")
    assert (job.kind, job.ref) == ("donation_receipt", str(cid))

    def stock(session: Session) -> list[tuple[str, int, str]]:
        return sorted((mv.kind, mv.qty_delta, mv.ref) for mv in session.scalars(select(StockMovement)))
    assert uow.read(stock) == [("donation_in", 3, f"contribution:{cid}"), ("donation_in", 3, f"contribution:{cid}")]
    # A replay of the same record does not receive the goods twice, nor queue a second receipt.
    _, again = uow.run(lambda s: record_goods_donation(s, id=cid, donor=Donor(member_id=m), store_id=dsc,
                                                       lines=[("6920244418529", 3)], actor=C))
    assert len(uow.read(stock)) == 2 and again.id == job.id
    view = uow.read(lambda s: earning.contribution_view(s, cid))
    assert [(line.name, line.qty, line.points_price) for line in view.lines] == [
        ("大豆油 5L", 3, 70), ("东北大米 5kg", 3, 35)]
    assert view.card_number == card
    decision = uow.run(lambda s: earning.approve_contribution(s, cid, M1))
    assert decision.balance_after == 315

    # A price change later does not change what was recorded.
    uow.run(lambda s: change_price(s, "6920244418529", 80, actor="test"))
    assert uow.read(lambda s: earning.contribution_view(s, cid).lines[0].points_price) == 70

    # A rejected goods donation leaves its goods in stock: they arrived.
    def reject_another(session: Session) -> None:
        other, _ = record_goods_donation(session, id=uuid.uuid4(), donor=Donor(member_id=m), store_id=dsc,
                                         lines=[("6920244418529", 1)], actor=C)
        earning.reject_contribution(session, other.id, M1, "not a donation")
    uow.run(reject_another)
    levels = uow.read(lambda s: sorted(lv.qty for lv in s.scalars(select(StockLevel))))
    assert levels == [3, 4]


def test_a_goods_donation_from_another_shops_donor_moves_no_stock(uow: UnitOfWork) -> None:
    m, _ = member(uow, "XHC")
    uow.run(lambda s: create_product(s, barcode="6920244418529", name="大豆油 5L", points_price=70, actor="test"))
    dsc = uow.read(lambda s: store_id(s, "DSC"))
    with pytest.raises(Forbidden):
        uow.run(lambda s: record_goods_donation(s, id=uuid.uuid4(), donor=Donor(member_id=m), store_id=dsc,
                                                lines=[("6920244418529", 1)], actor=C))
    assert count(uow, StockMovement) == 0 and count(uow, Contribution) == 0


def test_verify_holds_after_earning(uow: UnitOfWork) -> None:
    m, _ = member(uow)
    for n in range(3):
        c = hours(uow, m, 30 + n, started_at=local(5, 8 + n))
        uow.run(lambda s, cid=c.id: earning.approve_contribution(s, cid, M1))
    assert uow.read(lambda s: verify(s).ok)
    assert uow.read(lambda s: balance(s, get_member(s, m).account_id)) == 5 + 5 + 5
    assert uow.read(lambda s: earning.pending_points(s, m)) == 0
    assert uow.read(lambda s: s.scalar(select(func.count()).select_from(Transfer))) == 3


def test_tablets_recording_at_once_cannot_both_squeeze_under_the_daily_cap(uow: UnitOfWork) -> None:
    """Four tablets each record 5 hours of one member's day at the same instant: the member's row is locked
    while the limits are checked, so exactly two fit under the 12-hour cap, whatever the interleaving."""
    m, _ = member(uow)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def record(hour: int) -> None:
        barrier.wait()
        try:
            hours(uow, m, 5 * 60, started_at=local(5, hour))
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.details.get("limit", exc.code))

    threads = [threading.Thread(target=record, args=(hour,)) for hour in (0, 5, 10, 15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["daily_cap", "daily_cap", "ok", "ok"]
    assert count(uow, Contribution) == 2
