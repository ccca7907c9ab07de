"""The bureau's reports and checkpoints. Reports: the bureau (auditor, admin) reads every shop, a manager their
own (403 for another's); verification runs, checkpoints and the plain-text journal are the bureau's alone.

The transfers behind a flag are named by seq, not by shop: a manager is answered with their own shop's and told
how many were hidden (tests/integration/test_bureau_api.py). A verification run or checkpoint nobody made is 404."""

import uuid

from tests.permissions import Case, Shop

NOBODY = "00000000-0000-4000-8000-000000000000"
READERS = frozenset({"auditor", "admin", "manager"})
AUDITORS = frozenset({"auditor", "admin"})
R = "/api/v1/reports"


def new_id(shop: Shop) -> dict:
    return {"id": str(uuid.uuid4())}


CASES = [
    *[Case("GET", f"{R}/{report}{suffix}", READERS, path=f"{R}/{report}{suffix}?store={{store}}", shop_scoped=True)
      for report in ("reconciliation", "anomalies", "dashboard") for suffix in ("", ".xlsx", ".csv")],
    Case("GET", f"{R}/charts/<any(monthly, categories, stock):chart>.svg", READERS,
         path=f"{R}/charts/monthly.svg?store={{store}}", shop_scoped=True),
    Case("GET", f"{R}/transfers", READERS, path=f"{R}/transfers?seq=1"),
    Case("POST", f"{R}/verify-runs", AUDITORS, body=new_id, expect=202),
    Case("GET", f"{R}/verify-runs", AUDITORS),
    Case("GET", f"{R}/verify-runs/<uuid:run_id>", AUDITORS, path=f"{R}/verify-runs/{NOBODY}", expect=404),
    Case("GET", f"{R}/journal.txt", AUDITORS),
    Case("POST", "/api/v1/checkpoints", AUDITORS, body=new_id, expect=201),
    Case("GET", "/api/v1/checkpoints", AUDITORS),
    Case("GET", "/api/v1/checkpoints/public-key", AUDITORS),
    Case("GET", "/api/v1/checkpoints/<uuid:checkpoint_id>", AUDITORS, path=f"/api/v1/checkpoints/{NOBODY}",
         expect=404),
]
