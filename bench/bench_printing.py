"""Printing figures: rendering a receipt, its HTML preview, and the print queue on SQLite (a receipt enqueued as a
document inside a transaction, as a sale does; then a worker claiming, rendering and sending every job to a printer
that takes everything).

    .venv/bin/python bench/bench_printing.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.db import UnitOfWork, make_engine, make_session_factory  # noqa: E402
from core.stores import create_store  # noqa: E402
from pos import migrate  # noqa: E402
from pos.print_jobs import DatabaseJobStore, enqueue_document  # noqa: E402
from printers import Receipt, ReceiptLine, preview_html, render_receipt  # noqa: E402
from printers.drivers import open_driver  # noqa: E402
from printers.queue import PrintWorker  # noqa: E402

JOBS = 300


def receipt(i: int) -> Receipt:
    lines = [ReceiptLine("东北大米 5kg", 2, 35), ReceiptLine("金龙鱼食用植物调和油（特惠装）5L", 1, 70),
             ReceiptLine("香皂 125g", 3, 5), ReceiptLine("洗衣液 2kg", 1, 22)]
    total = sum(line.points for line in lines)
    return Receipt(sale_id=f"3f2a9c1e-5b6d-4e7f-8a9b-{i:012d}", store_name="东山村信用超市",
                   sold_at=datetime.now(UTC), clerk="王小红", member_name="杨明", card_number="100000123456",
                   lines=lines, points_total=total, balance_before=1000, balance_after=1000 - total)


def per_call_ms(function, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        function(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    rows: list[tuple[str, float, str]] = []
    for width in (58, 80):
        median, p95 = per_call_ms(lambda i, w=width: render_receipt(receipt(i), w), 200)
        size = len(render_receipt(receipt(0), width))
        rows += [(f"render_receipt_{width}mm_median", median, "ms"), (f"render_receipt_{width}mm_p95", p95, "ms"),
                 (f"receipt_{width}mm_bytes", size, "bytes")]
    median, _ = per_call_ms(lambda i: preview_html(receipt(i), 58), 100)
    rows.append(("preview_html_58mm_median", median, "ms"))

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        migrate.upgrade(url)
        engine = make_engine(url)
        uow = UnitOfWork(make_session_factory(engine))
        store_id = uow.run(lambda s: create_store(s, "DSC", "东山村信用超市").id)
        documents = [receipt(i) for i in range(JOBS)]
        median, p95 = per_call_ms(lambda i: uow.run(lambda s: enqueue_document(s, store_id, documents[i])), JOBS)
        rows += [("enqueue_in_transaction_median", median, "ms"), ("enqueue_in_transaction_p95", p95, "ms")]
        for name, printer in (("dummy", "dummy://"), ("file", f"file://{folder}/receipts")):
            if name == "file":
                uow.run(lambda s: [enqueue_document(s, store_id, d) for d in documents])
            worker = PrintWorker(DatabaseJobStore(uow), open_driver(printer), name="bench")
            started = time.perf_counter()
            printed = sum(o.kind == "printed" for o in worker.run_until_idle())
            elapsed = time.perf_counter() - started
            rows.append((f"worker_drain_{name}_jobs_per_s", printed / elapsed, "jobs/s"))  # rendering included
        engine.dispose()

    print(f"{'figure':40} {'value':>12}  unit")
    for name, value, unit in rows:
        print(f"{name:40} {value:12.2f}  {unit}")
    for name, value, unit in rows:
        print(f"BENCH {name} {value:.2f} {unit}")


if __name__ == "__main__":
    main()
