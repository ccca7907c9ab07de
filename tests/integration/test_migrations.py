"""The schema comes only from migrations; they go up, down and up again, and match the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from core.db import Base, make_engine
from pos import migrate
from pos.models import import_all_models
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
