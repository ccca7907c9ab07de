"""The print worker: takes queued jobs one at a time, sends them to one printer, records the outcome.

Jobs live wherever a `JobStore` keeps them: the database (`pos.print_jobs.DatabaseJobStore`, in the embedded server)
or a central server over HTTP (the print agent). The store hands out plain `Job`s, so this module knows nothing about
sessions or HTTP. One worker drives one printer and sends one job at a time, because a raw printer port serves one
client. A job that could not be printed is retried with exponential backoff. When nothing of it reached the printer
(`PrinterUnavailable`: switched off, unplugged, out of paper) it is retried for as long as that lasts, so it prints on
its own once the printer is back; other failures are retried up to a limit. One that may have printed in part
(`PrintUncertain`) is not retried automatically, so a receipt never comes out twice without a person deciding it
should.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from printers.drivers import PrinterError, PrinterUnavailable

log = logging.getLogger(__name__)
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class Job:
    """A claimed job. `attempts` counts this attempt too."""

    id: str
    kind: str
    payload: bytes
    attempts: int
    ref: str | None = None


class JobStore(Protocol):
    def claim(self, worker: str, now: datetime) -> Job | None:
        """Atomically take the oldest due job (status queued → printing), or None. Two workers never get the same
        job."""

    def succeeded(self, job: Job, now: datetime) -> None:
        """The job printed (printing → printed)."""

    def failed(self, job: Job, error: str, now: datetime, retry_at: datetime | None, *,
               unavailable: bool = False) -> None:
        """The job did not print: back to queued until `retry_at`, or failed for good when it is None.
        `unavailable`: nothing of it reached the printer (a store that applies its own policy retries it without
        limit)."""


class Sender(Protocol):
    def send(self, payload: bytes, job_name: str = ...) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: 2 s, 4 s, 8 s … at most 60 s apart.

    A printer that is unavailable (nothing of the job reached it: switched off for a paper change, a power cut,
    unplugged) is tried again every `max_delay` for as long as it takes, so the job prints on its own once the
    printer is back, however long that is. Any other failure that is safe to retry fails the job after
    `max_attempts` (about five minutes with the defaults), and it waits for a person (POST /print-jobs/{id}/retry).
    A job that may have printed in part is never retried automatically."""

    first_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 60.0
    max_attempts: int = 10

    def delay(self, attempts: int) -> timedelta:
        seconds = self.first_delay * self.factor ** max(0, min(attempts, 64) - 1)
        return timedelta(seconds=min(self.max_delay, seconds))

    def next_attempt(self, attempts: int, now: datetime, *, retryable: bool = True,
                     unavailable: bool = False) -> datetime | None:
        if not retryable or (attempts >= self.max_attempts and not unavailable):
            return None
        return now + self.delay(attempts)


@dataclass(frozen=True)
class Outcome:
    """What one step of the worker did, and how long the worker should wait before the next step."""

    kind: Literal["idle", "printed", "retry", "failed"]
    job: Job | None = None
    error: str = ""
    retry_at: datetime | None = None
    wait: float = 0.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def short_error(exc: BaseException) -> str:
    text = " ".join((str(exc) or type(exc).__name__).split())
    return text[:MAX_ERROR_LENGTH]


class PrintWorker:
    """One printer's worker. Drive it step by step with `run_once(now=...)`, or run it in a thread with `start()`."""

    def __init__(self, store: JobStore, printer: Sender, *, name: str, policy: RetryPolicy | None = None,
                 clock: Callable[[], datetime] = utcnow, idle_wait: float = 2.0) -> None:
        self.store = store
        self.printer = printer
        self.name = name
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.idle_wait = idle_wait
        self.consecutive_failures = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> Outcome:
        """Claim one due job and print it. `now` (for tests) stands for the clock throughout the step."""
        job = self.store.claim(self.name, now or self.clock())
        if job is None:
            return Outcome("idle", wait=self.idle_wait)
        try:
            self.printer.send(job.payload, job_name=f"creditmart-{job.kind}-{job.id}")
        except Exception as exc:  # every failure is recorded on the job; none may stop the worker
            retryable = isinstance(exc, PrinterError) and exc.retryable
            unavailable = isinstance(exc, PrinterUnavailable)  # nothing reached the printer: wait for it
            if not isinstance(exc, PrinterError):
                log.exception("print job %s: unexpected error from the printer driver", job.id)
            error = short_error(exc)
            finished = now or self.clock()
            retry_at = self.policy.next_attempt(job.attempts, finished, retryable=retryable, unavailable=unavailable)
            self.store.failed(job, error, finished, retry_at, unavailable=unavailable)
            self.consecutive_failures += 1
            # The printer is probably down: back off as a whole, not just this job.
            wait = self.policy.delay(self.consecutive_failures).total_seconds()
            log.warning("print job %s (%s) attempt %d failed: %s", job.id, job.kind, job.attempts, error)
            return Outcome("retry" if retry_at else "failed", job, error, retry_at, wait)
        self.store.succeeded(job, now or self.clock())
        self.consecutive_failures = 0
        log.info("printed %s %s (attempt %d)", job.kind, job.id, job.attempts)
        return Outcome("printed", job)

    def run_until_idle(self, limit: int = 10_000) -> list[Outcome]:
        """Steps until no job is due (or `limit` steps); for a one-shot agent run and for tests."""
        outcomes: list[Outcome] = []
        for _ in range(limit):
            outcome = self.run_once()
            outcomes.append(outcome)
            if outcome.kind == "idle":
                break
        return outcomes

    # --- background thread ------------------------------------------------------------------------------------------

    def notify(self) -> None:
        """A job was just committed: look now instead of at the next poll."""
        self._wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                outcome = self.run_once()
            except Exception as exc:  # the store is unreachable (database, server): keep trying, slower
                self.consecutive_failures += 1
                log.warning("print worker %s: the job store failed: %s", self.name, short_error(exc))
                log.debug("job store failure", exc_info=True)
                outcome = Outcome("idle", wait=self.policy.delay(self.consecutive_failures).total_seconds())
            if outcome.kind == "printed":
                continue
            self._wake.wait(outcome.wait)
            self._wake.clear()

    def start(self) -> PrintWorker:
        self._thread = threading.Thread(target=self.run, name=f"print-worker {self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
