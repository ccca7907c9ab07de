"""Posting, replays, linked batches, reversals, statements and the database's own refusals."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.db import UnitOfWork
from core.errors import IdempotencyConflict, NotFound, ValidationFailed
from core.stores import Store
from ledger import (
    DONATION,
    MEMBER,
    ORGANISATION,
    REDEMPTION,
    REVERSAL,
    VOLUNTEER_HOURS,
    Account,
    AccountConflict,
    AlreadyReversed,
    InsufficientPoints,
    NewTransfer,
    NotReversible,
    TransferConflict,
    UnknownAccount,
    get_account,
    get_transfer,
    open_account,
    post,
    post_batch,
    programme_account,
    redemption_sink,
    reversal_for,
    reverse,
    statement,
    transfers_by_ref,
)
from ledger.chain import GENESIS_HASH, chain_hash
from tests.test_ledger_support import Book, balances_sum, journal_count, open_book, verify_now


@pytest.fixture
def book(uow: UnitOfWork) -> Book:
    return open_book(uow)


def test_earning_and_spending_move_points_and_keep_the_sum_at_zero(book: Book) -> None:
    alice = book.members[0]
    earned = book.earn(alice, 100)
    spent = book.spend(alice, 30)

    assert (earned.seq, spent.seq) == (1, 2)
    assert earned.credit_balance_after == 100 and earned.credit_version == 1
    assert spent.debit_balance_after == 70 and spent.debit_version == 2
    assert spent.credit_balance_after == 30  # the shop's redemption sink took the points in
    assert book.balance(alice) == 70
    assert book.balance(book.programme) == -100
    assert balances_sum(book.uow) == 0
    assert verify_now(book.uow).ok


def test_the_chain_links_each_transfer_to_the_one_before(book: Book) -> None:
    first = book.earn(book.members[0], 10)
    second = book.earn(book.members[1], 20)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.hash == chain_hash(first.hash, second.canonical())
    report = verify_now(book.uow)
    assert (report.head_seq, report.head_hash) == (2, second.hash.hex())


def test_replaying_an_id_returns_the_original_and_writes_nothing(book: Book) -> None:
    alice = book.members[0]
    book.earn(alice, 50)
    spec = book.spend_spec(alice, 20)
    first = book.uow.run(lambda s: post(s, spec))
    again = book.uow.run(lambda s: post(s, spec))

    assert not first.replayed and again.replayed
    assert (again.seq, again.hash, again.at) == (first.seq, first.hash, first.at)
    assert again.debit_balance_after == 30
    assert journal_count(book.uow) == 2
    assert book.balance(alice) == 30


def test_the_same_id_with_other_content_is_an_idempotency_conflict(book: Book) -> None:
    alice = book.members[0]
    book.earn(alice, 50)
    spec = book.spend_spec(alice, 20)
    book.uow.run(lambda s: post(s, spec))
    changed = NewTransfer(id=spec.id, debit=spec.debit, credit=spec.credit, amount=21, code=spec.code,
                          ref=spec.ref, actor=spec.actor, store_id=spec.store_id)
    with pytest.raises(TransferConflict) as refused:
        book.uow.run(lambda s: post(s, changed))
    assert isinstance(refused.value, IdempotencyConflict)
    assert refused.value.code == "idempotency_conflict"
    assert refused.value.details["id"] == str(spec.id)
    assert book.balance(alice) == 30 and journal_count(book.uow) == 2


def test_a_member_cannot_go_below_zero_and_is_told_the_shortfall(book: Book) -> None:
    alice = book.members[0]
    book.earn(alice, 25)
    with pytest.raises(InsufficientPoints) as refused:
        book.spend(alice, 40)
    assert refused.value.code == "insufficient_points"
    details = refused.value.details
    assert (details["account_id"], details["balance"], details["amount"], details["shortfall"]) == (alice, 25, 40, 15)
    assert details["owner_ref"].startswith("member:")
    assert book.balance(alice) == 25 and journal_count(book.uow) == 1
    book.spend(alice, 25)
    assert book.balance(alice) == 0


def test_a_linked_batch_commits_whole_in_order(book: Book) -> None:
    alice, bob = book.members[:2]
    earn = NewTransfer(id=uuid.uuid4(), debit=book.programme, credit=alice, amount=60, code=VOLUNTEER_HOURS,
                       ref="activity:1", actor="manager-dsc", store_id=book.store_id)
    # Spending in the same batch what the batch's first transfer credited: applied in order.
    spend = book.spend_spec(alice, 50)
    gift = NewTransfer(id=uuid.uuid4(), debit=book.donation_fund, credit=bob, amount=5, code=DONATION,
                       ref="donation:1", actor="manager-dsc", store_id=book.store_id)
    posted = book.uow.run(lambda s: post_batch(s, [earn, spend, gift]))

    assert [p.seq for p in posted] == [1, 2, 3]
    assert {p.batch_id for p in posted} == {earn.id}
    assert posted[1].debit_balance_after == 10
    assert (book.balance(alice), book.balance(bob)) == (10, 5)
    replayed = book.uow.run(lambda s: post_batch(s, [earn, spend, gift]))
    assert [p.seq for p in replayed] == [1, 2, 3] and all(p.replayed for p in replayed)
    assert journal_count(book.uow) == 3


def test_a_linked_batch_with_one_bad_transfer_writes_nothing(book: Book) -> None:
    alice, bob = book.members[:2]
    book.earn(alice, 10)
    before = journal_count(book.uow)
    batch = [book.spend_spec(bob, 1) if i == 2 else book.spend_spec(alice, 1) for i in range(4)]
    with pytest.raises(InsufficientPoints) as refused:
        book.uow.run(lambda s: post_batch(s, batch))
    assert refused.value.details["account_id"] == bob
    assert journal_count(book.uow) == before
    assert book.balance(alice) == 10
    assert verify_now(book.uow).ok


def test_a_batch_reusing_some_ids_is_refused(book: Book) -> None:
    alice = book.members[0]
    book.earn(alice, 10)
    used = book.spend_spec(alice, 1)
    book.uow.run(lambda s: post(s, used))
    with pytest.raises(TransferConflict):
        book.uow.run(lambda s: post_batch(s, [used, book.spend_spec(alice, 1)]))
    with pytest.raises(ValidationFailed):
        book.uow.run(lambda s: post_batch(s, [used, used]))
    with pytest.raises(ValidationFailed):
        book.uow.run(lambda s: post_batch(s, []))


def test_reversal_names_the_original_restores_the_balance_and_happens_once(book: Book) -> None:
    alice = book.members[0]
    book.earn(alice, 100)
    sale = book.spend(alice, 40)
    reversal_id = uuid.uuid4()
    undone = book.uow.run(lambda s: reverse(s, sale.id, id=reversal_id, actor="manager-dsc"))

    assert undone.code == REVERSAL and undone.reverses == sale.seq
    assert (undone.debit, undone.credit, undone.amount) == (sale.credit, sale.debit, sale.amount)
    assert undone.ref == sale.ref  # found together under the sale's ref
    assert [p.seq for p in book.uow.read(lambda s: transfers_by_ref(s, sale.ref))] == [sale.seq, undone.seq]
    assert book.uow.read(lambda s: reversal_for(s, sale.seq)).id == reversal_id
    assert book.balance(alice) == 100

    again = book.uow.run(lambda s: reverse(s, sale.id, id=reversal_id, actor="manager-dsc"))
    assert again.replayed and again.seq == undone.seq
    with pytest.raises(AlreadyReversed) as refused:
        book.uow.run(lambda s: reverse(s, sale.id, id=uuid.uuid4(), actor="manager-dsc"))
    assert refused.value.code == "already_reversed"
    assert refused.value.details == {"seq": sale.seq, "reversed_by": str(reversal_id)}
    with pytest.raises(NotReversible):
        book.uow.run(lambda s: reverse(s, undone.id, id=uuid.uuid4(), actor="manager-dsc"))
    assert verify_now(book.uow).ok


def test_reversing_points_already_spent_is_insufficient_points(book: Book) -> None:
    alice = book.members[0]
    earned = book.earn(alice, 30)
    book.spend(alice, 20)
    with pytest.raises(InsufficientPoints) as refused:
        book.uow.run(lambda s: reverse(s, earned.id, id=uuid.uuid4(), actor="manager-dsc"))
    assert refused.value.details["shortfall"] == 20


def test_a_reversal_posted_by_hand_must_mirror_its_original(book: Book) -> None:
    alice = book.members[0]
    earned = book.earn(alice, 30)
    wrong = NewTransfer(id=uuid.uuid4(), debit=alice, credit=book.programme, amount=10, code=REVERSAL,
                        ref="x", actor="admin", reverses=earned.seq)
    with pytest.raises(ValidationFailed):
        book.uow.run(lambda s: post(s, wrong))


def test_the_database_allows_one_reversal_per_transfer_even_past_the_code(book: Book, uow: UnitOfWork) -> None:
    earned = book.earn(book.members[0], 30)
    book.uow.run(lambda s: reverse(s, earned.id, id=uuid.uuid4(), actor="admin"))

    def insert_a_second_reversal(s):  # type: ignore[no-untyped-def]
        row = dict(s.execute(text("SELECT * FROM ledger_transfers WHERE reverses_seq = :seq"),
                             {"seq": earned.seq}).mappings().one())
        new_id = uuid.uuid4()
        row |= {"seq": row["seq"] + 1, "id": new_id.hex if s.bind.dialect.name == "sqlite" else str(new_id),
                "debit_version": row["debit_version"] + 1000, "credit_version": row["credit_version"] + 1000}
        s.execute(text(f"INSERT INTO ledger_transfers ({', '.join(row)}) "
                       f"VALUES ({', '.join(':' + name for name in row)})"), row)

    with pytest.raises(IntegrityError, match="reverses_seq"):
        uow.run(insert_a_second_reversal)


@pytest.mark.parametrize("bad", [
    {"amount": 0}, {"amount": -5}, {"amount": True}, {"amount": 2.5}, {"code": "gift"},
    {"credit": "self"}, {"id": "not-a-uuid"}, {"actor": ""}, {"ref": "x" * 129}, {"reverses": 3},
])
def test_ill_formed_transfers_are_refused_before_touching_the_database(book: Book, bad: dict) -> None:
    fields = {"id": uuid.uuid4(), "debit": book.programme, "credit": book.members[0], "amount": 5,
              "code": VOLUNTEER_HOURS, "ref": "r", "actor": "a"} | bad
    if fields["credit"] == "self":
        fields["credit"] = fields["debit"]
    with pytest.raises(ValidationFailed):
        NewTransfer(**fields)


def test_unknown_accounts_are_not_found(book: Book) -> None:
    spec = NewTransfer(id=uuid.uuid4(), debit=book.programme, credit=999_999, amount=5, code=VOLUNTEER_HOURS,
                       ref="r", actor="a")
    with pytest.raises(UnknownAccount) as refused:
        book.uow.run(lambda s: post(s, spec))
    assert isinstance(refused.value, NotFound) and refused.value.details["account_id"] == 999_999
    with pytest.raises(NotFound):
        book.uow.read(lambda s: get_transfer(s, uuid.uuid4()))


def test_accounts_are_opened_once_and_system_accounts_found_again(uow: UnitOfWork) -> None:
    def work(s):  # type: ignore[no-untyped-def]
        dsc, xhc = (s.scalars(select(Store.id).where(Store.code == code)).one() for code in ("DSC", "XHC"))
        first = open_account(s, MEMBER, "member:42", dsc)
        again = open_account(s, MEMBER, "member:42", dsc)
        org = open_account(s, ORGANISATION, "org:rice-mill", None)
        with pytest.raises(AccountConflict):
            open_account(s, MEMBER, "member:42", xhc)
        with pytest.raises(ValidationFailed):
            open_account(s, "programme", "programme", None)
        sinks = {redemption_sink(s, dsc).id, redemption_sink(s, xhc).id, redemption_sink(s, dsc).id}
        return (first.id == again.id, first.may_go_negative, org.kind, programme_account(s).id ==
                programme_account(s).id, programme_account(s).may_go_negative, len(sinks))

    assert uow.run(work) == (True, False, ORGANISATION, True, True, 2)


def test_an_account_opened_in_the_same_transaction_can_be_credited(uow: UnitOfWork) -> None:
    def work(s):  # type: ignore[no-untyped-def]
        store = s.scalars(select(Store.id).where(Store.code == "DSC")).one()
        account = open_account(s, MEMBER, "member:new", store)
        posted = post(s, NewTransfer(id=uuid.uuid4(), debit=programme_account(s).id, credit=account.id,
                                     amount=7, code=VOLUNTEER_HOURS, ref="welcome", actor="manager-dsc"))
        # The ORM object the caller holds shows the new balance, not the one it loaded.
        return posted.credit_balance_after, account.balance, get_account(s, account.id).version

    assert uow.run(work) == (7, 7, 1)


def test_statement_lists_entries_newest_first_with_running_balance(book: Book) -> None:
    alice = book.members[0]
    book.earn(alice, 100)
    sale = book.spend(alice, 30)
    book.earn(alice, 5, code=DONATION)
    book.uow.run(lambda s: reverse(s, sale.id, id=uuid.uuid4(), actor="manager-dsc"))
    book.spend(alice, 1)

    page = book.uow.read(lambda s: statement(s, alice, limit=3))
    assert page.balance == 104 and page.version == 5
    assert [(e.code, e.amount, e.balance_after) for e in page.entries] == [
        (REDEMPTION, -1, 104), (REVERSAL, 30, 105), (DONATION, 5, 75)]
    assert [e.seq for e in page.entries] == [5, 4, 3]
    older = book.uow.read(lambda s: statement(s, alice, limit=3, before_version=page.next_before_version))
    assert [(e.code, e.amount, e.balance_after) for e in older.entries] == [
        (REDEMPTION, -30, 70), (VOLUNTEER_HOURS, 100, 100)]
    assert older.next_before_version is None
    sink = book.uow.read(lambda s: statement(s, book.sink))
    assert [(e.amount, e.balance_after) for e in sink.entries] == [(1, 1), (-30, 0), (30, 30)]


def test_the_database_refuses_to_change_or_delete_a_transfer(book: Book, uow: UnitOfWork) -> None:
    book.earn(book.members[0], 10)
    for statement_text in ("UPDATE ledger_transfers SET amount = 11", "DELETE FROM ledger_transfers"):
        with pytest.raises(DBAPIError, match="append-only"):
            uow.run(lambda s, sql=statement_text: s.execute(text(sql)))
    if uow.session_factory.kw["bind"].dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            uow.run(lambda s: s.execute(text("TRUNCATE ledger_transfers CASCADE")))
    assert journal_count(uow) == 1 and verify_now(uow).ok


def test_the_database_keeps_members_at_or_above_zero(book: Book, uow: UnitOfWork) -> None:
    alice = book.members[0]
    with pytest.raises(DBAPIError):
        uow.run(lambda s: s.execute(update(Account).where(Account.id == alice).values(balance=-1)))
    # System accounts may go negative.
    uow.run(lambda s: s.execute(update(Account).where(Account.id == book.sink).values(balance=-1)))
