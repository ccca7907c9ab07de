"""Logging in: passwords hashed with scrypt, failures counted in the database per username and per address,
429 with Retry-After when either has too many, and failures logged without the password.

Time is driven through app.config["CLOCK"]; nothing sleeps.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from core.db import UnitOfWork
from pos import auth
from tests.integration.test_app import assert_error
from tests.support import password_for

TOKEN = "/api/v1/auth/token"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


def attempt(client: FlaskClient, username: str, password: str, address: str = "192.0.2.10"):  # type: ignore[no-untyped-def]
    return client.post(TOKEN, json={"username": username, "password": password},
                       environ_overrides={"REMOTE_ADDR": address})


def fail(client: FlaskClient, username: str, address: str = "192.0.2.10") -> None:
    assert_error(attempt(client, username, "wrong-password", address), 401, "unauthorized")


def assert_locked(response, retry_after: int) -> None:  # type: ignore[no-untyped-def]
    error = assert_error(response, 429, "too_many_requests")
    assert response.headers["Retry-After"] == str(retry_after)
    assert error["details"]["retry_after"] == retry_after


def test_ten_failures_lock_the_username_until_the_window_passes(client: FlaskClient, clock: Clock) -> None:
    for _ in range(10):
        fail(client, "clerk-dsc")
        clock.advance(1)
    # Even the right password is refused while locked: otherwise the lock would still answer guesses.
    assert_locked(attempt(client, "clerk-dsc", password_for("clerk-dsc")), 600 - 10)
    clock.advance(600 - 11)  # one second before the first failure leaves the window
    assert_locked(attempt(client, "clerk-dsc", password_for("clerk-dsc")), 1)
    clock.advance(1)
    assert attempt(client, "clerk-dsc", password_for("clerk-dsc")).status_code == 200


def test_nine_failures_do_not_lock(client: FlaskClient, clock: Clock) -> None:
    for _ in range(9):
        fail(client, "clerk-dsc")
    assert attempt(client, "clerk-dsc", password_for("clerk-dsc")).status_code == 200


def test_username_is_locked_across_addresses(client: FlaskClient, clock: Clock) -> None:
    for i in range(10):
        fail(client, "manager-dsc", address=f"198.51.100.{i}")
    assert_locked(attempt(client, "manager-dsc", password_for("manager-dsc"), address="203.0.113.7"), 600)
    # Another user is not affected by manager-dsc's lock.
    assert attempt(client, "clerk-dsc", password_for("clerk-dsc"), address="203.0.113.7").status_code == 200


def test_address_is_locked_across_usernames(client: FlaskClient, clock: Clock) -> None:
    for i in range(10):
        fail(client, f"guess-{i}", address="198.51.100.99")
    assert_locked(attempt(client, "clerk-dsc", password_for("clerk-dsc"), address="198.51.100.99"), 600)
    # The same user from the shop's own tablet still gets in.
    assert attempt(client, "clerk-dsc", password_for("clerk-dsc"), address="192.0.2.10").status_code == 200


def test_a_success_does_not_reset_the_address_counter(client: FlaskClient, clock: Clock) -> None:
    """An attacker who knows one account cannot clear their machine's record by logging into it."""
    for i in range(9):
        fail(client, f"guess-{i}", address="198.51.100.99")
    assert attempt(client, "clerk-xhc", password_for("clerk-xhc"), address="198.51.100.99").status_code == 200
    fail(client, "guess-9", address="198.51.100.99")
    assert_locked(attempt(client, "guess-10", "x", address="198.51.100.99"), 600)


def test_a_success_resets_the_username_counter(client: FlaskClient, clock: Clock) -> None:
    for i in range(9):
        fail(client, "clerk-dsc", address=f"198.51.100.{i}")
    assert attempt(client, "clerk-dsc", password_for("clerk-dsc"), address="192.0.2.10").status_code == 200
    for i in range(9):
        fail(client, "clerk-dsc", address=f"203.0.113.{i}")
    assert attempt(client, "clerk-dsc", password_for("clerk-dsc"), address="192.0.2.10").status_code == 200


def test_failures_are_shared_through_the_database(app: Flask, client: FlaskClient, clock: Clock,
                                                  uow: UnitOfWork) -> None:
    """A second server process (another app on the same database) sees the first one's failures."""
    from pos import create_app
    from tests.conftest import TEST_SECRET

    for _ in range(10):
        fail(client, "clerk-dsc")
    other = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": TEST_SECRET,
                        "CLOCK": clock})
    try:
        assert_locked(attempt(other.test_client(), "clerk-dsc", password_for("clerk-dsc")), 600)
    finally:
        other.extensions["creditmart.db"].engine.dispose()
    assert uow.read(lambda s: s.scalar(select(func.count()).select_from(auth.LoginFailure))) == 10


def test_old_failures_are_purged(client: FlaskClient, clock: Clock, uow: UnitOfWork) -> None:
    for i in range(5):
        fail(client, f"guess-{i}")
    clock.advance(601)
    fail(client, "guess-late")
    rows = uow.read(lambda s: list(s.scalars(select(auth.LoginFailure.username))))
    assert rows == ["guess-late"]


def test_an_unknown_and_a_deactivated_user_fail_like_a_wrong_password(client: FlaskClient, clock: Clock,
                                                                      uow: UnitOfWork) -> None:
    def deactivate(session):  # type: ignore[no-untyped-def]
        session.scalars(select(auth.User).where(auth.User.username == "clerk-dsc")).one().active = False

    uow.run(deactivate)
    assert_error(attempt(client, "clerk-dsc", password_for("clerk-dsc")), 401, "unauthorized")
    assert_error(attempt(client, "nobody-here", "whatever-password"), 401, "unauthorized")


def test_failures_are_logged_without_the_password(client: FlaskClient, clock: Clock,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    secret_guess = "Tr0ub4dor&3-guess"
    with caplog.at_level(logging.INFO):
        for _ in range(11):
            attempt(client, "manager-dsc", secret_guess)
        clock.advance(600)
        assert attempt(client, "manager-dsc", password_for("manager-dsc")).status_code == 200
    messages = [r.getMessage() for r in caplog.records]
    assert any("login failed" in m and "manager-dsc" in m and "192.0.2.10" in m for m in messages)
    assert any("too many failures" in m for m in messages)
    everything = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert secret_guess not in everything
    assert password_for("manager-dsc") not in everything


def test_passwords_are_stored_hashed_with_scrypt(client: FlaskClient, uow: UnitOfWork) -> None:
    stored = uow.read(lambda s: s.scalar(select(auth.User.password_hash).where(auth.User.username == "admin")))
    assert stored != password_for("admin") and password_for("admin") not in stored
    assert stored.startswith("scrypt:")
    assert check_password_hash(stored, password_for("admin"))
    # Two users with the same password get different hashes (salted).
    assert auth.hash_password("same-password") != auth.hash_password("same-password")


def test_password_is_taken_exactly_as_typed(client: FlaskClient, uow: UnitOfWork) -> None:
    """Spaces at the ends are part of a password: neither stripped when set nor when logging in."""
    def add(session):  # type: ignore[no-untyped-def]
        auth.create_user(session, "spacey", "  with spaces  ", "auditor", None)

    uow.run(add)
    assert client.post(TOKEN, json={"username": "spacey", "password": "  with spaces  "}).status_code == 200
    assert client.post(TOKEN, json={"username": "spacey", "password": "with spaces"}).status_code == 401


def test_behind_a_proxy_the_limit_counts_the_forwarded_address(app: Flask, clock: Clock) -> None:
    """With CREDITMART_PROXY_HOPS=1 every request comes from the proxy's address: the limit must count the client
    the proxy names in X-Forwarded-For, or one guesser would lock the whole village out."""
    from pos import create_app

    proxied = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"],
                          "SECRET_KEY": app.config["SECRET_KEY"], "PROXY_HOPS": 1, "CLOCK": clock})
    client = proxied.test_client()

    def via_proxy(username: str, password: str, forwarded_for: str):  # type: ignore[no-untyped-def]
        return client.post(TOKEN, json={"username": username, "password": password},
                           headers={"X-Forwarded-For": forwarded_for}, environ_overrides={"REMOTE_ADDR": "10.0.0.2"})

    for i in range(10):
        assert via_proxy(f"guess-{i}", "wrong-password", "198.51.100.99").status_code == 401
    assert_locked(via_proxy("clerk-dsc", password_for("clerk-dsc"), "198.51.100.99"), 600)
    assert via_proxy("clerk-dsc", password_for("clerk-dsc"), "192.0.2.10").status_code == 200
    proxied.extensions["creditmart.db"].engine.dispose()


def test_without_a_proxy_a_forged_forwarded_header_changes_nothing(client: FlaskClient, clock: Clock) -> None:
    for i in range(10):
        response = client.post(TOKEN, json={"username": f"guess-{i}", "password": "wrong-password"},
                               headers={"X-Forwarded-For": f"203.0.113.{i}"},
                               environ_overrides={"REMOTE_ADDR": "198.51.100.99"})
        assert response.status_code == 401
    assert_locked(attempt(client, "clerk-dsc", password_for("clerk-dsc"), address="198.51.100.99"), 600)


def burst(app: Flask, attempts: list[tuple[str, str, str]]) -> list[int]:
    """Every (username, password, address) at once, one thread and one test client each; their status codes."""
    start = threading.Barrier(len(attempts))

    def one(username: str, password: str, address: str) -> int:
        client = app.test_client()
        start.wait()
        return attempt(client, username, password, address).status_code

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return list(pool.map(lambda a: one(*a), attempts))


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the real scrypt checks a login makes (the real function still answers)."""
    checks: list[str] = []
    real = auth.check_password_hash

    def counted(pwhash: str, password: str) -> bool:
        checks.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", counted)
    return checks


@pytest.mark.parametrize("spread", ["one-username-many-addresses", "one-address-many-usernames"])
def test_a_burst_of_parallel_guesses_gets_no_more_than_the_limit(app: Flask, client: FlaskClient, clock: Clock,
                                                                 uow: UnitOfWork, password_checks: list[str],
                                                                 spread: str) -> None:
    """20 wrong passwords at the same moment: the hash is slow, so without an atomic count-and-record all 20
    would pass the check before the first failure is stored. Exactly 10 reach a password check."""
    if spread == "one-username-many-addresses":
        guesses = [("clerk-dsc", f"wrong-password-{i}", f"198.51.100.{i}") for i in range(20)]
    else:
        guesses = [(f"guess-{i}", f"wrong-password-{i}", "198.51.100.99") for i in range(20)]
    statuses = burst(app, guesses)
    assert sorted(statuses) == [401] * 10 + [429] * 10
    assert len(password_checks) == 10
    assert uow.read(lambda s: s.scalar(select(func.count()).select_from(auth.LoginFailure))) == 10
    # The right password is refused too until the window has passed, from the guessed-at username or address.
    username, address = ("clerk-dsc", "203.0.113.7") if spread.startswith("one-username") else (
        "clerk-dsc", "198.51.100.99")
    assert_locked(attempt(client, username, password_for(username), address), 600)
    clock.advance(599)
    assert_locked(attempt(client, username, password_for(username), address), 1)
    assert len(password_checks) == 10
    clock.advance(1)
    assert attempt(client, username, password_for(username), address).status_code == 200
    assert len(password_checks) == 11


def test_parallel_right_passwords_all_get_in(app: Flask, clock: Clock, uow: UnitOfWork) -> None:
    """Counting an attempt before its check does not cost the honest: a shop's clerks logging in together from
    one tablet address all get in, and leave no failure behind."""
    statuses = burst(app, [(u, password_for(u), "192.0.2.10") for u in ("clerk-dsc", "manager-dsc", "admin")] * 3)
    assert statuses == [200] * 9
    assert uow.read(lambda s: s.scalar(select(func.count()).select_from(auth.LoginFailure))) == 0
