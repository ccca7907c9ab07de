"""Users over the API: who may create, list and deactivate whom; what a new user must look like."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import UnitOfWork
from pos import auth
from pos.idempotency import IdempotencyRecord, request_fingerprint
from tests.integration.test_app import assert_error
from tests.support import Api, password_for

USERS = "/api/v1/users"


def new_user(**changes: Any) -> dict[str, Any]:
    body = {"username": "wang.fang", "password": "counter-Passw0rd", "role": "clerk", "store": "DSC"}
    return body | changes


def user_count(uow: UnitOfWork) -> int:
    return uow.read(lambda s: s.scalar(select(func.count()).select_from(auth.User)))


def user_id(uow: UnitOfWork, username: str) -> int:
    return uow.read(lambda s: s.scalar(select(auth.User.id).where(auth.User.username == username)))


def log_in(api: Api, username: str, password: str) -> int:
    return api.client.post("/api/v1/auth/token", json={"username": username, "password": password}).status_code


def test_manager_creates_a_clerk_who_can_log_in(api: Api, uow: UnitOfWork) -> None:
    response = api.as_("manager-dsc").post(USERS, json=new_user())
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["username"] == "wang.fang" and body["role"] == "clerk" and body["store"] == "DSC"
    assert body["active"] is True and body["created_at"].endswith("+00:00")
    assert not any("password" in key for key in body) and "counter-Passw0rd" not in response.get_data(as_text=True)
    assert log_in(api, "wang.fang", "counter-Passw0rd") == 200
    stored = uow.read(lambda s: s.scalar(select(auth.User.password_hash).where(auth.User.username == "wang.fang")))
    assert stored.startswith("scrypt:") and "counter-Passw0rd" not in stored


def test_manager_creates_a_coordinator(api: Api) -> None:
    assert api.as_("manager-dsc").post(USERS, json=new_user(role="coordinator")).status_code == 201


@pytest.mark.parametrize("changes", [
    {"role": "manager"},  # not above or beside themselves
    {"role": "admin", "store": None},
    {"role": "auditor", "store": None},
    {"role": "print_agent"},
    {"store": "XHC"},  # not in another shop
    {"role": "coordinator", "store": "XHC"},
    {"store": "NOSUCH"},  # no probing which shops exist
])
def test_manager_cannot_create_outside_their_remit(api: Api, uow: UnitOfWork, changes: dict[str, Any]) -> None:
    before = user_count(uow)
    assert_error(api.as_("manager-dsc").post(USERS, json=new_user(**changes)), 403, "forbidden")
    assert user_count(uow) == before


@pytest.mark.parametrize("username", ["clerk-dsc", "coordinator-dsc", "auditor", "agent-dsc"])
def test_other_roles_cannot_manage_users(api: Api, uow: UnitOfWork, username: str) -> None:
    caller = api.as_(username)
    before = user_count(uow)
    assert_error(caller.post(USERS, json=new_user()), 403, "forbidden")
    assert_error(caller.get(USERS), 403, "forbidden")
    assert_error(caller.post(f"{USERS}/{user_id(uow, 'clerk-xhc')}/deactivate"), 403, "forbidden")
    assert user_count(uow) == before


@pytest.mark.parametrize("body", [
    new_user(role="manager", store="XHC"),
    new_user(role="auditor", store=None),
    new_user(role="admin", store=None),
    new_user(role="print_agent", store="DSC"),
])
def test_admin_creates_any_role_in_any_shop(api: Api, body: dict[str, Any]) -> None:
    response = api.as_("admin").post(USERS, json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["store"] == body["store"]
    assert log_in(api, body["username"], body["password"]) == 200


@pytest.mark.parametrize(("changes", "field"), [
    ({"username": "ab"}, "username"),
    ({"username": "x" * 65}, "username"),
    ({"username": "王芳"}, "username"),
    ({"username": "has space"}, "username"),
    ({"username": "semi;colon"}, "username"),
    ({"password": "short7!"}, "password"),
    ({"password": "x" * 257}, "password"),
    ({"role": "superuser"}, "role"),
    ({"store": ""}, "store"),
    ({"id": "not-a-uuid"}, "id"),
    ({"extra": 1}, "extra"),
])
def test_bad_new_user_is_400_naming_the_field(api: Api, uow: UnitOfWork, changes: dict[str, Any],
                                              field: str) -> None:
    before = user_count(uow)
    error = assert_error(api.as_("admin").post(USERS, json=new_user(**changes)), 400, "validation_error")
    assert field in error["details"]
    assert user_count(uow) == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"role": "clerk", "store": None}, "store"),  # a shop role needs a shop
    ({"role": "auditor", "store": "DSC"}, "store"),  # the bureau's roles have none
])
def test_role_and_store_must_fit_together(api: Api, uow: UnitOfWork, changes: dict[str, Any], field: str) -> None:
    before = user_count(uow)
    error = assert_error(api.as_("admin").post(USERS, json=new_user(**changes)), 400, "validation_error")
    assert field in error["details"]
    assert user_count(uow) == before


def test_unknown_store_is_404_for_an_admin(api: Api) -> None:
    assert_error(api.as_("admin").post(USERS, json=new_user(store="NOSUCH")), 404, "not_found")


def test_username_taken_is_409(api: Api, uow: UnitOfWork) -> None:
    before = user_count(uow)
    error = assert_error(api.as_("manager-dsc").post(USERS, json=new_user(username="clerk-dsc")), 409, "conflict")
    assert error["details"] == {"username": "already taken"}
    assert user_count(uow) == before


def test_with_a_client_id_a_retry_creates_nothing_new(api: Api, uow: UnitOfWork) -> None:
    manager = api.as_("manager-dsc")
    body = new_user(id=str(uuid.uuid4()))
    first = manager.post(USERS, json=body)
    again = manager.post(USERS, json=body)
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    assert_error(manager.post(USERS, json=body | {"role": "coordinator"}), 409, "idempotency_conflict")
    # Without the id, the same body is a second creation of a taken name.
    assert_error(manager.post(USERS, json=new_user()), 409, "conflict")
    # The exactly-once record holds neither the password nor a fast hash of it.
    response, request_hash = uow.read(lambda s: s.execute(
        select(IdempotencyRecord.response, IdempotencyRecord.request_hash)
        .where(IdempotencyRecord.scope == "users", IdempotencyRecord.key == body["id"])).one())
    assert "counter-Passw0rd" not in str(response)
    assert request_hash == request_fingerprint({k: v for k, v in body.items() if k != "password"})


def test_listing_users(api: Api) -> None:
    everyone = api.as_("admin").get(USERS).get_json()["users"]
    names = [u["username"] for u in everyone]
    assert names[:2] == ["admin", "auditor"] and "clerk-xhc" in names and "clerk-dsc" in names
    assert not any("password" in key for u in everyone for key in u)
    xhc = api.as_("admin").get(f"{USERS}?store=XHC").get_json()["users"]
    assert {u["store"] for u in xhc} == {"XHC"}
    own = api.as_("manager-dsc").get(USERS).get_json()["users"]
    assert {u["store"] for u in own} == {"DSC"} and "manager2-dsc" in [u["username"] for u in own]
    assert api.as_("manager-dsc").get(f"{USERS}?store=DSC").get_json()["users"] == own
    assert_error(api.as_("manager-dsc").get(f"{USERS}?store=XHC"), 403, "forbidden")
    assert_error(api.as_("admin").get(f"{USERS}?store=NOSUCH"), 404, "not_found")


def test_manager_deactivates_own_clerk_whose_tokens_then_stop(api: Api, uow: UnitOfWork) -> None:
    clerk = api.as_("clerk-dsc")
    assert clerk.get("/api/v1/auth/me").status_code == 200
    target = user_id(uow, "clerk-dsc")
    response = api.as_("manager-dsc").post(f"{USERS}/{target}/deactivate")
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert_error(clerk.get("/api/v1/auth/me"), 401, "unauthorized")
    assert log_in(api, "clerk-dsc", password_for("clerk-dsc")) == 401
    # Deactivating again changes nothing and says the same.
    assert api.as_("manager-dsc").post(f"{USERS}/{target}/deactivate").get_json() == response.get_json()


@pytest.mark.parametrize("target", ["manager2-dsc", "agent-dsc", "clerk-xhc", "coordinator-xhc", "admin"])
def test_manager_cannot_deactivate_outside_their_remit(api: Api, uow: UnitOfWork, target: str) -> None:
    assert_error(api.as_("manager-dsc").post(f"{USERS}/{user_id(uow, target)}/deactivate"), 403, "forbidden")
    assert api.as_(target).get("/api/v1/auth/me").status_code == 200


def test_admin_deactivates_anyone_but_themselves(api: Api, uow: UnitOfWork) -> None:
    admin = api.as_("admin")
    assert admin.post(f"{USERS}/{user_id(uow, 'manager-xhc')}/deactivate").status_code == 200
    assert_error(admin.post(f"{USERS}/{user_id(uow, 'admin')}/deactivate"), 409, "conflict")
    assert admin.get("/api/v1/auth/me").status_code == 200
    assert_error(admin.post(f"{USERS}/999999/deactivate"), 404, "not_found")
    assert_error(admin.post(f"{USERS}/abc/deactivate"), 404, "not_found")
