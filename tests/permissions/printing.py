"""Printing: the tablet (clerk, manager) and the shop's print agent. Each shop has a failed print job ({job}, a
member card: a document, so it has a preview). A retry queues it again (a second retry leaves it queued); the agent
may report on it."""

import uuid

from tests.permissions import Case

TABLET = frozenset({"clerk", "manager"})
AGENT = frozenset({"print_agent"})
J = "/api/v1/print-jobs"

CASES = [
    Case("GET", J, frozenset({"clerk", "manager", "print_agent"}), path=f"{J}?store={{store}}", shop_scoped=True),
    Case("POST", f"{J}/claim", AGENT, body=lambda shop: {"agent": "perm-test"}),
    Case("POST", f"{J}/<uuid:job_id>/result", AGENT, path=f"{J}/{{job}}/result", body=lambda shop: {"ok": True},
         shop_scoped=True),
    Case("POST", f"{J}/<uuid:job_id>/retry", TABLET, path=f"{J}/{{job}}/retry", shop_scoped=True),
    Case("GET", f"{J}/<uuid:job_id>/preview", TABLET, path=f"{J}/{{job}}/preview", shop_scoped=True),
    Case("POST", f"{J}/test-page", frozenset({"manager"}), body=lambda shop: {"id": str(uuid.uuid4())},
         expect=201),
    Case("GET", "/api/v1/printer/status", TABLET),
]
