"""Migrations down and up again on a populated database.

Going down past 0002 drops the ledger (there is nothing to keep it in), so the two directions test two things:
- down to 0002 and up to head (every later migration reverted and re-applied around a populated journal): the
  journal, its chain head and every balance survive, verify passes, posting goes on, the triggers still hold;
- down to 0001 and up to head: the foundation's data (shops, users) survives, the ledger comes back empty with
  its triggers, verify passes and posting starts again from seq 1.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from core.db import UnitOfWork, make_engine, make_session_factory
from core.stores import Store
from ledger import reverse
from pos import migrate
from pos.auth import User
from tests.test_ledger_support import open_book, verify_now


def populate(uow: UnitOfWork) -> None:
    book = open_book(uow)
    alice, bob, _ = book.members
    book.earn(alice, 100)
    sale = book.spend(alice, 40)
    book.earn(bob, 7)
    uow.run(lambda s: reverse(s, sale.id, id=uuid.uuid4(), actor="manager-dsc"))


def fresh_uow(db_url: str) -> UnitOfWork:
    return UnitOfWork(make_session_factory(make_engine(db_url)))


def close(uow: UnitOfWork) -> None:
    uow.session_factory.kw["bind"].dispose()


def counts(uow: UnitOfWork) -> tuple[int, int]:
    return uow.read(lambda s: (s.scalar(select(func.count()).select_from(Store)),
                               s.scalar(select(func.count()).select_from(User))))


def test_later_migrations_go_down_and_up_around_a_populated_journal(db_url: str) -> None:
    uow = fresh_uow(db_url)
    populate(uow)
    before = verify_now(uow)
    balances = uow.read(lambda s: s.execute(text("SELECT id, balance, version FROM ledger_accounts ORDER BY id")).all())
    close(uow)

    migrate.downgrade(db_url, "0002")
    migrate.upgrade(db_url)

    uow = fresh_uow(db_url)
    try:
        after = verify_now(uow)
        assert after.ok and (after.transfers, after.head_seq, after.head_hash) == (
            before.transfers, before.head_seq, before.head_hash)
        assert uow.read(lambda s: s.execute(
            text("SELECT id, balance, version FROM ledger_accounts ORDER BY id")).all()) == balances
        book = open_book(uow)
        assert book.earn(book.members[0], 5).seq == before.head_seq + 1
        assert verify_now(uow).ok
        with pytest.raises(DBAPIError, match="append-only"):
            uow.run(lambda s: s.execute(text("UPDATE ledger_transfers SET amount = 1")))
    finally:
        close(uow)


def test_down_to_the_foundation_and_up_again_keeps_shops_and_users_and_a_sound_ledger(db_url: str) -> None:
    uow = fresh_uow(db_url)
    populate(uow)
    shops_and_users = counts(uow)
    close(uow)

    migrate.downgrade(db_url, "0001")
    migrate.upgrade(db_url)

    uow = fresh_uow(db_url)
    try:
        assert counts(uow) == shops_and_users
        empty = verify_now(uow)
        assert empty.ok and empty.transfers == 0 and empty.head_seq == 0
        book = open_book(uow)
        assert book.earn(book.members[0], 5).seq == 1
        assert verify_now(uow).ok
        with pytest.raises(DBAPIError, match="append-only"):
            uow.run(lambda s: s.execute(text("DELETE FROM ledger_transfers")))
    finally:
        close(uow)
