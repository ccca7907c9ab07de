from __future__ import annotations

from flask import Blueprint
from pydantic import Field

from core.stores import Store
from pos import auth, db
from pos.api.common import PUBLIC, Schema, endpoint

bp = Blueprint("auth", __name__)


class TokenIn(Schema):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@bp.post("/auth/token")
@endpoint(roles=PUBLIC, body=TokenIn, summary="Log in: exchange a username and password for a bearer token")
def token(body: TokenIn):
    session = db.session()
    user = auth.authenticate_password(session, body.username, body.password)
    if user is None:
        raise auth.Unauthorized("wrong username or password")
    store_code = session.get(Store, user.store_id).code if user.store_id else None
    access_token, ttl = auth.issue_token(user, store_code)
    return {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl,
            "role": user.role, "store": store_code}
