from __future__ import annotations

from pathlib import Path

import click
from alembic.util import CommandError

from pos import migrate
from pos.config import database_url


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


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does (also its file name).")
@click.option("--autogenerate", is_flag=True,
              help="Compare the models with CREDITMART_DATABASE_URL (upgraded to head) and write the difference.")
@click.option("--version-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the file here instead of migrations/versions, to look at it first.")
def revision(message: str, autogenerate: bool, version_dir: Path | None) -> None:
    """Write a new migration, numbered after the last one. Read it before committing it: autogenerate misses
    some changes (renames, some constraints) and cannot move data."""
    if version_dir is not None:
        version_dir.mkdir(parents=True, exist_ok=True)
    try:
        new = migrate.revision(database_url(), message, autogenerate=autogenerate, version_dir=version_dir)
    except CommandError as exc:  # e.g. "Target database is not up to date."
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {new.path}")
    if autogenerate and new.empty:
        click.echo("no schema changes detected: the models and the migrations agree")


def ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def register(main: click.Group) -> None:
    main.add_command(db_group)
