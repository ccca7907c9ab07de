"""The app factory, health, the error shape on /api/, stores, login, idempotency, OpenAPI."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient

from tests.support import Api, password_for


def assert_error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_healthz_answers_when_the_database_does(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_pages_are_served_in_chinese_by_default_and_english_on_request(client: FlaskClient) -> None:
    assert client.get("/").status_code == 302
    zh = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "用户名" in zh
    client.set_cookie("lang", "en")
    en = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in en and "Username" in en


def test_unknown_api_path_is_404_in_error_shape(client: FlaskClient) -> None:
    error = assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert error["message"] == "找不到该对象"


def test_error_message_follows_accept_language(client: FlaskClient) -> None:
    error = assert_error(client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en-US,en;q=0.8"}),
                         404, "not_found")
    assert error["message"] == "Not found"


def test_wrong_method_is_405_in_error_shape(client: FlaskClient) -> None:
    assert_error(client.delete("/api/v1/auth/token"), 405, "method_not_allowed")


def test_unexpected_exception_is_500_in_error_shape(app: Flask) -> None:
    @app.get("/api/v1/_boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("kaboom")

    error = assert_error(app.test_client().get("/api/v1/_boom"), 500, "internal_error")
    assert "kaboom" not in error["message"]


def test_login_gives_a_bearer_token_that_opens_routes(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "admin", "password": password_for("admin")})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 8 * 3600
    listed = client.get("/api/v1/stores", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert listed.status_code == 200
    assert {s["code"] for s in listed.get_json()["stores"]} >= {"DSC", "XHC"}


def test_wrong_password_is_401(client: FlaskClient) -> None:
    assert_error(client.post("/api/v1/auth/token", json={"username": "admin", "password": "nope"}),
                 401, "unauthorized")


def test_bad_bodies_are_400_with_field_details(client: FlaskClient) -> None:
    assert_error(client.post("/api/v1/auth/token", data="not json", content_type="application/json"),
                 400, "validation_error")
    error = assert_error(client.post("/api/v1/auth/token", json={"username": ""}), 400, "validation_error")
    assert set(error["details"]) == {"username", "password"}
    assert_error(client.post("/api/v1/auth/token", json=[1, 2]), 400, "validation_error")
    # Text no keyboard or scanner types (NUL, other controls, lone surrogates) is refused by field, on every route.
    for junk in ("clerk\x00-dsc", "clerk\x1b[2J", "\ud800"):
        body = json.dumps({"username": junk, "password": "x" * 12})  # ASCII escapes: \ud800 survives the trip
        error = assert_error(client.post("/api/v1/auth/token", data=body, content_type="application/json"),
                             400, "validation_error")
        assert set(error["details"]) == {"username"}
    assert client.post("/api/v1/auth/token", json={"username": "clerk-dsc", "password": "a\tb\nc"}).status_code == 401


def test_create_store_is_admin_only_and_idempotent(api: Api) -> None:
    body = {"code": "NLSQ", "name": "南岭社区信用超市"}
    assert_error(api.as_("manager-dsc").post("/api/v1/stores", json=body), 403, "forbidden")
    assert_error(api.post("/api/v1/stores", json=body), 401, "unauthorized")
    admin = api.as_("admin")
    first = admin.post("/api/v1/stores", json=body)
    assert first.status_code == 201
    again = admin.post("/api/v1/stores", json=body)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert_error(admin.post("/api/v1/stores", json={"code": "NLSQ", "name": "别的名字"}), 409,
                 "idempotency_conflict")
    codes = [s["code"] for s in admin.get("/api/v1/stores").get_json()["stores"]]
    assert codes.count("NLSQ") == 1


def test_openapi_lists_routes_with_roles_and_schemas(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    post = spec["paths"]["/api/v1/stores"]["post"]
    assert post["x-roles"] == ["admin"]
    assert "StoreIn" in spec["components"]["schemas"]


def test_openapi_names_query_parameters_as_clients_send_them(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    names = {p["name"] for p in spec["paths"]["/api/v1/notices"]["get"]["parameters"]}
    assert "from" in names and "from_" not in names
