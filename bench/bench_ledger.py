"""Ledger benchmarks on a SQLite file (WAL, synchronous=FULL, BEGIN IMMEDIATE: `core.db.make_engine`).

1. single transfers through the Python API (`UnitOfWork.run(post)`: one transaction each) against a raw
   SQLAlchemy Core insert of one row per transaction on the same engine and PRAGMAs, in alternating rounds
   of 100 so both meet the same disk and the same neighbours; target: the API at >= 40% of the raw rate
   (the median of the rounds' ratios);
2. linked batches of 1,000 transfers in one transaction each; target >= 20,000 transfers/s;
3. `creditmart ledger verify` over 1,000,000 transfers in a subprocess; target < 10 s and peak RSS < 200 MB
   (read with getrusage(RUSAGE_CHILDREN) after the child exits).

The million-transfer journal is built through `post_batch` (so it is a real, valid chain), 10,000 per batch,
with time-ordered (version 7) ids so the build takes under a minute; the timed posting uses random ids.
Prints a table, then `BENCH <name> <value> <unit>` lines. `--verify-transfers N` changes the journal size.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
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

    def earn(self, member: int, amount: int = 10, new_id: Callable[[], uuid.UUID] = uuid.uuid4) -> NewTransfer:
        return NewTransfer(id=new_id(), debit=self.programme, credit=member, amount=amount,
                           code=VOLUNTEER_HOURS, ref=f"contribution:{new_id()}", actor="manager-ben",
                           store_id=self.store)

    def spend(self, member: int, amount: int = 7, new_id: Callable[[], uuid.UUID] = uuid.uuid4) -> NewTransfer:
        return NewTransfer(id=new_id(), debit=member, credit=self.sink, amount=amount, code=REDEMPTION,
                           ref=f"sale:{new_id()}", actor="clerk-ben", store_id=self.store)

    def mixed(self, n: int, new_id: Callable[[], uuid.UUID] = uuid.uuid4) -> list[NewTransfer]:
        """Earn then spend, member after member: every batch is valid from any starting balance."""
        out = []
        for i in range(n):
            member = self.members[(i // 2) % len(self.members)]
            out.append(self.earn(member, new_id=new_id) if i % 2 == 0 else self.spend(member, new_id=new_id))
        return out


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix milliseconds, then random bits."""
    value = (time.time_ns() // 1_000_000) << 80 | random.getrandbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC variant
    return uuid.UUID(int=value)


def bench_single(ledger: Ledger, rounds: int, per_round: int) -> tuple[float, float, float]:
    """Rounds of `per_round` API posts then `per_round` raw inserts, back to back, so both meet the same load
    on a shared machine. Returns the median API rate, the median raw rate and the median of the per-round
    ratios (the first round warms caches and is not counted)."""
    raw_metadata.create_all(ledger.engine)
    api_rates, raw_rates, ratios = [], [], []
    for round_number in range(rounds + 1):
        specs = ledger.mixed(per_round)
        start = time.perf_counter()
        for spec in specs:
            ledger.uow.run(lambda session, spec=spec: post(session, spec))
        api_rate = per_round / (time.perf_counter() - start)

        values = [{"client_id": str(uuid.uuid4()), "amount": 10, "ref": f"sale:{uuid.uuid4()}"}
                  for _ in range(per_round)]
        start = time.perf_counter()
        for row in values:
            with ledger.engine.begin() as conn:
                conn.execute(insert(raw_rows), row)
        raw_rate = per_round / (time.perf_counter() - start)
        if round_number:
            api_rates.append(api_rate)
            raw_rates.append(raw_rate)
            ratios.append(api_rate / raw_rate)
    return statistics.median(api_rates), statistics.median(raw_rates), statistics.median(ratios)


def bench_batches(ledger: Ledger, batches: int, size: int) -> list[float]:
    rates = []
    for _ in range(batches):
        specs = ledger.mixed(size)
        start = time.perf_counter()
        ledger.uow.run(lambda session, specs=specs: post_batch(session, specs))
        rates.append(size / (time.perf_counter() - start))
    return rates


def build_journal(ledger: Ledger, total: int, size: int = 10_000) -> float:
    """Time-ordered ids (as a client generating UUIDv7 would send) keep the unique indexes appending, so a
    million transfers are posted in about a minute; the timed runs above use random version-4 ids."""
    start = time.perf_counter()
    done = 0
    while done < total:
        n = min(size, total - done)
        specs = ledger.mixed(n, new_id=uuid7)
        ledger.uow.run(lambda session, specs=specs: post_batch(session, specs))
        done += n
    return time.perf_counter() - start


def bench_verify_cli(url: str) -> tuple[float, float, int, str]:
    env = dict(os.environ, CREDITMART_DATABASE_URL=url, CREDITMART_SECRET_KEY="bench-" + "x" * 40)
    creditmart = Path(sys.executable).with_name("creditmart")
    command = [str(creditmart)] if creditmart.exists() else [sys.executable, "-c", "from pos.cli import main; main()"]
    start = time.perf_counter()
    done = subprocess.run([*command, "ledger", "verify"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return elapsed, peak_kb / 1024, done.returncode, (done.stdout + done.stderr).strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single-rounds", type=int, default=20)
    parser.add_argument("--single-per-round", type=int, default=100)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--verify-transfers", type=int, default=1_000_000)
    parser.add_argument("--dir", default=None, help="where the SQLite files go (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        small = Ledger(f"sqlite:///{Path(tmp) / 'single.db'}")
        api_rate, raw_rate, ratio = bench_single(small, args.single_rounds, args.single_per_round)
        batch_rates = bench_batches(small, args.batches, 1000)
        small.engine.dispose()

        big_url = f"sqlite:///{Path(tmp) / 'million.db'}"
        big = Ledger(big_url)
        build_seconds = build_journal(big, args.verify_transfers)
        big.engine.dispose()
        verify_seconds, verify_mb, code, output = bench_verify_cli(big_url)
        size_mb = sum(f.stat().st_size for f in Path(tmp).glob("million.db*")) / 1e6

    batch_rate = statistics.median(batch_rates)
    rows = [
        ("single transfer, Python API (post), median", f"{api_rate:,.0f} transfers/s"),
        ("single row, raw Core insert, median", f"{raw_rate:,.0f} rows/s"),
        (f"API / raw, median of {args.single_rounds} rounds", f"{ratio:.0%} (target >= 40%)"),
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
