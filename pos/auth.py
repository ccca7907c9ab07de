"""Users, password hashing, access tokens (PyJWT), logins, logout and the principal of a request.

Every authenticated request decodes its token (HS256 pinned) and then reads one row: the user, their shop
and whether this token was revoked. So logout, deactivation and a changed account take effect at once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import current_app, g, request
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from core.db import Base, UnitOfWork, UTCDateTime, is_sqlite, utcnow
from core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from core.stores import Store, get_store_by_code
from pos.i18n import LANGUAGES

log = logging.getLogger(__name__)

ROLES = ("admin", "auditor", "manager", "clerk", "coordinator", "print_agent")
SHOP_ROLES = frozenset({"manager", "clerk", "coordinator", "print_agent"})
# What a shop manager may create and deactivate: the people at their own counter, nobody above them.
MANAGED_BY_MANAGER = frozenset({"clerk", "coordinator"})
JWT_ALGORITHM = "HS256"
PASSWORD_METHOD = "scrypt"
USERNAME_PATTERN = r"^[A-Za-z0-9._-]{3,64}$"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
REQUIRED_CLAIMS = ("sub", "name", "role", "iat", "nbf", "exp", "jti")
# Present in every token but null for admin and auditor (no shop). PyJWT's "require" treats null as missing,
# so these keys are checked for presence separately.
REQUIRED_NULLABLE_CLAIMS = ("store", "store_id")
# Several servers of one city deployment may disagree by a few seconds about the time.
TOKEN_LEEWAY_SECONDS = 10
# Logins: this many failures within the window, per username or per client address, lock further attempts.
DEFAULT_LOGIN_MAX_FAILURES = 10
DEFAULT_LOGIN_WINDOW_SECONDS = 600


class Unauthorized(DomainError):
    code = "unauthorized"


class TooManyAttempts(DomainError):
    code = "too_many_requests"


class Conflict(DomainError):
    code = "conflict"


class UsernameTaken(Conflict):
    pass


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


class RevokedToken(Base):
    """A logged-out token, kept until it would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """One wrong password. In the database so that every server process of a city counts the same failures."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_username_at", "username", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# ---------------------------------------------------------------------------------------------- users


@dataclass(frozen=True)
class Account:
    """A user's public facts, safe to carry out of the session that read them."""

    id: int
    username: str
    role: str
    store_id: int | None
    store_code: str | None
    active: bool
    language: str | None
    created_at: datetime

    @classmethod
    def of(cls, user: User, store_code: str | None) -> Account:
        return cls(user.id, user.username, user.role, user.store_id, store_code, user.active, user.language,
                   user.created_at)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def validate_new_user(username: str, password: str, role: str, store: Store | None) -> None:
    """The rules for any new user, wherever it comes from (API, CLI, demo): refused field by field."""
    problems: dict[str, str] = {}
    if not re.fullmatch(USERNAME_PATTERN, username):
        problems["username"] = "3 to 64 letters, digits, '.', '_' or '-'"
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        problems["password"] = f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
    if role not in ROLES:
        problems["role"] = f"one of {', '.join(ROLES)}"
    elif (role in SHOP_ROLES) != (store is not None):
        problems["store"] = "shop roles need a store; admin and auditor have none"
    if problems:
        raise ValidationFailed("invalid user", **problems)


def create_user(session: Session, username: str, password: str, role: str, store: Store | None) -> User:
    validate_new_user(username, password, role, store)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTaken("username already taken", username="already taken")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        store_id=store.id if store else None,
    )
    session.add(user)
    session.flush()
    return user


def require_may_manage(actor: Principal, role: str, store_id: int | None) -> None:
    """Admins manage anyone; a manager only the clerks and coordinators of their own shop."""
    if actor.role == "admin":
        return
    if actor.role == "manager" and role in MANAGED_BY_MANAGER and store_id == actor.store_id:
        return
    raise Forbidden("you may not manage this user", role=role)


def add_user(session: Session, actor: Principal, username: str, password: str, role: str,
             store_code: str | None) -> Account:
    """POST /users: create a user on behalf of `actor`, within what the actor may manage."""
    if actor.role != "admin" and store_code != actor.store_code:
        raise Forbidden("another shop's user", store=store_code)  # before any lookup: no probing other shops
    store = get_store_by_code(session, store_code) if store_code else None
    require_may_manage(actor, role, store.id if store else None)
    return Account.of(create_user(session, username, password, role, store), store_code)


def list_users(session: Session, actor: Principal, store_code: str | None) -> list[Account]:
    """Admins see every user (or one shop's); a manager sees their own shop only."""
    if actor.role == "admin":
        return users_of(session, get_store_by_code(session, store_code).id if store_code else None)
    if actor.role != "manager" or actor.store_id is None:
        raise Forbidden("you may not list users", role=actor.role)
    if store_code is not None and store_code != actor.store_code:
        raise Forbidden("another shop's users", store=store_code)
    return users_of(session, actor.store_id)


def users_of(session: Session, store_id: int | None = None) -> list[Account]:
    """Every user, or one shop's: the bureau's accounts first, then by shop and name."""
    query = select(User, Store.code).outerjoin(Store, Store.id == User.store_id)
    if store_id is not None:
        query = query.where(User.store_id == store_id)
    rows = session.execute(query.order_by(Store.code.is_not(None), Store.code, User.username))
    return [Account.of(user, code) for user, code in rows]


def deactivate_user(session: Session, actor: Principal, user_id: int) -> Account:
    """The user can no longer log in, and the tokens they hold stop working on their next request."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user", user_id=user_id)
    require_may_manage(actor, user.role, user.store_id)
    if user.id == actor.user_id:
        raise Conflict("you cannot deactivate yourself", user_id=user_id)
    user.active = False
    session.flush()
    store_code = session.get(Store, user.store_id).code if user.store_id else None
    return Account.of(user, store_code)


def set_language(session: Session, user_id: int, language: str) -> None:
    if language not in LANGUAGES:
        raise ValidationFailed("unknown language", language=f"one of {', '.join(LANGUAGES)}")
    session.execute(update(User).where(User.id == user_id).values(language=language))


def login_candidate(session: Session, username: str) -> tuple[Account, str] | None:
    """The active account of this username and its password hash; None for an unknown or deactivated one."""
    row = session.execute(
        select(User, Store.code).outerjoin(Store, Store.id == User.store_id).where(User.username == username)
    ).first()
    if row is None or not row[0].active:
        return None
    user, store_code = row
    return Account.of(user, store_code), user.password_hash


def verify_password(candidate: tuple[Account, str] | None, password: str) -> Account | None:
    """The slow part of a login (scrypt), to be run with no transaction open."""
    if candidate is None:
        # Spend the same time as a real check so a missing user is not told apart by timing.
        check_password_hash(_DUMMY_HASH, password)
        return None
    account, password_hash = candidate
    return account if check_password_hash(password_hash, password) else None


_DUMMY_HASH = hash_password("not-a-password")


# ---------------------------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Principal:
    """Who is calling: their verified token, checked against their account as it is now."""

    user_id: int
    username: str
    role: str
    store_id: int | None
    store_code: str | None
    token_id: str
    language: str | None = None
    expires_at: datetime | None = None

    def can_see_store(self, store_id: int) -> bool:
        return self.store_id is None or self.store_id == store_id

    def require_store(self, store_id: int) -> None:
        """Shop-scoped users touch only their own shop's data."""
        if not self.can_see_store(store_id):
            raise Forbidden("another shop's data", store_id=store_id)


def issue_token(user: User | Account, store_code: str | None) -> tuple[str, int]:
    ttl = int(current_app.config["TOKEN_TTL_SECONDS"])
    # Real time, not the test clock: PyJWT checks exp, nbf and iat against the real time.
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
        claims: dict[str, Any] = jwt.decode(
            token,
            _secret(),
            algorithms=[JWT_ALGORITHM],
            options={"require": list(REQUIRED_CLAIMS)},
            leeway=TOKEN_LEEWAY_SECONDS,
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(str(exc)) from None
    missing = [claim for claim in REQUIRED_NULLABLE_CLAIMS if claim not in claims]
    if missing:
        raise Unauthorized(f'Token is missing the "{missing[0]}" claim')
    return claims


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def principal_from_request() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    claims = decode_token(token.strip())
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise Unauthorized("malformed subject") from None
    from pos import db

    # A short read of its own, not the request's read session: on SQLite that session keeps one snapshot,
    # and a handler that writes and then reads must not find it already opened before its write.
    principal = db.unit_of_work().read(lambda session: principal_for(session, user_id, claims))
    for check in current_app.extensions.get("creditmart.token_checks", []):
        check(claims)  # hook for further checks
    return principal


def principal_for(session: Session, user_id: int, claims: Mapping[str, Any]) -> Principal:
    """One query: the account, its shop, and whether this token was revoked."""
    revoked = select(RevokedToken.jti).where(RevokedToken.jti == str(claims["jti"])).exists()
    row = session.execute(
        select(User.username, User.role, User.store_id, User.active, User.language, Store.code,
               revoked.label("revoked"))
        .outerjoin(Store, Store.id == User.store_id)
        .where(User.id == user_id)
    ).first()
    if row is None or not row.active:
        raise Unauthorized("the account is unknown or deactivated")
    if row.revoked:
        raise Unauthorized("the token was revoked (logged out)")
    # The token must describe the account as it is now (a restored database may reuse the id).
    if (claims.get("name"), claims.get("role"), claims.get("store_id"), claims.get("store")) != (
            row.username, row.role, row.store_id, row.code):
        raise Unauthorized("the token does not match the account")
    return Principal(
        user_id=user_id,
        username=row.username,
        role=row.role,
        store_id=row.store_id,
        store_code=row.code,
        token_id=str(claims["jti"]),
        language=row.language,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise Unauthorized("not authenticated")
    return principal


# ---------------------------------------------------------------------------------------------- log in and out


def clock() -> datetime:
    """Now, for login throttling. Tests set app.config["CLOCK"] (a function) to move time without sleeping."""
    now: Callable[[], datetime] = current_app.config.get("CLOCK") or utcnow
    return now()


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    window: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LoginPolicy:
        return cls(int(config.get("LOGIN_MAX_FAILURES", DEFAULT_LOGIN_MAX_FAILURES)),
                   timedelta(seconds=int(config.get("LOGIN_WINDOW_SECONDS", DEFAULT_LOGIN_WINDOW_SECONDS))))


@dataclass(frozen=True)
class Login:
    access_token: str
    expires_in: int
    account: Account


def log_in(uow: UnitOfWork, username: str, password: str, address: str) -> Login:
    """POST /auth/token. Refuses while the username or the address has too many recent failures.

    The attempt is counted before the password is checked: one short write transaction looks at the recent
    failures and, unless the username or the address is locked, records this attempt as a failure. Only then,
    with no transaction open, is the (slow, deliberately) password hash checked; a success takes its record
    back. So a burst of simultaneous guesses gets at most the limit's worth of password checks between them,
    and no database write lock is held while scrypt runs.

    A success clears the username's failures (the owner got in) but not the address's, so an attacker who
    knows one password cannot reset the counter of the machine they are guessing from.
    """
    policy = LoginPolicy.from_config(current_app.config)
    now = clock()

    retry_after = uow.run(lambda session: _reserve_attempt(session, username, address, now, policy))
    if retry_after:
        log.warning("login refused, too many failures: username=%r address=%s retry_after=%ss",
                    username, address, retry_after)
        raise TooManyAttempts("too many failed logins", retry_after=retry_after)
    account = verify_password(uow.read(lambda session: login_candidate(session, username)), password)
    if account is None:
        log.warning("login failed: username=%r address=%s", username, address)  # the reserved record stays
        raise Unauthorized("wrong username or password")

    # This attempt's record goes with the username's other failures.
    uow.run(lambda session: session.execute(delete(LoginFailure).where(LoginFailure.username == username[:64])))
    access_token, ttl = issue_token(account, account.store_code)
    log.info("login: username=%r address=%s", username, address)
    return Login(access_token, ttl, account)


def _reserve_attempt(session: Session, username: str, address: str, now: datetime,
                     policy: LoginPolicy) -> int:
    """In one write transaction: the seconds to wait when locked, else 0 with this attempt recorded as a failure.

    SQLite serialises write transactions (BEGIN IMMEDIATE). On PostgreSQL two transactions could both count
    before either inserts, so each first takes transaction-scoped advisory locks on its username and address;
    at READ COMMITTED the counts that follow see whatever the previous holder committed.
    """
    username, address = username[:64], address[:64]
    if not is_sqlite(session):
        for key in sorted({_lock_key("login-username", username), _lock_key("login-address", address)}):
            session.execute(select(func.pg_advisory_xact_lock(key)))
    by_name = _failures_in_window(session, LoginFailure.username == username, now, policy)
    by_address = _failures_in_window(session, LoginFailure.address == address, now, policy)
    retry_after = max(_retry_after(by_name, now, policy), _retry_after(by_address, now, policy))
    if retry_after:
        return retry_after
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - policy.window))  # forget old ones
    session.add(LoginFailure(username=username, address=address, at=now))
    return 0


def _lock_key(kind: str, value: str) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock, the same in every server process."""
    digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _failures_in_window(session: Session, which: Any, now: datetime, policy: LoginPolicy) -> list[datetime]:
    """The most recent failures (at most max_failures of them), newest first."""
    return list(session.scalars(
        select(LoginFailure.at).where(which, LoginFailure.at > now - policy.window)
        .order_by(LoginFailure.at.desc()).limit(policy.max_failures)
    ))


def _retry_after(failures: list[datetime], now: datetime, policy: LoginPolicy) -> int:
    """Seconds until fewer than max_failures remain in the window; 0 when not locked."""
    if len(failures) < policy.max_failures:
        return 0
    return max(1, math.ceil((failures[-1] + policy.window - now).total_seconds()))


def log_out(uow: UnitOfWork, principal: Principal) -> None:
    """Revoke the caller's token until it expires; expired revocations are purged on the way."""
    expires_at = principal.expires_at or utcnow()

    def work(session: Session) -> None:
        session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
        if session.get(RevokedToken, principal.token_id) is None:
            session.add(RevokedToken(jti=principal.token_id, user_id=principal.user_id, expires_at=expires_at))

    try:
        uow.run(work)
    except IntegrityError:
        pass  # the same token logged out concurrently: it is revoked either way
