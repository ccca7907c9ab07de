"""ledger.members on SQLite and PostgreSQL: registering with an account and a card, resolving scans, reissuing
a lost card (the balance stays), searching, and the statement."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from core.errors import Forbidden, ValidationFailed
from ledger.accounts import balance, programme_account
from ledger.cards import new_card_number
from ledger.members import (
    BLOCKED,
    CardBlocked,
    Member,
    MemberCard,
    MemberConflict,
    UnknownCard,
    UnknownMember,
    active_card,
    cards_of,
    find_members,
    member_info,
    member_statement,
    register_member,
    reissue_card,
    resolve_card,
)
from ledger.models import MEMBER, VOLUNTEER_HOURS, Account
from ledger.posting import NewTransfer, post
from tests.support import store_id


def register(uow: UnitOfWork, name: str = "史玉兰", phone: str | None = "13318890789", store: str = "DSC",
             household: str | None = "DSC-003", **kwargs) -> tuple[uuid.UUID, str]:  # type: ignore[no-untyped-def]
    """Registers a member; returns their id and card number."""
    member_id = uuid.uuid4()

    def work(session: Session) -> str:
        register_member(session, member_id, name, phone, household, store_id(session, store), "manager-dsc",
                        **kwargs)
        card = active_card(session, member_id)
        assert card is not None
        return card.card_number

    return member_id, uow.run(work)


def give_points(uow: UnitOfWork, member_id: uuid.UUID, amount: int) -> int:
    """Credits the member from the volunteer programme through the ledger; returns the transfer's seq."""

    def work(session: Session) -> int:
        account_id = session.get(Member, member_id).account_id
        source = programme_account(session)
        return post(session, NewTransfer(id=uuid.uuid4(), debit=source.id, credit=account_id, amount=amount,
                                         code=VOLUNTEER_HOURS, ref=f"test:hours:{amount}", actor="manager-dsc")).seq

    return uow.run(work)


def counts(uow: UnitOfWork) -> tuple[int, int, int]:
    return uow.read(lambda s: (s.scalar(select(func.count()).select_from(Member)),
                               s.scalar(select(func.count()).select_from(MemberCard)),
                               s.scalar(select(func.count()).select_from(Account).where(Account.kind == MEMBER))))


def test_registration_opens_an_account_issues_a_card_and_records_consent(uow: UnitOfWork) -> None:
    member_id, card_number = register(uow, phone="１３３１８８９０７８９")

    def check(session: Session) -> None:
        member = session.get(Member, member_id)
        assert member.name == "史玉兰" and member.phone == "13318890789" and member.status == "active"
        assert member.consent_recorded_by == "manager-dsc" and member.consent_at.tzinfo is not None
        account = session.get(Account, member.account_id)
        assert (account.kind, account.owner_ref, account.store_id, account.balance) == (
            MEMBER, str(member_id), member.store_id, 0)
        assert len(card_number) == 16 and card_number.isdigit()
        found, card = resolve_card(session, card_number)
        assert found.id == member_id and card.status == "active" and card.issued_by == "manager-dsc"

    uow.read(check)


def test_registration_refuses_bad_facts_and_stores_nothing(uow: UnitOfWork) -> None:
    before = counts(uow)
    for name, phone, field in (("", None, "name"), ("x" * 10_240, None, "name"), ("李伟", "12345", "phone")):
        with pytest.raises(ValidationFailed) as refused:
            register(uow, name=name, phone=phone)
        assert field in refused.value.details
    assert counts(uow) == before


def test_registering_the_same_id_again_is_a_replay_or_a_conflict(uow: UnitOfWork) -> None:
    member_id, card_number = register(uow)
    dsc = uow.read(lambda s: store_id(s, "DSC"))

    def again(session: Session, name: str) -> Member:
        return register_member(session, member_id, name, "13318890789", "DSC-003", dsc, "clerk-dsc")

    assert uow.run(lambda s: again(s, "史玉兰")).id == member_id
    with pytest.raises(MemberConflict):
        uow.run(lambda s: again(s, "史玉梅"))
    assert counts(uow)[1] == 1


def test_a_clashing_card_number_is_drawn_again(uow: UnitOfWork) -> None:
    _, taken = register(uow)
    fresh = new_card_number()
    draws = iter([taken, taken, fresh])
    member_id, card_number = register(uow, name="康晓东", phone=None, draw=lambda: next(draws))
    assert card_number == fresh
    assert counts(uow)[1] == 2


def test_the_database_refuses_two_active_cards_for_one_member(uow: UnitOfWork) -> None:
    member_id, _ = register(uow)
    with pytest.raises(IntegrityError):
        uow.run(lambda s: s.add(MemberCard(card_number=new_card_number(), member_id=member_id, status="active",
                                           issued_by="x")) or s.flush())


def test_unknown_and_malformed_scans_are_unknown_cards(uow: UnitOfWork) -> None:
    register(uow)
    number = new_card_number()
    for scan, reason in ((number, "not_issued"), ("6901234567892", "not_a_card_number"), ("", "not_a_card_number"),
                         (number[:-1] + str((int(number[-1]) + 1) % 10), "not_a_card_number")):
        with pytest.raises(UnknownCard) as refused:
            uow.read(lambda s, scan=scan: resolve_card(s, scan))
        assert refused.value.details["reason"] == reason


def test_a_scan_is_normalised_and_a_shop_sees_only_its_own_members(uow: UnitOfWork) -> None:
    member_id, card_number = register(uow, store="XHC", household="XHC-008")
    full_width = "".join(chr(ord(d) + 0xFEE0) for d in card_number) + "\n"
    grouped = " ".join(card_number[i:i + 4] for i in range(0, 16, 4))
    xhc, dsc = uow.read(lambda s: (store_id(s, "XHC"), store_id(s, "DSC")))
    for scan in (full_width, grouped):
        assert uow.read(lambda s, scan=scan: resolve_card(s, scan, store_id=xhc)[0].id) == member_id
    with pytest.raises(Forbidden):
        uow.read(lambda s: resolve_card(s, card_number, store_id=dsc))


def test_reissue_blocks_the_old_card_and_the_balance_stays(uow: UnitOfWork) -> None:
    member_id, old_number = register(uow)
    give_points(uow, member_id, 120)
    new = uow.run(lambda s: reissue_card(s, member_id, "manager-dsc"))
    assert new.card_number != old_number

    with pytest.raises(CardBlocked) as refused:
        uow.read(lambda s: resolve_card(s, old_number))
    assert refused.value.details == {"replaced": True, "name": "史玉兰"}  # the new number is not told

    def check(session: Session) -> None:
        member, card = resolve_card(session, new.card_number)
        assert member.id == member_id and balance(session, member.account_id) == 120
        cards = cards_of(session, member_id)
        assert [c.card_number for c in cards] == [new.card_number, old_number]
        old = cards[1]
        assert old.status == BLOCKED and old.blocked_at is not None and old.replaced_by == new.card_number

    uow.read(check)
    # A second loss: the second card is blocked in turn, and still only one card is active.
    third = uow.run(lambda s: reissue_card(s, member_id, "manager-dsc"))
    assert uow.read(lambda s: active_card(s, member_id).card_number) == third.card_number
    with pytest.raises(UnknownMember):
        uow.run(lambda s: reissue_card(s, uuid.uuid4(), "manager-dsc"))


@pytest.fixture
def villagers(uow: UnitOfWork) -> Iterator[dict[str, tuple[uuid.UUID, str]]]:
    people = {
        "史玉兰": register(uow, "史玉兰", "13318890789", "DSC", "DSC-003"),
        "曹玉兰": register(uow, "曹玉兰", "13899260526", "DSC", "DSC-023"),
        "杨明": register(uow, "杨明", "13239451004", "DSC", "DSC-018"),
        "50%_x": register(uow, "50%_x", None, "DSC", None),
        "金玉兰": register(uow, "金玉兰", "13598022387", "XHC", "XHC-004"),
    }
    yield people


def names(found) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(info.name for info in found)


def test_search_by_name_fragment_phone_card_and_household(uow: UnitOfWork, villagers) -> None:  # type: ignore[no-untyped-def]
    dsc = uow.read(lambda s: store_id(s, "DSC"))

    def search(q: str, store: int | None = dsc) -> list[str]:
        return names(uow.read(lambda s: find_members(s, store, q)))

    assert search("玉兰") == ["史玉兰", "曹玉兰"]
    assert search("玉兰", None) == ["史玉兰", "曹玉兰", "金玉兰"]
    assert search("13239451004") == ["杨明"]
    assert search("1004") == ["杨明"]
    assert search("０５２６") == ["曹玉兰"]
    assert search(villagers["杨明"][1]) == ["杨明"]
    assert search(villagers["金玉兰"][1]) == []  # another shop's card, searched within DSC
    assert search("DSC-023") == ["曹玉兰"]
    assert search("%") == ["50%_x"] and search("_") == ["50%_x"]  # wildcards are taken literally
    assert search("123") == [] and search("") == [] and search("王") == []


def test_search_by_a_blocked_card_still_finds_its_owner(uow: UnitOfWork, villagers) -> None:  # type: ignore[no-untyped-def]
    member_id, old_number = villagers["杨明"]
    uow.run(lambda s: reissue_card(s, member_id, "manager-dsc"))
    assert names(uow.read(lambda s: find_members(s, None, old_number))) == ["杨明"]


def test_member_info_and_statement_pages_by_seq(uow: UnitOfWork) -> None:
    member_id, card_number = register(uow)
    other_id, _ = register(uow, name="杨明", phone=None)
    seqs = []
    for amount in (10, 20, 30, 40, 50):
        seqs.append(give_points(uow, member_id, amount))
        give_points(uow, other_id, 1)  # interleaved: the member's seqs are not consecutive

    info = uow.read(lambda s: member_info(s, member_id))
    assert (info.balance, info.card_number, info.store_code) == (150, card_number, "DSC")

    first = uow.read(lambda s: member_statement(s, member_id, limit=2))
    assert first.balance == 150
    assert [(e.seq, e.amount, e.balance_after) for e in first.entries] == [(seqs[4], 50, 150), (seqs[3], 40, 100)]
    older = uow.read(lambda s: member_statement(s, member_id, limit=2, before_seq=first.entries[-1].seq))
    assert [e.seq for e in older.entries] == [seqs[2], seqs[1]]
    oldest = uow.read(lambda s: member_statement(s, member_id, limit=2, before_seq=older.entries[-1].seq))
    assert [(e.seq, e.balance_after) for e in oldest.entries] == [(seqs[0], 10)]
    assert uow.read(lambda s: member_statement(s, member_id, before_seq=seqs[0])).entries == []
    with pytest.raises(UnknownMember):
        uow.read(lambda s: member_statement(s, "not-a-uuid"))
