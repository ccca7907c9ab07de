"""Writers in separate OS processes against one database: `run_processes(url, jobs_per_process)`.

Each writer is forked from a fork server (a fresh interpreter: nothing inherited from the test process, not a lock,
not a connection), makes its own engine and UnitOfWork with `core.db` as the server and the CLI do, opens its
connection, waits at one barrier with the others, then runs its jobs one after another, each in its own
transaction. A job is a plain dict:

- `{"kind": "post", "transfer": {...NewTransfer fields...}}` → `("posted", seq, debit_balance_after, replayed)`
- `{"kind": "sell", "store_id": 1, "barcode": "...", "qty": 2}` → `("sold", level_after)`
- `{"kind": "verify"}` (what `creditmart ledger verify` does) → `("verified", ok, transfers, problems)`

A refusal is `("refused", error class name, details)`; anything else raised (a `database is locked` that escaped,
...) is `("error", "Class: message", traceback)`, for the test to fail on.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
import traceback
import uuid
from typing import Any

from sqlalchemy import func, select

from core.db import UnitOfWork, make_engine, make_session_factory
from inventory import stock
from inventory.errors import OutOfStock
from ledger.errors import InsufficientPoints
from ledger.models import Transfer
from ledger.posting import NewTransfer, post
from ledger.verify import snapshot_session, verify
from pos.models import import_all_models

import_all_models()  # the whole schema, as in the server (a stock level's foreign key names the stores table)

# The fork server starts once per test run and imports this module (the whole schema) once; every writer forked
# from it starts in milliseconds instead of a second or more of imports (spawn) on a busy 2-core machine.
CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload([__name__])
START_TIMEOUT = 60  # s: spawning and importing on a busy 2-core machine; a hang fails instead of waiting forever

Outcome = tuple[Any, ...]


def run_processes(url: str, jobs_per_process: list[list[dict[str, Any]]], *, threads: int = 1) -> list[list[Outcome]]:
    """Run each list of jobs in its own process, all released at once; the outcomes, per process, in job order.

    `threads` > 1: each process shares its engine between that many threads, as a threaded server does; thread t
    runs jobs t, t + threads, ... of its process."""
    n = len(jobs_per_process)
    barrier, results = CONTEXT.Barrier(n), CONTEXT.Queue()
    processes = [CONTEXT.Process(target=_writer, args=(url, jobs, threads, barrier, results, i), daemon=True)
                 for i, jobs in enumerate(jobs_per_process)]
    for process in processes:
        process.start()
    collected: dict[int, list[Outcome]] = {}
    deadline = time.monotonic() + START_TIMEOUT + 120
    try:
        while len(collected) < n:
            try:
                index, outcomes = results.get(timeout=0.5)
            except queue.Empty:
                dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                if dead or time.monotonic() > deadline:
                    raise AssertionError(f"writer processes failed or hung: exit codes "
                                         f"{[p.exitcode for p in processes]}") from None
                continue
            collected[index] = outcomes
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
    assert [p.exitcode for p in processes] == [0] * n
    return [collected[i] for i in range(n)]


def errors_in(outcomes: list[Outcome]) -> list[str]:
    return [f"{o[1]}\n{o[2]}" for o in outcomes if o[0] == "error"]


def _writer(url: str, jobs: list[dict[str, Any]], threads: int, barrier: Any, results: Any, index: int) -> None:
    engine = make_engine(url)
    try:
        uow = UnitOfWork(make_session_factory(engine))  # the default attempts, as the server and the CLI use
        uow.read(lambda s: s.scalar(select(func.count()).select_from(Transfer)))  # connected, PRAGMAs done
        outcomes: list[Outcome] = [("error", "not run", "")] * len(jobs)

        def run(first: int) -> None:
            for i in range(first, len(jobs), threads):
                outcomes[i] = _do(uow, jobs[i])

        barrier.wait(timeout=START_TIMEOUT)
        if threads == 1:
            run(0)
        else:
            workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
    except Exception:
        outcomes = [("error", "writer failed", traceback.format_exc())]
    finally:
        engine.dispose()
    results.put((index, outcomes))


def _do(uow: UnitOfWork, job: dict[str, Any]) -> Outcome:
    """One job in its own transaction, as a use case runs it; the outcome as plain picklable values."""
    try:
        if job["kind"] == "verify":
            with snapshot_session(uow.session_factory) as session:
                report = verify(session)
            return ("verified", report.ok, report.transfers, [p.to_dict() for p in report.problems])
        if job["kind"] == "post":
            spec = NewTransfer(**job["transfer"])
            p = uow.run(lambda s: post(s, spec))
            return ("posted", p.seq, p.debit_balance_after, p.replayed)
        sold = uow.run(lambda s: stock.sell(s, job["store_id"], [(job["barcode"], job["qty"])],
                                            ref=f"sale:{uuid.uuid4()}", actor="clerk-dsc"))
        return ("sold", sold[0].level_after)
    except (InsufficientPoints, OutOfStock) as exc:
        return ("refused", type(exc).__name__, exc.details)
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
