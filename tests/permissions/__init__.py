"""The permission table: every API route × every role × own shop and another shop, with the expected status.

Each area lists its routes in a module here as `CASES = [Case(...), ...]`; the test in
tests/integration/test_permissions.py runs them all and fails when a route exists that no Case lists.

The test database holds a small world with real objects in each of the two shops (see `Shop`): a member with
points and a card, goods in stock, completed sales with their receipts, open shifts, an activity, pending
contributions, a failed print job, a clerk. A case names them in its path through placeholders, resolved for the
shop under test — the caller's own shop first, then another shop:

    {store} {member} {card} {sale} {shift} {activity} {contribution} {donation} {job} {user}

- `rule` is the Flask rule as registered ("/api/v1/sales/<sale_id>"); `path` is what to request — default: `rule`.
- `body(shop)` builds the JSON body from the shop's objects, or None. `shop.fresh_card()` makes a new member
  (through the domain layer) for cases that would otherwise meet the state an earlier call left.
- `allowed`: the roles that pass the role check. Everyone else gets 403 (no token: 401), in both shops.
- `expect`: the status an allowed role gets in its own shop: one status, or a dict role → status where the roles
  differ (default 200). It is asserted exactly.
- `note`: names a second row of the same route (another body), for the test's id.
- `shop_scoped`: a shop user (manager, clerk, coordinator, print agent) calling it on the other shop's objects gets
  403 even with an allowed role; the bureau (admin, auditor) reads every shop and gets what it gets in its own.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

ALL_ROLES = frozenset({"admin", "auditor", "manager", "clerk", "coordinator", "print_agent"})
PUBLIC = frozenset({"public"})
BUREAU = frozenset({"admin", "auditor"})


@dataclass(frozen=True)
class Shop:
    """One shop's objects in the permission test's world (ids as the API spells them)."""

    store: str  # the shop's code
    member: str  # a member with points and an active card
    card: str  # that member's card number
    sale: str  # a completed sale by the shop's clerk, its receipt queued
    shift: str  # the clerk's open shift (of that sale)
    activity: str  # an activity of the shop, open for scans
    contribution: str  # pending volunteer hours, recorded by the coordinator
    donation: str  # a pending cash donation with its receipt, recorded by the coordinator
    job: str  # a failed print job (a document: it has a preview)
    user: int  # a clerk of the shop, there to be deactivated
    fresh_card: Callable[[], str] = field(compare=False, repr=False)  # a new member's card, made on each call

    def resolve(self, path: str) -> str:
        names = {f.name for f in fields(self)} - {"fresh_card"}

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                raise KeyError(f"unknown placeholder {{{name}}} in {path}")
            return str(getattr(self, name))

        return re.sub(r"\{(\w+)\}", value, path)


Expect = int | Mapping[str, int]


@dataclass(frozen=True)
class Case:
    method: str
    rule: str
    allowed: frozenset[str]
    path: str | None = None
    body: Callable[[Shop], dict[str, Any]] | None = field(default=None, compare=False)
    shop_scoped: bool = False
    expect: Expect = field(default=200, compare=False)
    note: str = ""  # tells apart two rows of one route (another body)

    def __str__(self) -> str:
        return f"{self.method} {self.rule}" + (f" ({self.note})" if self.note else "")

    def url(self, shop: Shop) -> str:
        return shop.resolve(self.path or self.rule)

    def expected(self, role: str) -> int:
        """The status an allowed role gets in its own shop."""
        if isinstance(self.expect, int):
            return self.expect
        return self.expect[role]


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for info in pkgutil.iter_modules(__path__):
        cases.extend(importlib.import_module(f"{__name__}.{info.name}").CASES)
    return cases
