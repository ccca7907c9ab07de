"""The schema comes only from migrations; they go up, down and up again, and match the models."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from core.db import Base, UnitOfWork, make_engine, make_session_factory
from core.stores import create_store
from pos import migrate
from pos.cli import main
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


def head_revision() -> str:
    heads = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1
    return heads[0]


def test_db_revision_autogenerate_on_an_upgraded_database_is_empty(empty_db_url: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`creditmart db revision --autogenerate`, the way a developer would start a migration: against a database at
    head it writes a migration with nothing in it, numbered after the last one. Written to a scratch folder."""
    monkeypatch.setenv("CREDITMART_DATABASE_URL", empty_db_url)
    repo_versions = sorted(p.name for p in migrate.VERSIONS_DIR.glob("*.py"))
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    scratch = tmp_path / "new-versions"
    result = runner.invoke(main, ["db", "revision", "-m", "check for drift", "--autogenerate",
                                  "--version-dir", str(scratch)])
    assert result.exit_code == 0, result.output
    assert "no schema changes detected" in result.output
    [written] = list(scratch.glob("*.py"))
    number = f"{int(head_revision()) + 1:04d}"
    assert written.name == f"{number}_check_for_drift.py"
    module = ast.parse(written.read_text())
    assigned = {node.targets[0].id: ast.literal_eval(node.value) for node in module.body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    assert assigned["revision"] == number and assigned["down_revision"] == head_revision()
    bodies = {node.name: node.body for node in module.body if isinstance(node, ast.FunctionDef)}
    assert [type(statement) for statement in bodies["upgrade"]] == [ast.Pass]
    assert [type(statement) for statement in bodies["downgrade"]] == [ast.Pass]
    assert sorted(p.name for p in migrate.VERSIONS_DIR.glob("*.py")) == repo_versions  # nothing left in the repo


def test_db_revision_autogenerate_refuses_a_database_behind_head(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITMART_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    scratch = tmp_path / "new-versions"
    result = CliRunner().invoke(main, ["db", "revision", "-m", "too early", "--autogenerate",
                                       "--version-dir", str(scratch)])
    assert result.exit_code == 1
    assert "not up to date" in result.output
    assert list(scratch.glob("*.py")) == []


def test_alembic_command_line_uses_alembic_ini_and_the_configured_database(empty_db_url: str) -> None:
    """Plain `alembic -c migrations/alembic.ini ...` works, on the database CREDITMART_DATABASE_URL names."""
    root = Path(__file__).resolve().parents[2]
    env = os.environ | {"CREDITMART_DATABASE_URL": empty_db_url,
                        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}

    def alembic(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "alembic", "-c", str(root / "migrations" / "alembic.ini"),
                               *args], env=env, cwd=root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert alembic("heads").split() == [head_revision(), "(head)"]
    assert alembic("current").strip() == ""  # an empty database
    migrate.upgrade(empty_db_url)
    assert alembic("current").split() == [head_revision(), "(head)"]
