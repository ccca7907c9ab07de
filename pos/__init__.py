"""creditmart's Flask application: HTTP API, tablet pages, auth, CLI, and the use cases that span packages."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from pos import config as config_module


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app factory (flaskr style). `config` overrides the CREDITMART_* environment."""
    settings = config_module.resolve(config)
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024  # a sale is a few hundred bytes; refuse floods
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO)

    from pos import db, errors, pages
    from pos.api import register

    db.init_app(app)
    errors.init_app(app)
    register(app)
    pages.init_app(app)
    hops = int(app.config["PROXY_HOPS"])
    if hops:  # behind nginx & co: the client's address (for login limits and logs) comes from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app
