"""Every model module, imported in one place so Alembic and the tests see the whole schema."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "core.stores",
    "pos.auth",
    "pos.idempotency",
    "inventory.models",
    "pos.print_jobs",
    "ledger.models",
    "ledger.members",
    "pos.sales",
    "ledger.earning",
    "pos.bureau.models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
