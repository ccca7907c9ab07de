"""Verification runs: the ledger's verify over the whole journal, started from the verification page, with
its progress while it runs and its report when it ends.

A run is a row of `bureau_verify_runs`. `start_run` records it (status running, the journal's length as its
total) and runs `ledger.verify` in a thread of the process that received the request, in a snapshot session;
the thread writes its progress to the row at most twice a second, then the report (ok or failed with the
problems). Any process answers the page's polling from the row. A run whose row has not moved for
`STALE_AFTER` (its process died) reads as an error. The latest signed checkpoint, when there is one, is the
run's anchor: a journal rewritten after it fails even with a recomputed chain.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import UnitOfWork, utcnow
from core.errors import NotFound
from ledger import journal_length, snapshot_session, verify
from pos.bureau import checkpoints
from pos.bureau.models import ERROR, FAILED, OK, RUNNING, VerifyRun

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between progress writes
STALE_AFTER = timedelta(minutes=5)
runs = VerifyRun.__table__


class UnknownRun(NotFound):
    pass


@dataclass(frozen=True)
class RunView:
    id: uuid.UUID
    status: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    total: int
    done: int
    head_seq: int | None
    head_hash: str | None
    problem_count: int | None
    report: dict[str, Any] | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": str(self.id), "status": self.status, "started_by": self.started_by,
                "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "total": self.total, "done": self.done,
                "progress": round(min(1.0, self.done / self.total), 4) if self.total else (
                    1.0 if self.status != RUNNING else 0.0),
                "head": {"seq": self.head_seq, "hash": self.head_hash} if self.head_seq is not None else None,
                "problem_count": self.problem_count, "report": self.report, "error": self.error}


def start_run(uow: UnitOfWork, session_factory: sessionmaker[Session], actor: str, *,
              run_id: uuid.UUID | None = None, wait: bool = False) -> uuid.UUID:
    """Records a run and starts it in a thread (or runs it here with `wait`). Returns its id."""
    run_id = run_id or uuid.uuid4()

    def record(session: Session) -> int:
        total = journal_length(session)
        now = utcnow()
        session.add(VerifyRun(id=run_id, started_by=actor, started_at=now, updated_at=now, status=RUNNING,
                              total=total, done=0))
        session.flush()
        return total

    uow.run(record)
    if wait:
        _run(uow, session_factory, run_id)
    else:
        threading.Thread(target=_run, args=(uow, session_factory, run_id), name=f"verify-{run_id}",
                         daemon=True).start()
    return run_id


def _run(uow: UnitOfWork, session_factory: sessionmaker[Session], run_id: uuid.UUID) -> None:
    done = 0
    last_write = time.monotonic()

    def progress(count: int) -> None:
        nonlocal done, last_write
        done += count
        if time.monotonic() - last_write >= PROGRESS_INTERVAL:
            last_write = time.monotonic()
            _write(uow, run_id, done=done)

    try:
        with snapshot_session(session_factory) as session:
            anchor_row = checkpoints.last_checkpoint(session)
            anchor = (anchor_row.seq, anchor_row.hash) if anchor_row is not None and anchor_row.seq else None
            report = verify(session, progress=progress, anchor=anchor)
        body = report.to_dict()
        body["anchor"] = {"seq": anchor[0], "hash": anchor[1]} if anchor else None
        _write(uow, run_id, done=report.transfers, status=OK if report.ok else FAILED, head_seq=report.head_seq,
               head_hash=report.head_hash, problem_count=report.problem_count, report=json.dumps(body),
               finished_at=utcnow())
    except Exception as exc:  # the run must end in its row whatever happens; the log keeps the trace
        log.exception("verification run %s failed", run_id)
        try:
            _write(uow, run_id, status=ERROR, error=str(exc)[:500], finished_at=utcnow())
        except Exception:  # the database itself is gone: the row will read as stale, then as an error
            log.exception("verification run %s could not record its failure", run_id)


def _write(uow: UnitOfWork, run_id: uuid.UUID, **values: Any) -> None:
    values["updated_at"] = utcnow()
    uow.run(lambda session: session.execute(update(runs).where(runs.c.id == run_id).values(**values)))


def get_run(session: Session, run_id: uuid.UUID) -> RunView:
    row = session.get(VerifyRun, run_id, populate_existing=True)
    if row is None:
        raise UnknownRun("no such verification run", id=str(run_id))
    return _view(row)


def recent_runs(session: Session, limit: int = 10) -> list[RunView]:
    return [_view(row) for row in session.scalars(select(VerifyRun).order_by(VerifyRun.started_at.desc())
                                                  .limit(limit))]


def _view(row: VerifyRun) -> RunView:
    status, error = row.status, row.error
    if status == RUNNING and utcnow() - row.updated_at > STALE_AFTER:
        status, error = ERROR, "the run stopped reporting (its server process ended)"
    return RunView(row.id, status, row.started_by, row.started_at, row.finished_at, row.total, row.done,
                   row.head_seq, row.head_hash, row.problem_count, json.loads(row.report) if row.report else None,
                   error)
