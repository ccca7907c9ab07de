from __future__ import annotations

import click

from pos import config as config_module
from pos import migrate


def database_url() -> str:
    return config_module.from_environment().get("DATABASE_URL") or config_module.DEFAULTS["DATABASE_URL"]


@click.group("db")
def db_group() -> None:
    """The database schema (Alembic)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """Apply migrations to CREDITMART_DATABASE_URL."""
    url = database_url()
    ensure_sqlite_dir(url)
    migrate.upgrade(url, revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (use 'base' for an empty database)."""
    migrate.downgrade(database_url(), revision)
    click.echo(f"database at {revision}")


def ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///"):
        from pathlib import Path

        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def register(main: click.Group) -> None:
    main.add_command(db_group)
