"""The worker's retry policy, its thread's resilience, and the printers package's boundaries."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.db import UnitOfWork, make_engine, make_session_factory
from pos.print_jobs import DatabaseJobStore
from printers.drivers import open_driver
from printers.queue import PrintWorker, RetryPolicy

T0 = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def test_backoff_doubles_up_to_a_minute_then_gives_up_unless_the_printer_is_only_unavailable() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n).total_seconds() for n in range(1, 9)] == [2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.next_attempt(1, T0) == T0 + timedelta(seconds=2)
    assert policy.next_attempt(9, T0) == T0 + timedelta(seconds=60)
    assert policy.next_attempt(10, T0) is None  # ten attempts: about five minutes, then a person decides
    assert policy.next_attempt(1, T0, retryable=False) is None
    # A printer switched off or unreachable took nothing: wait for it every minute, however long it takes.
    assert policy.next_attempt(10, T0, unavailable=True) == T0 + timedelta(seconds=60)
    a_week_of_minutes = 7 * 24 * 60
    assert policy.next_attempt(a_week_of_minutes, T0, unavailable=True) == T0 + timedelta(seconds=60)
    assert policy.delay(10**9) == timedelta(seconds=60)  # no float overflow after ~1000 attempts
    assert policy.next_attempt(3, T0, retryable=False, unavailable=True) is None  # may have printed: a person


def test_the_worker_thread_survives_an_unreachable_database_and_stops_on_request(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/missing/dir/creditmart.db")
    try:
        store = DatabaseJobStore(UnitOfWork(make_session_factory(engine), attempts=1))
        worker = PrintWorker(store, open_driver("dummy://"), name="test", idle_wait=0.05,
                             policy=RetryPolicy(first_delay=0.01, max_delay=0.05)).start()
        deadline = time.monotonic() + 10
        while worker.consecutive_failures < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # waiting for the thread, not timing it
        assert worker.consecutive_failures >= 3  # it kept trying
        worker.stop()
        assert worker._thread is not None and not worker._thread.is_alive()
    finally:
        engine.dispose()


def test_printers_imports_no_database_web_or_domain_package() -> None:
    code = ("import sys, printers, printers.drivers, printers.queue, printers.render, printers.layout; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pos', 'flask', 'sqlalchemy', 'ledger', 'inventory', 'werkzeug'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
