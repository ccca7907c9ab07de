"""Logins, the caller's own account, and users.

The deactivate row names a user that does not exist: the table checks who passes the role gate (admins and
managers get 404, everyone else 403). Which users a manager may deactivate, and that another shop's are
refused, is tested in tests/integration/test_auth_users.py with real targets.
"""

import uuid

from tests.permissions import ALL_ROLES, PUBLIC, Case

MANAGERS = frozenset({"admin", "manager"})


def new_clerk(store: str) -> dict:
    return {"username": f"perm-{uuid.uuid4().hex[:12]}", "password": "perm-Passw0rd!", "role": "clerk",
            "store": store}


CASES = [
    Case("POST", "/api/v1/auth/token", PUBLIC, body=lambda store: {"username": "nobody", "password": "x"}),
    Case("POST", "/api/v1/auth/logout", ALL_ROLES),
    Case("GET", "/api/v1/auth/me", ALL_ROLES),
    Case("PUT", "/api/v1/auth/me/language", ALL_ROLES, body=lambda store: {"language": "en"}),
    Case("POST", "/api/v1/users", MANAGERS, body=new_clerk, shop_scoped=True),
    Case("GET", "/api/v1/users", MANAGERS, path="/api/v1/users?store={store}", shop_scoped=True),
    Case("POST", "/api/v1/users/<int:user_id>/deactivate", MANAGERS, path="/api/v1/users/999999/deactivate"),
]
