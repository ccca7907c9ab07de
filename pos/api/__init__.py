"""The HTTP API under /api/v1. Each module owns one blueprint; `register` mounts them all."""

from __future__ import annotations

from flask import Blueprint, Flask

from pos.api import auth, health, ledger, openapi, stores

BLUEPRINTS: list[Blueprint] = [auth.bp, stores.bp, openapi.bp, ledger.bp]


def register(app: Flask) -> None:
    app.register_blueprint(health.bp)
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    for bp in BLUEPRINTS:
        api.register_blueprint(bp)
    app.register_blueprint(api)
