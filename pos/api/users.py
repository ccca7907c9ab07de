"""Users: admins manage everyone; a shop manager manages their own shop's clerks and coordinators."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from flask import Blueprint
from pydantic import Field, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pos import auth, db
from pos.api.common import Schema, endpoint
from pos.idempotency import create_once

bp = Blueprint("users", __name__)
MANAGERS = ("admin", "manager")

NewPassword = Annotated[str, StringConstraints(strip_whitespace=False, min_length=auth.MIN_PASSWORD_LENGTH,
                                               max_length=auth.MAX_PASSWORD_LENGTH)]


class UserIn(Schema):
    id: uuid.UUID | None = Field(default=None, description="optional client id: a retry with it creates nothing new")
    username: str = Field(pattern=auth.USERNAME_PATTERN)
    password: NewPassword
    role: Literal[auth.ROLES]  # type: ignore[valid-type]
    store: str | None = Field(default=None, min_length=1, max_length=16)


class UsersQuery(Schema):
    store: str | None = Field(default=None, min_length=1, max_length=16)


def user_json(account: auth.Account) -> dict:
    return {"id": account.id, "username": account.username, "role": account.role, "store": account.store_code,
            "active": account.active, "language": account.language, "created_at": account.created_at.isoformat()}


@bp.post("/users")
@endpoint(roles=MANAGERS, body=UserIn, summary="Create a user (a manager: clerks and coordinators of their own shop)")
def create(body: UserIn):
    actor = auth.current_principal()

    def work(session: Session):
        return user_json(auth.add_user(session, actor, body.username, body.password, body.role, body.store)), 201

    uow = db.unit_of_work()
    try:
        if body.id is None:
            return uow.run(work)
        # The stored fingerprint leaves the password out: a fast hash of it must never sit in a table.
        return create_once(uow, "users", str(body.id), body.model_dump(mode="json", exclude={"password"}), work)
    except IntegrityError:
        raise auth.UsernameTaken("username already taken", username="already taken") from None


@bp.get("/users")
@endpoint(roles=MANAGERS, query=UsersQuery, summary="List users (a manager: their own shop)")
def list_users(query: UsersQuery):
    accounts = auth.list_users(db.session(), auth.current_principal(), query.store)
    return {"users": [user_json(a) for a in accounts]}


@bp.post("/users/<int:user_id>/deactivate")
@endpoint(roles=MANAGERS, summary="Deactivate a user: no more logins, and their tokens stop working at once")
def deactivate(user_id: int):
    actor = auth.current_principal()
    account = db.unit_of_work().run(lambda session: auth.deactivate_user(session, actor, user_id))
    return user_json(account)
