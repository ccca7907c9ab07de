from tests.permissions import ALL_ROLES, PUBLIC, Case

CASES = [
    Case("GET", "/healthz", PUBLIC),
    Case("GET", "/api/v1/openapi.json", PUBLIC),
    Case("POST", "/api/v1/stores", frozenset({"admin"}), body=lambda shop: {"code": "NEW1", "name": "新店"},
         expect=201),
    Case("GET", "/api/v1/stores", ALL_ROLES),
]
