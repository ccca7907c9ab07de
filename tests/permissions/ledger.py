from tests.permissions import Case

AUDIT = frozenset({"auditor", "admin"})

CASES = [
    Case("GET", "/api/v1/ledger/verify", AUDIT),
    Case("GET", "/api/v1/ledger/export", AUDIT),
]
