"""Fixtures in the flaskr style: `app`, `client`, `runner`, on SQLite and on PostgreSQL.

Every database test runs twice: `[sqlite]` always, `[postgres]` when CREDITMART_TEST_POSTGRES_URL is set
(skipped with a message otherwise, and a failure when CI is set).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from core.db import UnitOfWork, make_engine, make_session_factory
from pos import create_app
from tests.databases import Templates, drop_pg_database, postgres_admin_url
from tests.support import Api, seed_database

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    t = Templates(tmp_path_factory.mktemp("databases"), seed_database)
    yield t
    t.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, templates: Templates) -> Iterator[str]:
    """A fresh, migrated, seeded database (see tests/support.py for the seed)."""
    if request.param == "sqlite":
        yield templates.sqlite()
        return
    name, url = templates.postgres()
    yield url
    drop_pg_database(postgres_admin_url(), name)


@pytest.fixture
def postgres_db_url(templates: Templates) -> Iterator[str]:
    """For the few tests of PostgreSQL-only behaviour (row locks, SKIP LOCKED)."""
    name, url = templates.postgres()
    yield url
    drop_pg_database(postgres_admin_url(), name)


@pytest.fixture
def uow(db_url: str) -> Iterator[UnitOfWork]:
    engine = make_engine(db_url)
    yield UnitOfWork(make_session_factory(engine))
    engine.dispose()


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": TEST_SECRET,
                      "BUREAU_KEY_FILE": str(tmp_path / "bureau-key.pem")})  # never the repo's instance/
    yield app
    app.extensions["creditmart.db"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    """The test client with a login for any seeded user: `api.as_("clerk-dsc").post(...)`."""
    return Api(app, client)


@pytest.fixture
def runner(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("CREDITMART_DATABASE_URL", db_url)
    monkeypatch.setenv("CREDITMART_SECRET_KEY", TEST_SECRET)
    return CliRunner()
