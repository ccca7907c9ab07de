"""The schema comes only from migrations; they go up, down and up again, and match the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from core.db import Base, UnitOfWork, make_engine, make_session_factory
from core.stores import create_store
from pos import migrate
from pos.models import import_all_models
from pos.print_jobs import enqueue_document
from printers.documents import Receipt, ReceiptLine
from printers.render import render
from tests.databases import create_pg_database, drop_pg_database, postgres_admin_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = postgres_admin_url()
    name, url = create_pg_database(admin)
    yield url
    drop_pg_database(admin, name)


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    import_all_models()
    migrate.upgrade(empty_db_url)
    assert table_names(empty_db_url) == set(Base.metadata.tables)
    migrate.downgrade(empty_db_url, "base")
    assert table_names(empty_db_url) == set()
    migrate.upgrade(empty_db_url)
    assert table_names(empty_db_url) == set(Base.metadata.tables)


def test_models_and_migrations_agree(empty_db_url: str) -> None:
    import_all_models()
    migrate.upgrade(empty_db_url)
    engine = create_engine(empty_db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "compare_server_default": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_downgrading_past_0010_renders_the_jobs_kept_as_documents(empty_db_url: str) -> None:
    """Before 0010 a job had to hold its bytes: the downgrade renders each queued document (58 mm) into them."""
    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    uow = UnitOfWork(make_session_factory(engine))
    sold_at = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    receipt = Receipt(sale_id="s-1", store_name="东山村信用超市", sold_at=sold_at, clerk="王小红", member_name="杨明",
                      card_number="100000123456", lines=[ReceiptLine("东北大米 5kg", 2, 35)], points_total=70,
                      balance_before=100, balance_after=30)
    try:
        def work(session: Session) -> uuid.UUID:
            store = create_store(session, "DSC", "东山村信用超市")
            return enqueue_document(session, store.id, receipt, now=sold_at).id

        job_id = uow.run(work)
    finally:
        engine.dispose()
    migrate.downgrade(empty_db_url, "0009")
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            payload = conn.execute(text("SELECT payload FROM print_jobs WHERE id = :id"),
                                   {"id": job_id.hex if empty_db_url.startswith("sqlite") else job_id}).scalar_one()
    finally:
        engine.dispose()
    assert bytes(payload) == render(receipt, 58)
    migrate.upgrade(empty_db_url)
