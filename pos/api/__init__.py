"""The HTTP API under /api/v1. Each module owns one blueprint `bp`; `register` mounts them all."""

from __future__ import annotations

import importlib

from flask import Blueprint, Flask
from werkzeug.routing import IntegerConverter

from pos.api import health
from pos.api.common import DB_INT_MAX

# One module a line: parallel work adds its own line (merged with git's union driver, see .gitattributes).
BLUEPRINT_MODULES = (
    "pos.api.auth",
    "pos.api.stores",
    "pos.api.openapi",
    "pos.api.users",
    "pos.api.products",
    "pos.api.stock",
    "pos.api.print_jobs",
    "pos.api.members",
    "pos.api.sales",
    "pos.api.shifts",
    "pos.api.activities",
    "pos.api.contributions",
    "pos.api.notices",
    "pos.api.ledger",
    "pos.api.reports",
    "pos.api.checkpoints",
)


class DatabaseInteger(IntegerConverter):
    """`<int:…>` path parts no larger than the database's integers: a longer number is no such thing (404),
    not an overflow in the driver."""

    def __init__(self, map, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def register(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseInteger
    app.register_blueprint(health.bp)
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    for name in BLUEPRINT_MODULES:
        api.register_blueprint(importlib.import_module(name).bp)
    app.register_blueprint(api)
