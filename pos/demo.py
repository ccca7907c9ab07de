"""Demo data for `creditmart demo`: the sample shops, and a login for every role.

Each feature adds its sample data as a loader in DEMO_LOADERS; they run once, on an empty database.
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.stores import Store, create_store
from pos.auth import create_user
from pos.cli.inventory import load_demo_catalog
from pos.cli.members import load_demo_members
from pos.services.earning import load_demo_earning


def demo_csv(name: str) -> list[dict[str, str]]:
    """A sample file shipped in pos/demo_data (copied from the project's shared sample data)."""
    text = resources.files("pos").joinpath("demo_data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def load_stores(session: Session, logins: list[tuple[str, str, str, str]]) -> None:
    for row in demo_csv("stores.csv"):
        create_store(session, row["code"], row["name"])


def load_users(session: Session, logins: list[tuple[str, str, str, str]]) -> None:
    stores = {s.code: s for s in session.scalars(select(Store))}
    first = stores[sorted(stores)[0]]

    def add(username: str, role: str, store: Store | None) -> None:
        password = secrets.token_urlsafe(9)
        create_user(session, username, password, role, store)
        logins.append((username, password, role, store.code if store else "-"))

    add("admin", "admin", None)
    add("auditor", "auditor", None)
    for code, store in sorted(stores.items()):
        suffix = code.lower()
        add(f"manager-{suffix}", "manager", store)
        add(f"clerk-{suffix}", "clerk", store)
        add(f"coordinator-{suffix}", "coordinator", store)
    add("agent-" + first.code.lower(), "print_agent", first)


Loader = Callable[[Session, list[tuple[str, str, str, str]]], None]
# One loader a line, in order: parallel work adds its own line (git union merge, see .gitattributes).
DEMO_LOADERS: list[Loader] = [
    load_stores,
    load_users,
    load_demo_catalog,  # goods and opening stock (inventory)
    load_demo_members,  # sample members in their shops, with their cards (members)
    load_demo_earning,  # activity categories, an activity, pending and posted contributions (earning)
]


def load_demo(session: Session) -> list[tuple[str, str, str, str]] | None:
    """Loads everything once. Returns the new logins, or None when the database already had data."""
    if session.scalar(select(func.count()).select_from(Store)):
        return None
    logins: list[tuple[str, str, str, str]] = []
    for loader in DEMO_LOADERS:
        loader(session, logins)
    return logins


def write_logins(path: Path, logins: list[tuple[str, str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["username\tpassword\trole\tstore"] + ["\t".join(row) for row in logins]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
