"""Users, password hashing, access tokens (PyJWT) and the principal of a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from flask import current_app, g, request
from sqlalchemy import Boolean, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import Base, UTCDateTime, utcnow
from core.errors import DomainError, Forbidden
from core.stores import Store

ROLES = ("admin", "auditor", "manager", "clerk", "coordinator", "print_agent")
SHOP_ROLES = frozenset({"manager", "clerk", "coordinator", "print_agent"})
JWT_ALGORITHM = "HS256"
PASSWORD_METHOD = "scrypt"


class Unauthorized(DomainError):
    code = "unauthorized"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def create_user(session: Session, username: str, password: str, role: str, store: Store | None) -> User:
    if role not in ROLES:
        raise DomainError("unknown role", role=role)
    if (role in SHOP_ROLES) != (store is not None):
        raise DomainError("shop roles need a store; admin and auditor have none", role=role)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        store_id=store.id if store else None,
    )
    session.add(user)
    session.flush()
    return user


def authenticate_password(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        # Spend the same time as a real check so a missing user is not told apart by timing.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not-a-password", method=PASSWORD_METHOD)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified claims of their token."""

    user_id: int
    username: str
    role: str
    store_id: int | None
    store_code: str | None
    token_id: str

    def can_see_store(self, store_id: int) -> bool:
        return self.store_id is None or self.store_id == store_id

    def require_store(self, store_id: int) -> None:
        """Shop-scoped users touch only their own shop's data."""
        if not self.can_see_store(store_id):
            raise Forbidden("another shop's data", store_id=store_id)


def issue_token(user: User, store_code: str | None) -> tuple[str, int]:
    ttl = int(current_app.config["TOKEN_TTL_SECONDS"])
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "name": user.username,
        "role": user.role,
        "store": store_code,
        "store_id": user.store_id,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=ttl),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, _secret(), algorithm=JWT_ALGORITHM), ttl


def decode_token(token: str) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            _secret(),
            algorithms=[JWT_ALGORITHM],
            options={"require": ["sub", "role", "iat", "exp", "jti", "nbf"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(str(exc)) from None


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def principal_from_request() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    claims = decode_token(token.strip())
    if claims["role"] not in ROLES:
        raise Unauthorized("unknown role")
    for check in current_app.extensions.get("creditmart.token_checks", []):
        check(claims)  # e.g. revocation
    return Principal(
        user_id=int(claims["sub"]),
        username=str(claims.get("name", "")),
        role=claims["role"],
        store_id=claims.get("store_id"),
        store_code=claims.get("store"),
        token_id=claims["jti"],
    )


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized("not authenticated")
    return principal
