"""Exactly-once creation over HTTP (DESIGN invariant 4).

A POST that creates something carries a client-generated id. The first request runs the use case and
stores its answer beside the effect, in the same transaction; a replay with the same body gets that
answer back; the same id with another body is refused. The record is inserted *before* the work, so
a concurrent twin waits on its primary key and then reads the stored answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Integer, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UnitOfWork, UTCDateTime, utcnow
from core.errors import IdempotencyConflict

Answer = tuple[dict[str, Any], int]


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def request_fingerprint(body: BaseModel | dict[str, Any]) -> str:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_once(
    uow: UnitOfWork,
    scope: str,
    key: str,
    body: BaseModel | dict[str, Any],
    create: Callable[[Session], Answer],
) -> Answer:
    """Run `create` once per (scope, key); replays return the stored answer."""
    fingerprint = request_fingerprint(body)

    def work(session: Session) -> Answer:
        existing = session.get(IdempotencyRecord, (scope, key))
        if existing is not None:
            return _replay(existing, fingerprint)
        record = IdempotencyRecord(scope=scope, key=key, request_hash=fingerprint, status_code=0, response={})
        session.add(record)
        session.flush()  # takes the key now: a concurrent twin blocks here until we finish
        answer, status = create(session)
        record.response, record.status_code = answer, status
        return answer, status

    try:
        return uow.run(work)
    except IntegrityError as lost:
        # Lost the race to a twin that committed first: answer as it did.
        def replay(session: Session, race: IntegrityError = lost) -> Answer:
            existing = session.get(IdempotencyRecord, (scope, key))
            if existing is None:
                raise race
            return _replay(existing, fingerprint)

        return uow.run(replay)


def _replay(record: IdempotencyRecord, fingerprint: str) -> Answer:
    if record.request_hash != fingerprint:
        raise IdempotencyConflict("id reused with a different body", id=record.key)
    return record.response, record.status_code
