"""Test helpers: the seed every test database starts with, and an API client that can log in as anyone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core.db import UnitOfWork, make_engine, make_session_factory
from core.stores import Store, create_store
from pos import auth

STORES = {"DSC": "东山村信用超市", "XHC": "西河村信用超市"}
PASSWORD_SUFFIX = "-Passw0rd!"


def password_for(username: str) -> str:
    return username + PASSWORD_SUFFIX


def _seed_stores_and_users(session: Session) -> None:
    stores = {code: create_store(session, code, name) for code, name in STORES.items()}
    auth.create_user(session, "admin", password_for("admin"), "admin", None)
    auth.create_user(session, "auditor", password_for("auditor"), "auditor", None)
    for code, store in stores.items():
        s = code.lower()
        for username, role in ((f"manager-{s}", "manager"), (f"manager2-{s}", "manager"),
                               (f"clerk-{s}", "clerk"), (f"coordinator-{s}", "coordinator"),
                               (f"agent-{s}", "print_agent")):
            auth.create_user(session, username, password_for(username), role, store)


# Features append their own seed steps (each takes the session) to this list.
SEED_STEPS: list[Callable[[Session], None]] = [_seed_stores_and_users]


def seed_database(url: str) -> None:
    engine = make_engine(url)
    try:
        uow = UnitOfWork(make_session_factory(engine))
        for step in SEED_STEPS:
            uow.run(step)
    finally:
        engine.dispose()


def store_id(session: Session, code: str) -> int:
    return session.scalars(select(Store.id).where(Store.code == code)).one()


class Api:
    """Wraps the Flask test client; `as_(username)` adds that user's bearer token."""

    def __init__(self, app: Flask, client: FlaskClient, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.client = client
        self.headers = headers or {}

    def token_for(self, username: str) -> str:
        with self.app.app_context():
            from pos import db

            session = db.session()
            user = session.scalars(select(auth.User).where(auth.User.username == username)).one()
            code = session.get(Store, user.store_id).code if user.store_id else None
            return auth.issue_token(user, code)[0]

    def as_(self, username: str) -> Api:
        return Api(self.app, self.client, {"Authorization": f"Bearer {self.token_for(username)}"})

    def _call(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self._call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self._call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self._call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self._call("DELETE", path, **kwargs)
