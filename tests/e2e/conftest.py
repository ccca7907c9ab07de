"""End-to-end fixtures: the real production server (waitress) on a free loopback port, and Chromium.

Chromium comes from Debian (`/usr/bin/chromium`), driven by Playwright's Python package; no browser is
downloaded. Screenshots go to test-artifacts/ (not committed).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class LiveServer:
    def __init__(self, app: Flask) -> None:
        from waitress.server import create_server

        self.app = app
        self.server = create_server(app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        # The loop and the close run on this one thread: closing the sockets from the test's thread
        # while select() waits on them fails with EBADF in the server thread.
        while not self._stopping.is_set():
            self.server.asyncore.loop(timeout=0.05, map=self.server._map, count=1)
        self.server.task_dispatcher.shutdown()
        self.server.asyncore.close_all(self.server._map)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"browser tests skipped: {CHROMIUM} not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


# ---- every page at both orientations, with fingertip-sized controls -------------------------------------------------

VIEWPORTS = {"1280x800": (1280, 800), "800x1280": (800, 1280)}

# The controls a finger may need: buttons, button-like links, the menu, fields.
TARGETS = ("button, a.btn, a.tile, .tabs a, .nav-link, input:not([type=checkbox]), select, textarea, label.check")
# Visible controls smaller than a fingertip (44 CSS px), as "tag#id.class text" for the failure message.
SMALL_TARGETS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((e) => e.offsetParent !== null && !e.closest('dialog:not([open])'))
  .filter((e) => e.getBoundingClientRect().height < 44)
  .map((e) => `${e.tagName}#${e.id}.${e.className} ${e.textContent.trim().slice(0, 20)}`)"""


def shoot(page: object, name: str, size: str, targets: str = TARGETS) -> None:
    """Checks that no visible control of `targets` is under 44 px tall, then saves a screenshot `name-size`."""
    assert page.evaluate(SMALL_TARGETS, targets) == [], name  # type: ignore[attr-defined]
    screenshot(page, f"{name}-{size}")


# ---- the tablet pages' shop: SQLite only ---------------------------------------------------------------------------
# The pages' browser tests run on SQLite only: a page sees HTTP answers, not the engine, and every server rule they
# rely on (exactly-once sales, refusals, shop scoping) is tested on SQLite and PostgreSQL in tests/integration.
# Browsers are slow on a shared 2-core machine; running each page test twice would buy nothing.


class Shop:
    """A live server over a fresh SQLite database, its receipt printer (a fake raw-port printer with a real print
    worker in front of it), and helpers to put goods, members and points in place the way the domain does."""

    def __init__(self, server: LiveServer, printer: object, worker: object) -> None:
        from core.db import UnitOfWork

        self.server = server
        self.url = server.url
        self.app = server.app
        self.printer = printer
        self.worker = worker
        self.uow = UnitOfWork(self.app.extensions["creditmart.db"].session_factory)

    def store_id(self, code: str = "DSC") -> int:
        from tests.support import store_id

        return self.uow.read(lambda session: store_id(session, code))

    def add_product(self, barcode: str, name: str, price: int, qty: int = 50, reorder_level: int | None = None,
                    code: str = "DSC") -> None:
        from inventory import products, stock

        shop = self.store_id(code)

        def work(session):  # type: ignore[no-untyped-def]
            products.create_product(session, barcode=barcode, name=name, points_price=price, actor="test")
            if qty:
                stock.receive(session, shop, [(barcode, qty)], ref=f"receipt:seed-{barcode}", actor="test")
            if reorder_level is not None:
                stock.set_reorder_level(session, shop, barcode, reorder_level)

        self.uow.run(work)

    def add_member(self, name: str, points: int = 0, *, phone: str | None = None, household: str | None = None,
                   code: str = "DSC") -> dict[str, str]:
        import uuid

        from ledger import VOLUNTEER_HOURS, NewTransfer, post, programme_account
        from ledger.members import active_card, register_member

        shop = self.store_id(code)

        def work(session):  # type: ignore[no-untyped-def]
            member = register_member(session, uuid.uuid4(), name, phone, household, shop, "manager-dsc")
            if points:
                post(session, NewTransfer(id=uuid.uuid4(), debit=programme_account(session).id,
                                          credit=member.account_id, amount=points, code=VOLUNTEER_HOURS,
                                          ref="test:opening", actor="manager-dsc", store_id=shop))
            card = active_card(session, member.id)
            return {"member_id": str(member.id), "card_number": card.card_number}

        return self.uow.run(work)

    def api(self, username: str) -> object:
        """The HTTP API in-process, logged in as `username`: for arranging what another tablet would have done."""
        from tests.support import Api

        return Api(self.app, self.app.test_client()).as_(username)

    def balance(self, member_id: str) -> int:
        from ledger.accounts import balance
        from ledger.members import get_member

        return self.uow.read(lambda session: balance(session, get_member(session, member_id).account_id))


@pytest.fixture
def sqlite_db_url(templates: object) -> str:
    return templates.sqlite()  # type: ignore[attr-defined]


@pytest.fixture
def shop(sqlite_db_url: str) -> Iterator[Shop]:
    from core.db import UnitOfWork
    from pos import create_app
    from pos.print_jobs import DatabaseJobStore
    from printers.drivers import open_driver
    from printers.queue import PrintWorker, RetryPolicy
    from tests.conftest import TEST_SECRET
    from tests.escpos_decoder import FakePrinter

    printer = FakePrinter()
    app = create_app({"TESTING": True, "DATABASE_URL": sqlite_db_url, "SECRET_KEY": TEST_SECRET,
                      "PRINTER": printer.url})
    # The embedded deployment's worker, retrying fast: an unavailable printer every 0.2 s (for as long as it
    # takes, as in production), any other failure not at all, so it shows at once.
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)
    worker = PrintWorker(DatabaseJobStore(uow, printer=printer.url), open_driver(printer.url), name="e2e",
                         policy=RetryPolicy(first_delay=0.05, max_delay=0.2, max_attempts=1), idle_wait=0.1)
    worker.start()
    try:
        with LiveServer(app) as server:
            yield Shop(server, printer, worker)
    finally:
        worker.stop()
        printer.close()
        app.extensions["creditmart.db"].engine.dispose()


def log_in(page: object, shop: Shop, username: str, path: str = "/home") -> None:
    """Logs in through the page's own CM.login (the login form is tested in test_pages_login.py), then opens path."""
    from tests.support import password_for

    page.goto(shop.url + "/login")  # type: ignore[attr-defined]
    page.wait_for_function("window.CM !== undefined")  # type: ignore[attr-defined]
    ok = page.evaluate("([u, p]) => CM.login(u, p).then((r) => r.ok)", [username, password_for(username)])  # type: ignore[attr-defined]
    assert ok, f"could not log in as {username}"
    page.goto(shop.url + path)  # type: ignore[attr-defined]


def scan(page: object, code: str) -> None:
    """A keyboard-wedge scanner: the code typed fast, then Enter, wherever the focus is."""
    page.keyboard.type(code, delay=5)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]


def android_insert(page: object, text: str) -> None:
    """What an Android input method sends: keydown with key "Unidentified" (keyCode 229), then inserted text."""
    page.evaluate("document.activeElement.dispatchEvent(new KeyboardEvent('keydown', "  # type: ignore[attr-defined]
                  "{key: 'Unidentified', keyCode: 229, bubbles: true, cancelable: true}))")
    page.keyboard.insert_text(text)  # type: ignore[attr-defined]


def android_scan(page: object, code: str, split: int = 6) -> None:
    """A scan through an Android input method, wherever the focus is: inserted in two pieces, then Enter."""
    android_insert(page, code[:split])
    android_insert(page, code[split:])
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
