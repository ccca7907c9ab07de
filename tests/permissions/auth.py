"""Logins, the caller's own account, and users.

Every role logs out (its own token) and reads its own account. Managers create and list their own shop's users and
deactivate a clerk of their shop ({user}); the bureau's admin does so in every shop. Which roles a manager may
create, and deactivating oneself, are tested in tests/integration/test_auth_users.py.
"""

import uuid

from tests.permissions import ALL_ROLES, PUBLIC, Case, Shop

MANAGERS = frozenset({"admin", "manager"})


def new_clerk(shop: Shop) -> dict:
    return {"username": f"perm-{uuid.uuid4().hex[:12]}", "password": "perm-Passw0rd!", "role": "clerk",
            "store": shop.store}


CASES = [
    Case("POST", "/api/v1/auth/token", PUBLIC, body=lambda shop: {"username": "nobody", "password": "x"},
         expect=401),
    Case("POST", "/api/v1/auth/logout", ALL_ROLES, expect=204),
    Case("GET", "/api/v1/auth/me", ALL_ROLES),
    Case("PUT", "/api/v1/auth/me/language", ALL_ROLES, body=lambda shop: {"language": "en"}),
    Case("POST", "/api/v1/users", MANAGERS, body=new_clerk, shop_scoped=True, expect=201),
    Case("GET", "/api/v1/users", MANAGERS, path="/api/v1/users?store={store}", shop_scoped=True),
    Case("POST", "/api/v1/users/<int:user_id>/deactivate", MANAGERS, path="/api/v1/users/{user}/deactivate",
         shop_scoped=True),
]
