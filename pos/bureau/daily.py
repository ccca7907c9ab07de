"""The daily checkpoint, signed by the server itself: `creditmart serve` runs a thread that, every few minutes,
looks whether the last checkpoint is older than CREDITMART_CHECKPOINT_HOURS (24 by default) and the journal has
moved since; then it verifies the whole journal and signs its head with the bureau's key, as `creditmart ledger
checkpoint` does from cron. A journal that does not verify is not signed, and the refusal is logged as an error
every time it is due, until someone looks. Several server processes may each sign: a second checkpoint of the
same head is harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from core.db import UnitOfWork, utcnow
from pos.bureau import checkpoints
from pos.bureau.models import Checkpoint

log = logging.getLogger(__name__)
ACTOR = "daily"  # the checkpoint's signed_by


class DailyCheckpoint:
    """Signs a checkpoint when one is due. `run_once(now)` for tests; `start()` runs it in a thread."""

    def __init__(self, session_factory: sessionmaker[Session], key_path: Path, every: timedelta, *,
                 poll: float = 300.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.session_factory = session_factory
        self.key_path = key_path
        self.every = every
        self.poll = poll
        self.clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> Checkpoint | None:
        now = now or self.clock()
        if not UnitOfWork(self.session_factory).read(lambda s: checkpoints.checkpoint_due(s, now, self.every)):
            return None
        key = checkpoints.load_signing_key(self.key_path)
        report, checkpoint = checkpoints.verify_and_sign(self.session_factory, key, actor=ACTOR)
        if checkpoint is None:
            first = report.first_problem
            log.error("daily checkpoint refused: the journal does not verify (%d problems; first at seq %s: %s)",
                      report.problem_count, first.seq if first else None, first.what if first else None)
        else:
            log.info("daily checkpoint signed: seq %d, hash %s", checkpoint.seq, checkpoint.hash)
        return checkpoint

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except Exception:  # the database is away, the key unreadable: log it and try at the next poll
                log.exception("daily checkpoint failed")
            self._stopping.wait(self.poll)

    def start(self) -> DailyCheckpoint:
        self._thread = threading.Thread(target=self.run, name="daily-checkpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)


def start_daily_checkpoint(app: Flask) -> DailyCheckpoint | None:
    """The server's checkpoint thread, or None when CREDITMART_CHECKPOINT_HOURS is 0 (cron signs instead)."""
    hours = int(app.config["CHECKPOINT_HOURS"])
    if hours <= 0:
        return None
    key_path = checkpoints.key_file(app.config, app.instance_path)
    daily = DailyCheckpoint(app.extensions["creditmart.db"].session_factory, key_path, timedelta(hours=hours))
    log.info("daily checkpoint: every %d h, key %s", hours, key_path)
    return daily.start()
