"""Inventory benchmarks: importing a 100,000-product catalogue, and looking a product up by barcode in it.

    .venv/bin/python bench/bench_inventory.py [--products N] [--lookups N]

Targets (issue 5): import of 100,000 products < 15 s; lookup by barcode p99 < 2 ms in-process. Runs on a SQLite file;
also on PostgreSQL when CREDITMART_BENCH_POSTGRES_URL (or CREDITMART_TEST_POSTGRES_URL) names a server, in a
scratch database it drops afterwards. A lookup is what the counter does per scan: a fresh read-only session, the
code normalised and validated, one indexed query for the product and this shop's stock.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.db import UnitOfWork, make_engine, make_session_factory  # noqa: E402
from core.stores import create_store  # noqa: E402
from inventory import catalog, stock  # noqa: E402
from inventory.barcodes import gs1_check_digit  # noqa: E402
from pos import migrate  # noqa: E402

CATEGORIES = ("粮油", "调味", "日化", "食品", "饮品", "文具", "家居")
UNITS = ("袋", "瓶", "包", "盒", "块", "桶", "支")


def synthetic_catalogue(n: int, seed: int = 5) -> tuple[str, list[str]]:
    """`n` products with unique valid EAN-13 codes (prefix 69, as Chinese goods have), as CSV text."""
    chance = random.Random(seed)
    bodies: set[str] = set()
    while len(bodies) < n:
        bodies.add("69" + f"{chance.randrange(10**10):010d}")
    codes = [body + str(gs1_check_digit(body)) for body in sorted(bodies)]
    chance.shuffle(codes)
    lines = [",".join(catalog.COLUMNS)]
    for i, code in enumerate(codes):
        lines.append(f"{code},商品{i} {chance.randint(1, 999)}g,{chance.choice(CATEGORIES)},"
                     f"{chance.randint(1, 200)},{chance.choice(UNITS)},{chance.randint(0, 30)}")
    return "\n".join(lines) + "\n", codes


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as folder:
        yield f"sqlite:///{folder}/bench.db"


@contextmanager
def postgres_url(admin_url: str) -> Iterator[str]:
    name = f"cm_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(engine_name: str, url: str, csv_text: str, codes: list[str], lookups: int) -> dict[str, float]:
    migrate.upgrade(url)
    engine = make_engine(url)
    uow = UnitOfWork(make_session_factory(engine))
    try:
        store_id = uow.run(lambda s: create_store(s, "BENCH", "基准测试店").id)
        seconds, report = timed(lambda: uow.run(
            lambda s: catalog.import_catalog(s, csv_text, store_id=store_id, actor="bench")))
        assert report.imported and report.created == len(codes), report  # type: ignore[union-attr]
        # Some stock on hand, so the lookup's join finds a level row with a quantity.
        chance = random.Random(7)
        stocked = chance.sample(codes, 500)
        uow.run(lambda s: stock.receive(s, store_id, [(code, 10) for code in stocked], ref="receipt:bench",
                                        actor="bench"))
        probes = [chance.choice(codes) for _ in range(lookups)]

        def look(code: str) -> None:
            found = uow.read(lambda s: stock.lookup(s, code, store_id))
            assert found is not None

        for code in probes[:200]:  # warm the pool, the statement cache and the page cache
            look(code)
        samples = []
        for code in probes:
            start = time.perf_counter()
            look(code)
            samples.append((time.perf_counter() - start) * 1000)
        # Selling one unit, a whole committed transaction (synchronous=FULL on SQLite), as the counter would.
        sells = []
        for i, code in enumerate(stocked[:300]):
            start = time.perf_counter()
            uow.run(lambda s, c=code, n=i: stock.sell(s, store_id, [(c, 1)], f"sale:bench-{n}", "bench"))
            sells.append((time.perf_counter() - start) * 1000)
        return {
            "import_s": seconds,
            "lookup_p50_ms": statistics.median(samples),
            "lookup_p99_ms": percentile(samples, 99),
            "lookup_max_ms": max(samples),
            "sell_p50_ms": statistics.median(sells),
            "sell_p99_ms": percentile(sells, 99),
        }
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=5_000)
    args = parser.parse_args()

    csv_text, codes = synthetic_catalogue(args.products)
    parse_s, (rows, problems) = timed(lambda: catalog.parse_catalog(csv_text))
    assert not problems and len(rows) == args.products

    results = {}
    with sqlite_url() as url:
        results["sqlite"] = run("sqlite", url, csv_text, codes, args.lookups)
    pg = os.environ.get("CREDITMART_BENCH_POSTGRES_URL") or os.environ.get("CREDITMART_TEST_POSTGRES_URL")
    if pg:
        with postgres_url(pg) as url:
            results["postgres"] = run("postgres", url, csv_text, codes, args.lookups)

    n = f"{args.products // 1000}k"
    print(f"inventory: {args.products} products, {args.lookups} lookups (parse alone: {parse_s:.2f} s)")
    print(f"{'engine':<10}{'import s':>10}{'lookup p50':>12}{'p99':>8}{'max':>8}{'sell p50':>10}{'p99':>8}  (ms)")
    for engine_name, r in results.items():
        print(f"{engine_name:<10}{r['import_s']:>10.2f}{r['lookup_p50_ms']:>12.3f}{r['lookup_p99_ms']:>8.3f}"
              f"{r['lookup_max_ms']:>8.2f}{r['sell_p50_ms']:>10.2f}{r['sell_p99_ms']:>8.2f}")
    print("targets: import < 15 s on each engine; lookup p99 < 2 ms in-process on the SQLite file (PostgreSQL's"
          " figure, over a socket with its pool's pre-ping, is for information)")
    print(f"BENCH inventory_catalog_parse_{n} {parse_s:.3f} s")
    for engine_name, r in results.items():
        print(f"BENCH inventory_import_{n}_{engine_name} {r['import_s']:.3f} s")
        print(f"BENCH inventory_lookup_p50_{engine_name} {r['lookup_p50_ms']:.3f} ms")
        print(f"BENCH inventory_lookup_p99_{engine_name} {r['lookup_p99_ms']:.3f} ms")
        print(f"BENCH inventory_sell_p99_{engine_name} {r['sell_p99_ms']:.3f} ms")
    ok = all(r["import_s"] < 15 for r in results.values()) and results["sqlite"]["lookup_p99_ms"] < 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
