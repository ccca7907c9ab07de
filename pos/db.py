"""The database inside the Flask app: one engine per app, a read session per request, units of work."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.db import UnitOfWork, make_engine, make_session_factory


@dataclass
class Database:
    engine: Engine
    session_factory: sessionmaker[Session]


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        # A relative SQLite path (the default) lives under the working directory's instance/.
        import pathlib

        path = pathlib.Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    app.extensions["creditmart.db"] = Database(engine, make_session_factory(engine))
    app.teardown_appcontext(_close_session)


def database() -> Database:
    return current_app.extensions["creditmart.db"]


def session() -> Session:
    """The request's read session. Writes go through `unit_of_work().run(...)`."""
    if "db_session" not in g:
        g.db_session = database().session_factory()
        g.db_session.connection(execution_options={"read_only": True})
    return g.db_session


def unit_of_work() -> UnitOfWork:
    return UnitOfWork(database().session_factory)


def _close_session(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.rollback()
        s.close()
