"""Opening accounts and finding them: holders' accounts and the system accounts.

Every function here is get-or-create and safe to run again (a UnitOfWork retry, a replayed request, two
tablets at once): the insert is `ON CONFLICT DO NOTHING` on (kind, owner_ref), then the row is read back.
"""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import ValidationFailed
from ledger.errors import AccountConflict, UnknownAccount
from ledger.models import (
    ADJUSTMENTS,
    DONATION_FUND,
    HOLDER_KINDS,
    PROGRAMME,
    REDEMPTION_SINK,
    Account,
)

accounts_table = Account.__table__


def open_account(session: Session, kind: str, owner_ref: str, store_id: int | None = None) -> Account:
    """The account of a holder (`member` or `organisation`), opened on first call, returned after.

    `owner_ref` names the holder in its own registry (the members issue uses the member's id). Holders'
    accounts never go below zero. Opening again with another store is refused (AccountConflict).
    """
    if kind not in HOLDER_KINDS:
        raise ValidationFailed("holders' accounts are member or organisation", kind=f"must be one of {HOLDER_KINDS}")
    return _get_or_create(session, kind, owner_ref, store_id, may_go_negative=False)


def programme_account(session: Session) -> Account:
    """The volunteer-programme source: volunteer_hours transfers debit it. It goes negative by design."""
    return _get_or_create(session, PROGRAMME, PROGRAMME, None, may_go_negative=True)


def donation_fund_account(session: Session) -> Account:
    """The donation fund: donation transfers debit it."""
    return _get_or_create(session, DONATION_FUND, DONATION_FUND, None, may_go_negative=True)


def adjustments_account(session: Session) -> Account:
    """The other side of manual corrections (code `adjustment`)."""
    return _get_or_create(session, ADJUSTMENTS, ADJUSTMENTS, None, may_go_negative=True)


def redemption_sink(session: Session, store_id: int) -> Account:
    """The shop's redemption sink: redemption transfers credit it; its balance is what the shop has taken in."""
    return _get_or_create(session, REDEMPTION_SINK, f"store:{store_id}", store_id, may_go_negative=True)


def find_account(session: Session, kind: str, owner_ref: str) -> Account | None:
    return session.scalars(
        select(Account).where(Account.kind == kind, Account.owner_ref == owner_ref)
        .execution_options(populate_existing=True)
    ).one_or_none()


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id, populate_existing=True)
    if account is None:
        raise UnknownAccount("no such account", account_id=account_id)
    return account


def balance(session: Session, account_id: int) -> int:
    """The account's balance (the cached balance, which verify proves equal to the sum of its entries)."""
    value = session.execute(select(Account.balance).where(Account.id == account_id)).scalar_one_or_none()
    if value is None:
        raise UnknownAccount("no such account", account_id=account_id)
    return value


def _get_or_create(session: Session, kind: str, owner_ref: str, store_id: int | None, *,
                   may_go_negative: bool) -> Account:
    if not isinstance(owner_ref, str) or not 0 < len(owner_ref) <= 64:
        raise ValidationFailed("owner_ref is 1 to 64 characters", owner_ref="1 to 64 characters")
    account = find_account(session, kind, owner_ref)
    if account is None:
        session.flush()
        _insert_if_missing(session.connection(), kind, owner_ref, store_id, may_go_negative)
        account = find_account(session, kind, owner_ref)
        assert account is not None
    if account.store_id != store_id:
        raise AccountConflict("the account exists for another store", account_id=account.id,
                              store_id=account.store_id)
    return account


def _insert_if_missing(conn: Connection, kind: str, owner_ref: str, store_id: int | None,
                       may_go_negative: bool) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(accounts_table)
        .values(kind=kind, owner_ref=owner_ref, store_id=store_id, may_go_negative=may_go_negative,
                balance=0, version=0, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["kind", "owner_ref"])
    )

