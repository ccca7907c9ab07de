"""The permission table: every API route × every role × own shop and another shop.

Each area lists its routes in a module here as `CASES = [Case(...), ...]`; the test in
tests/integration/test_permissions.py runs them all and fails when a route exists that no Case lists.

- `rule` is the Flask rule as registered ("/api/v1/sales/<sale_id>"); `path` is what to request, where
  `{store}` becomes the shop under test (the caller's own shop, then another shop) — default: `rule`.
- `body(store_code)` builds the JSON body, or None.
- `allowed`: the roles that pass the role check. Everyone else gets 403 (no token: 401).
- `shop_scoped`: a shop user of another shop gets 403 even with an allowed role.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ALL_ROLES = frozenset({"admin", "auditor", "manager", "clerk", "coordinator", "print_agent"})
PUBLIC = frozenset({"public"})


@dataclass(frozen=True)
class Case:
    method: str
    rule: str
    allowed: frozenset[str]
    path: str | None = None
    body: Callable[[str], dict[str, Any]] | None = field(default=None, compare=False)
    shop_scoped: bool = False

    def url(self, store: str) -> str:
        return (self.path or self.rule).replace("{store}", store)


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for info in pkgutil.iter_modules(__path__):
        cases.extend(importlib.import_module(f"{__name__}.{info.name}").CASES)
    return cases
