"""Factories shared by the earning tests (no tests here): members, activities and times in the shop's zone."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork, utcnow
from ledger import earning
from ledger.members import active_card, register_member
from ledger.models import Transfer
from tests.support import store_id

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(days_ago: int = 30, hour: int = 18, minute: int = 0) -> datetime:
    """A local (Asia/Shanghai) time some days back, so it is safely in the past whatever today is."""
    day = (utcnow().astimezone(SHANGHAI) - timedelta(days=days_ago)).date()
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def member(uow: UnitOfWork, store: str = "DSC", name: str = "王小英") -> tuple[uuid.UUID, str]:
    """A new member of `store`: (member id, card number)."""
    def work(session: Session) -> tuple[uuid.UUID, str]:
        m = register_member(session, uuid.uuid4(), name, None, None, store_id(session, store),
                            f"manager-{store.lower()}")
        card = active_card(session, m.id)
        assert card is not None
        return m.id, card.card_number
    return uow.run(work)


def activity(uow: UnitOfWork, store: str = "DSC", category: str = "环境整治", starts_at: datetime | None = None,
             title: str = "村道清扫") -> uuid.UUID:
    def work(session: Session) -> uuid.UUID:
        cat = earning.find_category(session, category)
        a = earning.create_activity(session, uuid.uuid4(), title, cat.id, store_id(session, store),
                                    starts_at or local(), f"coordinator-{store.lower()}")
        return a.id
    return uow.run(work)


def transfers_for(session: Session, contribution_id: uuid.UUID) -> int:
    return session.scalar(select(func.count()).select_from(Transfer)
                          .where(Transfer.ref == f"contribution:{contribution_id}")) or 0
