"""`creditmart member list`, and the demo's sample members."""

from __future__ import annotations

import csv
import uuid
from importlib import resources

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import DomainError
from core.stores import Store, get_store_by_code
from core.text import display_width
from ledger.members import MemberInfo, find_members, list_members, mask_phone, register_member
from pos.cli.context import database


@click.group("member")
def member_group() -> None:
    """Members and their cards."""


@member_group.command("list")
@click.option("--store", "store_code", default=None, help="Only this shop's members.")
@click.option("--query", "-q", default="", help="A card number, a phone (11 digits or the last 4) or part of a name.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000))
def list_command(store_code: str | None, query: str, limit: int) -> None:
    """List members: card number, name, masked phone, household, shop, balance."""

    def work(session: Session) -> list[MemberInfo]:
        store_id = get_store_by_code(session, store_code).id if store_code else None
        if query.strip():
            return find_members(session, store_id, query, limit=limit)
        return list_members(session, store_id, limit=limit)

    try:
        with database() as uow:
            members = uow.read(work)
    except DomainError as exc:
        raise click.ClickException(f"{exc} {exc.details or ''}".strip()) from None
    click.echo(f"{'card':<16}  {_pad('name', 16)}  {'phone':<11}  {'household':<10}  {'store':<6}  {'balance':>8}")
    for m in members:
        click.echo(f"{m.card_number or '-':<16}  {_pad(m.name, 16)}  {mask_phone(m.phone) or '-':<11}  "
                   f"{m.household or '-':<10}  {m.store_code:<6}  {m.balance:>8}")
    click.echo(f"{len(members)} member(s)")


def _pad(text: str, width: int) -> str:
    """Pads by display width: a Chinese character takes two columns in a terminal."""
    return text + " " * max(0, width - display_width(text))


def load_demo_members(session: Session, logins: list[tuple[str, str, str, str]]) -> None:
    """The sample members (pos/demo_data/members.csv) in their shops, their consent recorded by the shop's
    demo manager. Prints nothing: phone numbers stay in the database."""
    text = resources.files("pos").joinpath("demo_data", "members.csv").read_text(encoding="utf-8")
    stores = {s.code: s for s in session.scalars(select(Store))}
    for row in csv.DictReader(text.splitlines()):
        store = stores[row["store"]]
        # A stable id per sample member, so every demo database has the same member ids.
        member_id = uuid.uuid5(uuid.NAMESPACE_URL, f"creditmart:demo-member:{row['store']}:{row['phone']}")
        register_member(session, member_id, row["name"], row["phone"] or None, row["household"] or None,
                        store.id, f"manager-{store.code.lower()}")


def register(main: click.Group) -> None:
    main.add_command(member_group)
