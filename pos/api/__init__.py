"""The HTTP API under /api/v1. Each module owns one blueprint `bp`; `register` mounts them all."""

from __future__ import annotations

import importlib

from flask import Blueprint, Flask

from pos.api import health

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


def register(app: Flask) -> None:
    app.register_blueprint(health.bp)
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    for name in BLUEPRINT_MODULES:
        api.register_blueprint(importlib.import_module(name).bp)
    app.register_blueprint(api)
