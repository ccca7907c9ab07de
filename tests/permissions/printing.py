"""Printing routes: the tablet (clerk, manager) and the shop's print agent."""

import uuid

from tests.permissions import Case

NO_SUCH_JOB = "00000000-0000-4000-8000-000000000000"  # allowed roles get 404; cross-shop jobs: test_print_api.py

CASES = [
    Case("GET", "/api/v1/print-jobs", frozenset({"clerk", "manager", "print_agent"}),
         path="/api/v1/print-jobs?store={store}", shop_scoped=True),
    Case("POST", "/api/v1/print-jobs/claim", frozenset({"print_agent"}), body=lambda store: {"agent": "perm-test"}),
    Case("POST", "/api/v1/print-jobs/<uuid:job_id>/result", frozenset({"print_agent"}),
         path=f"/api/v1/print-jobs/{NO_SUCH_JOB}/result", body=lambda store: {"ok": True}),
    Case("POST", "/api/v1/print-jobs/<uuid:job_id>/retry", frozenset({"clerk", "manager"}),
         path=f"/api/v1/print-jobs/{NO_SUCH_JOB}/retry"),
    Case("GET", "/api/v1/print-jobs/<uuid:job_id>/preview", frozenset({"clerk", "manager"}),
         path=f"/api/v1/print-jobs/{NO_SUCH_JOB}/preview"),
    Case("POST", "/api/v1/print-jobs/test-page", frozenset({"manager"}), body=lambda store: {"id": str(uuid.uuid4())}),
    Case("GET", "/api/v1/printer/status", frozenset({"clerk", "manager"})),
]
