"""Fresh databases for tests: a migrated SQLite file copied per test, and PostgreSQL from a template.

The schema is made by the migrations, once per run per engine, then cloned: SQLite by copying the
file, PostgreSQL by CREATE DATABASE ... TEMPLATE. Both start with the same seed (see `seed`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pos import migrate

PG_ENV = "CREDITMART_TEST_POSTGRES_URL"


def postgres_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set: in CI the PostgreSQL tests must run, not be skipped")
        pytest.skip(f"PostgreSQL variant skipped: set {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/postgres)")
    return url


def _pg_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False)


@contextmanager
def _pg_admin(admin_url: str) -> Iterator:
    engine = create_engine(_pg_url(admin_url, make_url(admin_url).database or "postgres"),
                           isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def create_pg_database(admin_url: str, template: str | None = None) -> tuple[str, str]:
    name = f"cm_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin(admin_url) as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    return name, _pg_url(admin_url, name)


def drop_pg_database(admin_url: str, name: str) -> None:
    with _pg_admin(admin_url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Templates:
    """Migrated and seeded databases made once per run, cloned for each test."""

    def __init__(self, workdir: Path, seed: Callable[[str], None]) -> None:
        self.workdir = workdir
        self.seed = seed
        self._sqlite: Path | None = None
        self._pg: tuple[str, str] | None = None

    def sqlite(self) -> str:
        if self._sqlite is None:
            path = self.workdir / "template.db"
            url = f"sqlite:///{path}"
            migrate.upgrade(url)
            self.seed(url)
            self._sqlite = path
        target = self.workdir / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self._sqlite, target)
        return f"sqlite:///{target}"

    def postgres(self) -> tuple[str, str]:
        admin = postgres_admin_url()
        if self._pg is None:
            name, url = create_pg_database(admin)
            migrate.upgrade(url)
            self.seed(url)
            self._pg = (name, url)
        return create_pg_database(admin, template=self._pg[0])

    def close(self) -> None:
        if self._pg is not None:
            drop_pg_database(postgres_admin_url(), self._pg[0])
