"""Helpers every command uses to reach the configured database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask

from core.db import UnitOfWork
from pos import create_app
from pos.config import ConfigError


def make_app(**overrides: Any) -> Flask:
    """The app for a command that needs the database but signs no tokens."""
    overrides.setdefault("TESTING", False)
    try:
        return create_app({"SECRET_KEY": overrides.pop("SECRET_KEY", None) or "cli-no-tokens", "DEMO": True}
                          | overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def unit_of_work(app: Flask) -> UnitOfWork:
    return UnitOfWork(app.extensions["creditmart.db"].session_factory)


@contextmanager
def command_app() -> Iterator[Flask]:
    """The app for one command; its database connections are closed when the command ends."""
    app = make_app()
    try:
        yield app
    finally:
        app.extensions["creditmart.db"].engine.dispose()


@contextmanager
def database() -> Iterator[UnitOfWork]:
    """The configured database for one command, as a unit of work."""
    with command_app() as app:
        yield unit_of_work(app)
