from __future__ import annotations

import sys

import click

from core.stores import get_store_by_code
from pos.auth import ROLES, create_user
from pos.cli.context import make_app, unit_of_work


@click.group("user")
def user_group() -> None:
    """Users and their roles."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--store", "store_code", default=None, help="Shop code; required for shop roles.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def add(username: str, role: str, store_code: str | None, password_stdin: bool) -> None:
    """Create a user."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("the password needs at least 8 characters")
    app = make_app()

    def work(session):  # type: ignore[no-untyped-def]
        store = get_store_by_code(session, store_code) if store_code else None
        return create_user(session, username, password, role, store).id

    try:
        user_id = unit_of_work(app).run(work)
    except Exception as exc:  # a domain refusal or a duplicate name: say it plainly
        raise click.ClickException(f"cannot add user {username!r}: {exc}") from None
    click.echo(f"user {username} ({role}) created with id {user_id}")


def register(main: click.Group) -> None:
    main.add_command(user_group)
