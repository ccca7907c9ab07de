"""The permission tests' world: the usual seed plus real objects in both shops, built once per engine through the
API and the domain layer, so that a route naming a sale, a member, a card, a shift, an activity, a contribution,
a print job or a user meets a real one of the caller's shop — and a real one of the other shop.

A test module uses it by declaring two fixtures: `templates` (overriding the conftest's for that module, so its
databases are cloned from the seed with the world) from `world_templates`, and `shops` (each shop's objects as a
`Shop`) from `shops_of`. Each test still gets its own copy of the database: what one call changes (a void, an
approval) no other test sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from core.db import UnitOfWork, utcnow
from pos import create_app
from tests.conftest import TEST_SECRET
from tests.databases import Templates
from tests.integration.test_checkout_api import OIL, RICE, add_goods, give_points, register_member, sale_body
from tests.integration.test_earning_support import SHANGHAI, activity, member
from tests.permissions import Shop
from tests.support import Api, password_for, seed_database

OWN, OTHER = "DSC", "XHC"
C = "/api/v1/contributions"


def _created(response: TestResponse, status: int = 201) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _build_shop(api: Api, uow: UnitOfWork, store: str) -> dict[str, str | int]:
    """One shop's objects, made as the shop's people make them."""
    s = store.lower()
    clerk, manager, coordinator = (api.as_(f"{who}-{s}") for who in ("clerk", "manager", "coordinator"))
    add_goods(api, store)
    shopper = register_member(api, store, name="权限测试")
    give_points(uow, shopper["member_id"], 1000)
    card = shopper["card_number"]

    # The first print job of the shop: the card, claimed by the shop's agent and failed for good.
    job = _created(clerk.post(f"/api/v1/members/{shopper['member_id']}/card/print"))["job_id"]
    claimed = _created(api.as_(f"agent-{s}").post("/api/v1/print-jobs/claim", json={}), 200)["job"]
    assert claimed["job_id"] == job, claimed
    _created(api.as_(f"agent-{s}").post(f"/api/v1/print-jobs/{job}/result",
                                       json={"ok": False, "error": "paper out", "retryable": False}), 200)

    sale = _created(clerk.post("/api/v1/sales", json=sale_body(card, [(RICE, 1)])))
    _created(manager.post("/api/v1/sales", json=sale_body(card, [(OIL, 1)])))  # the manager's shift is open too
    started = (utcnow() - timedelta(hours=2)).astimezone(SHANGHAI)
    hours = _created(coordinator.post(C, json={"id": str(uuid.uuid4()), "kind": "volunteer_hours",
                                               "card_number": card, "minutes": 60}))
    donation = _created(coordinator.post(C, json={"id": str(uuid.uuid4()), "kind": "donation_cash",
                                                  "card_number": card, "amount_fen": 2000}))
    assert (hours["status"], donation["status"]) == ("pending", "pending")
    user = _created(manager.post("/api/v1/users", json={"username": f"perm-clerk-{s}", "role": "clerk",
                                                        "password": password_for("perm"), "store": store}))
    return {"store": store, "member": shopper["member_id"], "card": card, "sale": sale["sale_id"],
            "shift": sale["shift_id"], "activity": str(activity(uow, store, starts_at=started)),
            "contribution": hours["contribution_id"], "donation": donation["contribution_id"], "job": job,
            "user": user["id"]}


def build_world(url: str, workdir: Path) -> dict[str, dict[str, str | int]]:
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": TEST_SECRET,
                      "BUREAU_KEY_FILE": str(workdir / "bureau-key.pem")})
    try:
        api = Api(app, app.test_client())
        uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)
        return {store: _build_shop(api, uow, store) for store in (OWN, OTHER)}
    finally:
        app.extensions["creditmart.db"].engine.dispose()  # a PostgreSQL template takes no open connections


class WorldTemplates(Templates):
    """The seeded templates with the world added; `worlds[engine]` holds its objects' ids."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, self._seed)
        self.worlds: dict[str, dict[str, dict[str, str | int]]] = {}

    def _seed(self, url: str) -> None:
        seed_database(url)
        self.worlds[_engine(url)] = build_world(url, self.workdir)


def _engine(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


def world_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldTemplates]:
    """For a module-scoped `templates` fixture: the module's databases are cloned from the seed with the world."""
    t = WorldTemplates(tmp_path_factory.mktemp("permission-world"))
    yield t
    t.close()


def shops_of(templates: WorldTemplates, db_url: str, app: Flask) -> dict[str, Shop]:
    """For a `shops` fixture: each shop's objects in the test's database."""
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)

    def fresh_card(store: str) -> str:
        return member(uow, store, name="新会员")[1]

    return {store: Shop(**objects, fresh_card=lambda store=store: fresh_card(store))  # type: ignore[arg-type]
            for store, objects in templates.worlds[_engine(db_url)].items()}
