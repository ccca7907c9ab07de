"""Ledger benchmarks on a SQLite file (WAL, synchronous=FULL, BEGIN IMMEDIATE: `core.db.make_engine`).

1. single transfers through the Python API (`UnitOfWork.run(post)`: one transaction each) against a raw
   SQLAlchemy Core insert of one row per transaction on the same engine and PRAGMAs, interleaved in rounds so
   both see the same disk and the same neighbours; target: the API at >= 40% of the raw rate;
2. linked batches of 1,000 transfers in one transaction each; target >= 20,000 transfers/s;
3. `creditmart ledger verify` over 1,000,000 transfers in a subprocess; target < 10 s and peak RSS < 200 MB
   (read with getrusage(RUSAGE_CHILDREN) after the child exits).

The million-transfer journal is built through `post_batch` (so it is a real, valid chain), 10,000 per batch.
Prints a table, then `BENCH <name> <value> <unit>` lines. `--verify-transfers N` changes the journal size.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.db import UnitOfWork, make_engine, make_session_factory  # noqa: E402
from core.stores import create_store  # noqa: E402
from ledger import (  # noqa: E402
    MEMBER,
    REDEMPTION,
    VOLUNTEER_HOURS,
    NewTransfer,
    open_account,
    post,
    post_batch,
    programme_account,
    redemption_sink,
)
from pos import migrate  # noqa: E402

raw_metadata = MetaData()
raw_rows = Table(
    "bench_raw_rows", raw_metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", String(36), unique=True),
    Column("amount", Integer),
    Column("ref", String(128)),
)


class Ledger:
    def __init__(self, url: str, members: int = 100) -> None:
        migrate.upgrade(url)
        self.engine = make_engine(url)
        self.uow = UnitOfWork(make_session_factory(self.engine))

        def setup(session):  # type: ignore[no-untyped-def]
            store = create_store(session, "BEN", "bench")
            ids = [open_account(session, MEMBER, f"bench-{i}", store.id).id for i in range(members)]
            return store.id, ids, programme_account(session).id, redemption_sink(session, store.id).id

        self.store, self.members, self.programme, self.sink = self.uow.run(setup)

    def earn(self, member: int, amount: int = 10) -> NewTransfer:
        return NewTransfer(id=uuid.uuid4(), debit=self.programme, credit=member, amount=amount,
                           code=VOLUNTEER_HOURS, ref=f"contribution:{uuid.uuid4()}", actor="manager-ben",
                           store_id=self.store)

    def spend(self, member: int, amount: int = 7) -> NewTransfer:
        return NewTransfer(id=uuid.uuid4(), debit=member, credit=self.sink, amount=amount, code=REDEMPTION,
                           ref=f"sale:{uuid.uuid4()}", actor="clerk-ben", store_id=self.store)

    def mixed(self, n: int) -> list[NewTransfer]:
        """Earn then spend, member after member: every batch is valid from any starting balance."""
        out = []
        for i in range(n):
            member = self.members[(i // 2) % len(self.members)]
            out.append(self.earn(member) if i % 2 == 0 else self.spend(member))
        return out


def bench_single(ledger: Ledger, rounds: int, per_round: int) -> tuple[float, float]:
    raw_metadata.create_all(ledger.engine)
    api_time = raw_time = 0.0
    for _ in range(rounds):
        specs = ledger.mixed(per_round)
        start = time.perf_counter()
        for spec in specs:
            ledger.uow.run(lambda session, spec=spec: post(session, spec))
        api_time += time.perf_counter() - start

        values = [{"client_id": str(uuid.uuid4()), "amount": 10, "ref": f"sale:{uuid.uuid4()}"}
                  for _ in range(per_round)]
        start = time.perf_counter()
        for row in values:
            with ledger.engine.begin() as conn:
                conn.execute(insert(raw_rows), row)
        raw_time += time.perf_counter() - start
    n = rounds * per_round
    return n / api_time, n / raw_time


def bench_batches(ledger: Ledger, batches: int, size: int) -> list[float]:
    rates = []
    for _ in range(batches):
        specs = ledger.mixed(size)
        start = time.perf_counter()
        ledger.uow.run(lambda session, specs=specs: post_batch(session, specs))
        rates.append(size / (time.perf_counter() - start))
    return rates


def build_journal(ledger: Ledger, total: int, size: int = 10_000) -> float:
    start = time.perf_counter()
    done = 0
    while done < total:
        n = min(size, total - done)
        specs = ledger.mixed(n)
        ledger.uow.run(lambda session, specs=specs: post_batch(session, specs))
        done += n
    return time.perf_counter() - start


def bench_verify_cli(url: str) -> tuple[float, float, int, str]:
    env = dict(os.environ, CREDITMART_DATABASE_URL=url, CREDITMART_SECRET_KEY="bench-" + "x" * 40)
    creditmart = Path(sys.executable).with_name("creditmart")
    command = [str(creditmart)] if creditmart.exists() else [sys.executable, "-m", "pos.cli"]
    start = time.perf_counter()
    done = subprocess.run([*command, "ledger", "verify"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return elapsed, peak_kb / 1024, done.returncode, (done.stdout + done.stderr).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single-rounds", type=int, default=5)
    parser.add_argument("--single-per-round", type=int, default=400)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--verify-transfers", type=int, default=1_000_000)
    parser.add_argument("--dir", default=None, help="where the SQLite files go (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        small = Ledger(f"sqlite:///{Path(tmp) / 'single.db'}")
        api_rate, raw_rate = bench_single(small, args.single_rounds, args.single_per_round)
        batch_rates = bench_batches(small, args.batches, 1000)
        small.engine.dispose()

        big_url = f"sqlite:///{Path(tmp) / 'million.db'}"
        big = Ledger(big_url)
        build_seconds = build_journal(big, args.verify_transfers)
        big.engine.dispose()
        verify_seconds, verify_mb, code, output = bench_verify_cli(big_url)
        size_mb = sum(f.stat().st_size for f in Path(tmp).glob("million.db*")) / 1e6

    batch_rate = statistics.median(batch_rates)
    ratio = api_rate / raw_rate
    rows = [
        ("single transfer, Python API (post)", f"{api_rate:,.0f} transfers/s"),
        ("single row, raw Core insert", f"{raw_rate:,.0f} rows/s"),
        ("API / raw", f"{ratio:.0%} (target >= 40%)"),
        (f"linked batch of 1,000 (median of {len(batch_rates)})", f"{batch_rate:,.0f} transfers/s (>= 20,000)"),
        (f"building {args.verify_transfers:,} transfers via post_batch", f"{build_seconds:.1f} s, {size_mb:.0f} MB"),
        ("creditmart ledger verify", f"{verify_seconds:.2f} s (< 10 s), exit {code}"),
        ("verify peak RSS", f"{verify_mb:.0f} MB (< 200 MB)"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    print(f"verify said: {output.splitlines()[-1] if output else ''}")
    print(f"BENCH ledger_single_api_rate {api_rate:.0f} transfers/s")
    print(f"BENCH ledger_single_raw_core_rate {raw_rate:.0f} rows/s")
    print(f"BENCH ledger_single_api_vs_raw {ratio * 100:.0f} %")
    print(f"BENCH ledger_batch_1000_rate {batch_rate:.0f} transfers/s")
    print(f"BENCH ledger_verify_transfers {args.verify_transfers} transfers")
    print(f"BENCH ledger_verify_seconds {verify_seconds:.2f} s")
    print(f"BENCH ledger_verify_peak_rss {verify_mb:.0f} MB")
    ok = ratio >= 0.4 and batch_rate >= 20_000 and verify_seconds < 10 and verify_mb < 200 and code == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
