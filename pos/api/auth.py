"""Log in, log out, and the caller's own account (who am I, which language)."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Blueprint, request
from pydantic import Field, StringConstraints

from pos import auth, db
from pos.api.common import PUBLIC, Schema, endpoint
from pos.errors import request_language
from pos.i18n import translate

bp = Blueprint("auth", __name__)
ANY_USER = auth.ROLES

# Passwords are taken exactly as typed: a space at either end is part of the password.
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=auth.MAX_PASSWORD_LENGTH)]


class TokenIn(Schema):
    username: str = Field(min_length=1, max_length=64)
    password: Password


class LanguageIn(Schema):
    language: Literal["zh-CN", "en"]


@bp.post("/auth/token")
@endpoint(roles=PUBLIC, body=TokenIn,
          summary="Log in: exchange a username and password for a bearer token (429 after repeated failures)")
def token(body: TokenIn):
    login = auth.log_in(db.unit_of_work(), body.username, body.password, request.remote_addr or "unknown")
    return {"access_token": login.access_token, "token_type": "Bearer", "expires_in": login.expires_in,
            "role": login.account.role, "store": login.account.store_code}


@bp.post("/auth/logout")
@endpoint(roles=ANY_USER, summary="Log out: this token stops working now, not just when it expires")
def logout():
    auth.log_out(db.unit_of_work(), auth.current_principal())
    return "", 204


@bp.get("/auth/me")
@endpoint(roles=ANY_USER, summary="The caller's account: username, role, shop, chosen language")
def me():
    return me_json(auth.current_principal())


@bp.put("/auth/me/language")
@endpoint(roles=ANY_USER, body=LanguageIn, summary="Remember the caller's language for messages and pages")
def set_language(body: LanguageIn):
    principal = auth.current_principal()
    db.unit_of_work().run(lambda session: auth.set_language(session, principal.user_id, body.language))
    return me_json(principal, language=body.language)


def me_json(principal: auth.Principal, language: str | None = None) -> dict:
    """`language` is the remembered choice (null: follow the browser); `role_name` is in the language in use."""
    language = language or principal.language
    return {"user_id": principal.user_id, "username": principal.username, "role": principal.role,
            "role_name": translate(f"role.{principal.role}", language or request_language()),
            "store": principal.store_code, "language": language}
