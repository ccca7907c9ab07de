"""The one declarative base, engines tuned for SQLite and PostgreSQL, and the unit of work.

Domain packages (ledger, inventory) define their models on `Base` and take a `Session`;
they never commit. The use case that owns the transaction runs inside `UnitOfWork.run`.
"""

from __future__ import annotations

import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware UTC datetime, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times are stored in UTC and must carry their offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings the ledger's invariants rely on.

    SQLite: WAL, synchronous=FULL (village power cuts), foreign keys, a long busy timeout, and
    transactions that begin with BEGIN IMMEDIATE unless the connection is marked read-only, so two
    writers serialise at BEGIN instead of failing when a read lock is upgraded.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, in_memory=parsed.database in (None, "", ":memory:"))
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        url = str(parsed.set(drivername="postgresql+psycopg"))
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "DEFERRED" if conn.get_execution_options().get("read_only") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "sqlite"


# PostgreSQL serialization_failure, deadlock_detected, lock_not_available; SQLite's busy/locked.
_RETRYABLE_PG = {"40001", "40P01", "55P03"}


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in _RETRYABLE_PG:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


# SQLite admits one writer at a time, and a writer that finds the database locked sleeps in SQLite's busy handler
# with a growing backoff (1, 2, 5 ... 100 ms), so under load some writes wait for seconds while others pass. Within
# one process, writers queue on a lock instead and take the database lock as soon as it is free. Between processes
# (two servers, or the server and a CLI command) only SQLite serialises them: BEGIN IMMEDIATE, the busy timeout and
# UnitOfWork's retries, which tests/integration/test_ledger_processes.py races from separate processes.
_writer_locks: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_writer_locks_guard = threading.Lock()


@contextmanager
def _one_writer(session_factory: sessionmaker[Session]) -> Iterator[None]:
    engine = session_factory.kw.get("bind")
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        yield  # PostgreSQL: row locks, writers run side by side
        return
    with _writer_locks_guard:
        lock = _writer_locks.setdefault(engine, threading.RLock())
    with lock:
        yield


class UnitOfWork:
    """One business transaction. Rolls back unless `run` finishes its work.

    `run(work)` begins, calls `work(session)`, commits, and retries the whole function on
    serialization failures and deadlocks, so `work` must be safe to run again from scratch.
    """

    def __init__(self, session_factory: sessionmaker[Session], *, attempts: int = 8) -> None:
        self.session_factory = session_factory
        self.attempts = attempts

    def run(self, work: Callable[[Session], T]) -> T:
        with _one_writer(self.session_factory):
            return self._run(work)

    def _run(self, work: Callable[[Session], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            session = self.session_factory()
            try:
                with session.begin():
                    result = work(session)
                return result
            except DBAPIError as exc:
                if attempt == self.attempts or not is_retryable(exc):
                    raise
                time.sleep(min(0.2, 0.005 * 2**attempt) * random.random())
            finally:
                session.close()
        raise AssertionError("unreachable")

    def read(self, work: Callable[[Session], T]) -> T:
        """A read-only transaction: on SQLite it does not take the write lock."""
        session = self.session_factory()
        try:
            session.connection(execution_options={"read_only": True})
            return work(session)
        finally:
            session.rollback()
            session.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
