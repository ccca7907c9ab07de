from __future__ import annotations

import sys

import click
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import DomainError
from core.stores import get_store_by_code
from pos.auth import ROLES, Account, create_user, users_of
from pos.cli.context import database


@click.group("user")
def user_group() -> None:
    """Users and their roles."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--store", "store_code", default=None, help="Shop code; required for shop roles.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
def add(username: str, role: str, store_code: str | None, password_stdin: bool) -> None:
    """Create a user."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)

    def work(session: Session) -> int:
        store = get_store_by_code(session, store_code) if store_code else None
        return create_user(session, username, password, role, store).id

    try:
        with database() as uow:
            user_id = uow.run(work)
    except DomainError as exc:
        raise click.ClickException(f"cannot add user {username!r}: {_explain(exc)}") from None
    except IntegrityError:
        raise click.ClickException(f"cannot add user {username!r}: username already taken") from None
    click.echo(f"user {username} ({role}) created with id {user_id}")


@user_group.command("list")
@click.option("--store", "store_code", default=None, help="Only this shop's users.")
def list_command(store_code: str | None) -> None:
    """List users: id, username, role, shop, active."""

    def work(session: Session) -> list[Account]:
        return users_of(session, get_store_by_code(session, store_code).id if store_code else None)

    try:
        with database() as uow:
            accounts = uow.read(work)
    except DomainError as exc:
        raise click.ClickException(_explain(exc)) from None
    click.echo(f"{'id':>5}  {'username':<24} {'role':<12} {'store':<8} active")
    for a in accounts:
        click.echo(f"{a.id:>5}  {a.username:<24} {a.role:<12} {a.store_code or '-':<8} {'yes' if a.active else 'no'}")


def _explain(error: DomainError) -> str:
    details = "; ".join(f"{field}: {why}" for field, why in error.details.items())
    return f"{error} ({details})" if details else str(error)


def register(main: click.Group) -> None:
    main.add_command(user_group)
