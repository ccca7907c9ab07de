"""Access tokens: only a well-formed, HS256-signed, current, unrevoked token of an active account opens a route.

Bad tokens are made here with PyJWT directly, so each test shows exactly what is wrong with its token.
"""

from __future__ import annotations

import base64
import json
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy import select

from pos import auth, create_app
from tests.conftest import TEST_SECRET
from tests.integration.test_app import assert_error
from tests.support import Api, password_for

ME = "/api/v1/auth/me"


def claims_for(app: Flask, username: str, **changes: Any) -> dict[str, Any]:
    """The claims our server would issue for this user now; `changes` override (None removes a claim)."""
    with app.app_context():
        from pos import db

        user = db.session().scalars(select(auth.User).where(auth.User.username == username)).one()
        store = {"clerk-dsc": "DSC", "admin": None, "auditor": None}[username]
        now = datetime.now(UTC)
        claims: dict[str, Any] = {"sub": str(user.id), "name": user.username, "role": user.role, "store": store,
                                  "store_id": user.store_id, "iat": now, "nbf": now,
                                  "exp": now + timedelta(hours=1), "jti": "test-jti-1"}
    for key, value in changes.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def sign(claims: dict[str, Any], key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, default=str).encode()).rstrip(b"=").decode()


def test_a_token_made_like_ours_is_accepted(app: Flask, client: FlaskClient) -> None:
    """The control for every test below: the same claims, correctly signed, open the route."""
    response = client.get(ME, headers=bearer(sign(claims_for(app, "clerk-dsc"))))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["username"] == "clerk-dsc"


def test_expired_token_is_401(app: Flask, client: FlaskClient) -> None:
    past = datetime.now(UTC) - timedelta(hours=9)
    token = sign(claims_for(app, "clerk-dsc", iat=past, nbf=past, exp=past + timedelta(hours=8)))
    assert_error(client.get(ME, headers=bearer(token)), 401, "unauthorized")


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_token_not_yet_valid_is_401(app: Flask, client: FlaskClient, claim: str) -> None:
    future = datetime.now(UTC) + timedelta(hours=1)
    token = sign(claims_for(app, "clerk-dsc", **{claim: future}, exp=future + timedelta(hours=8)))
    assert_error(client.get(ME, headers=bearer(token)), 401, "unauthorized")


def test_wrongly_signed_token_is_401(app: Flask, client: FlaskClient) -> None:
    token = sign(claims_for(app, "admin"), key="another-secret-key-that-is-long-enough-too")
    assert_error(client.get(ME, headers=bearer(token)), 401, "unauthorized")


def test_token_signed_with_another_algorithm_is_401(app: Flask, client: FlaskClient) -> None:
    """Only HS256 is accepted, even with the right key."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # our key is sized for HS256, not HS512
        token = sign(claims_for(app, "admin"), algorithm="HS512")
    assert_error(client.get(ME, headers=bearer(token)), 401, "unauthorized")


def test_alg_none_is_401(app: Flask, client: FlaskClient) -> None:
    claims = claims_for(app, "admin", iat=None, nbf=None, exp=None)
    now = int(datetime.now(UTC).timestamp())
    claims |= {"iat": now, "nbf": now, "exp": now + 3600}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert unsigned.endswith(".")
    assert_error(client.get(ME, headers=bearer(unsigned)), 401, "unauthorized")
    # The same with a hand-made header, and with a real HS256 signature appended to an alg:none header.
    hand_made = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    assert_error(client.get(ME, headers=bearer(hand_made)), 401, "unauthorized")
    signature = sign(claims).rsplit(".", 1)[1]
    assert_error(client.get(ME, headers=bearer(hand_made + signature)), 401, "unauthorized")


@pytest.mark.parametrize("claim", ["sub", "name", "role", "store", "store_id", "iat", "nbf", "exp", "jti"])
def test_token_missing_a_claim_is_401(app: Flask, client: FlaskClient, claim: str) -> None:
    token = sign(claims_for(app, "clerk-dsc", **{claim: None}))
    assert_error(client.get(ME, headers=bearer(token)), 401, "unauthorized")


@pytest.mark.parametrize("username", ["admin", "auditor"])
def test_a_shopless_token_needs_its_null_store_claims(app: Flask, client: FlaskClient, username: str) -> None:
    """Admin and auditor carry "store": null and "store_id": null; a token without the keys at all is not ours."""
    claims = claims_for(app, username)
    assert claims["store"] is None and claims["store_id"] is None
    assert client.get(ME, headers=bearer(sign(claims))).status_code == 200  # the control: null is fine
    for claim in ("store", "store_id"):
        token = sign({key: value for key, value in claims.items() if key != claim})
        assert_error(client.get(ME, headers=bearer(token)), 401, "unauthorized")


@pytest.mark.parametrize("changes", [
    {"sub": "not-a-number"},
    {"sub": "999999"},  # no such user
    {"role": "admin"},  # a clerk claiming to be admin (signed with the right key, so only the account check stops it)
    {"role": "superuser"},
    {"store": "XHC"},
    {"name": "someone-else"},
    {"exp": "tomorrow"},
    {"sub": 5},  # sub must be a string
])
def test_token_whose_claims_do_not_hold_is_401(app: Flask, client: FlaskClient, changes: dict[str, Any]) -> None:
    token = sign(claims_for(app, "clerk-dsc", **changes))
    assert_error(client.get(ME, headers=bearer(token)), 401, "unauthorized")


@pytest.mark.parametrize("header", [
    "", "Bearer", "Bearer ", "Bearer abc", "Bearer a.b.c", "Bearer ...", "Basic YWRtaW46YWRtaW4=",
    f"Bearer {b64({'alg': 'HS256'})}.{base64.urlsafe_b64encode(b'not json').decode()}.xyz",
    "Bearer " + "x" * 5000,
])
def test_malformed_authorization_is_401(client: FlaskClient, header: str) -> None:
    error = assert_error(client.get(ME, headers={"Authorization": header}), 401, "unauthorized")
    assert error["message"]


def test_401_says_bearer_in_www_authenticate(client: FlaskClient) -> None:
    response = client.get(ME)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


def login(client: FlaskClient, username: str) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password_for(username)})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def test_logout_revokes_that_token_only(client: FlaskClient) -> None:
    first, second = login(client, "clerk-dsc"), login(client, "clerk-dsc")
    assert client.get(ME, headers=bearer(first)).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=bearer(first)).status_code == 204
    assert_error(client.get(ME, headers=bearer(first)), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/logout", headers=bearer(first)), 401, "unauthorized")
    assert client.get(ME, headers=bearer(second)).status_code == 200


def test_revocation_is_kept_until_the_token_expires_then_purged(app: Flask, client: FlaskClient) -> None:
    token = login(client, "clerk-dsc")
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    expires = datetime.fromtimestamp(jwt.decode(token, options={"verify_signature": False})["exp"], UTC)
    with app.app_context():
        from pos import db

        row = db.session().get(auth.RevokedToken, jti)
        assert row is not None and row.expires_at == expires
        # A revocation whose token has expired is no longer needed...
        db.unit_of_work().run(lambda s: s.add(auth.RevokedToken(
            jti="long-gone", user_id=row.user_id, expires_at=datetime.now(UTC) - timedelta(minutes=1))))
    # ...and the next logout clears it out, keeping the live one.
    assert client.post("/api/v1/auth/logout", headers=bearer(login(client, "admin"))).status_code == 204
    with app.app_context():
        from pos import db

        jtis = set(db.session().scalars(select(auth.RevokedToken.jti)))
        assert "long-gone" not in jtis and jti in jtis and len(jtis) == 2


def test_tokens_last_eight_hours_by_default(app: Flask, client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "admin", "password": password_for("admin")})
    body = response.get_json()
    claims = jwt.decode(body["access_token"], TEST_SECRET, algorithms=["HS256"])
    assert body["expires_in"] == 8 * 3600 == claims["exp"] - claims["iat"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    assert set(claims) >= {"sub", "role", "store", "iat", "exp", "jti"}


def test_token_lifetime_comes_from_the_environment(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITMART_TOKEN_TTL_SECONDS", "900")
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": TEST_SECRET})
    try:
        client = app.test_client()
        body = client.post("/api/v1/auth/token",
                           json={"username": "clerk-dsc", "password": password_for("clerk-dsc")}).get_json()
        claims = jwt.decode(body["access_token"], TEST_SECRET, algorithms=["HS256"])
        assert body["expires_in"] == 900 == claims["exp"] - claims["iat"]
        assert client.get(ME, headers=bearer(body["access_token"])).status_code == 200
    finally:
        app.extensions["creditmart.db"].engine.dispose()


def test_me_tells_who_is_logged_in(api: Api) -> None:
    body = api.as_("clerk-dsc").get(ME).get_json()
    assert body == {"user_id": body["user_id"], "username": "clerk-dsc", "role": "clerk", "role_name": "店员",
                    "store": "DSC", "language": None}
    admin = api.as_("admin").get(ME, headers={"Accept-Language": "en"}).get_json()
    assert admin["store"] is None and admin["role_name"] == "Administrator"


def test_chosen_language_is_remembered_and_used_for_messages(api: Api) -> None:
    clerk = api.as_("clerk-dsc")
    # No choice yet: Chinese by default.
    assert assert_error(clerk.post("/api/v1/stores", json={"code": "AB", "name": "x"}), 403,
                        "forbidden")["message"] == "无权执行此操作"
    response = clerk.put("/api/v1/auth/me/language", json={"language": "en"})
    assert response.status_code == 200 and response.get_json()["language"] == "en"
    assert response.get_json()["role_name"] == "Clerk"
    # Remembered for the user, so a new login (another token) speaks English even to a Chinese browser.
    again = api.as_("clerk-dsc")
    assert again.get(ME).get_json()["language"] == "en"
    error = assert_error(again.post("/api/v1/stores", json={"code": "AB", "name": "x"},
                                    headers={"Accept-Language": "zh-CN"}), 403, "forbidden")
    assert error["message"] == "You are not allowed to do this"
    assert clerk.put("/api/v1/auth/me/language", json={"language": "zh-CN"}).status_code == 200
    assert assert_error(again.post("/api/v1/stores", json={"code": "AB", "name": "x"},
                                   headers={"Accept-Language": "en"}), 403, "forbidden")["message"] == "无权执行此操作"


@pytest.mark.parametrize("body", [{"language": "fr"}, {"language": ""}, {}, {"language": "en", "x": 1}])
def test_unknown_language_is_400(api: Api, body: dict[str, Any]) -> None:
    error = assert_error(api.as_("clerk-dsc").put("/api/v1/auth/me/language", json=body), 400, "validation_error")
    assert error["details"]


def test_authentication_leaves_the_request_read_session_unopened(app: Flask, api: Api) -> None:
    """A handler that writes and then reads (SQLite: one snapshot per read session) sees its own write."""
    from flask import g

    token = api.token_for("clerk-dsc")
    with app.test_request_context(ME, headers=bearer(token)):
        principal = auth.principal_from_request()
        assert principal.username == "clerk-dsc" and principal.store_code == "DSC"
        assert "db_session" not in g
