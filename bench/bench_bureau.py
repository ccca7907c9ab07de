"""Bureau benchmarks: the reconciliation report over a million transfers across 50 shops, on SQLite and on
PostgreSQL, and the same balances computed by `hledger balance` and `ledger balance` from the same transfers
exported as a plain-text journal (`pos.bureau.plaintext`), side by side in one run.

The data is a year of a city's credit supermarkets, built fast with bulk inserts of valid rows (no use case is
called, but every row is what the use cases would have written): 50 shops with a clerk, a manager and a
coordinator each, 400 members per shop with their cards and points accounts, 40 goods with their prices and
stock, and 1,000,000 transfers in a valid hash chain — approved volunteer hours (with their contributions and
activity categories), cash donations, sales (with their lines and stock movements, in monthly shifts), voids
of some of those sales a while later (reversal transfer, goods back in stock), and a few adjustments. The
accounts' cached balances, the stock levels and the chain head are what the journal and the movements say.
Then `creditmart ledger verify`'s checks would pass, and the report's identities all hold (the bench says so).

Targets: the reconciliation of the whole year for all 50 shops in under 3 s on each database (each report is
timed three times in one snapshot-per-run, warm, and the median reported; a month and a five-shop selection too).
A full run takes about six minutes on two cores: building the rows and loading them twice is most of it, and
`hledger` alone needs about a minute for a million transactions. `--transfers 100000` gives a quick look.

Needs: PostgreSQL through CREDITMART_TEST_POSTGRES_URL (an admin URL; the bench creates and drops its own
database), and the Debian packages `hledger` and `ledger` (`apt-get install -y hledger ledger`); a missing
one is reported and skipped. Benchmarks do not run in CI.

    .venv/bin/python bench/bench_bureau.py [--transfers N] [--shops N] [--skip-postgres] [--keep DIR]

Prints a table, then one `BENCH <name> <value> <unit>` line per figure.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Table, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.db import UTCDateTime, make_engine, make_session_factory  # noqa: E402
from ledger import snapshot_session  # noqa: E402
from ledger.cards import new_card_number  # noqa: E402
from ledger.chain import GENESIS_HASH, encode_typed  # noqa: E402
from pos import migrate  # noqa: E402
from pos.bureau.periods import SHOP_TZ, Period  # noqa: E402
from pos.bureau.plaintext import write_plain_journal  # noqa: E402
from pos.bureau.reconciliation import reconcile  # noqa: E402
from pos.models import import_all_models  # noqa: E402

import_all_models()
from core.db import Base  # noqa: E402

TABLES: dict[str, Table] = Base.metadata.tables  # type: ignore[assignment]
CATALOG = Path(__file__).resolve().parent.parent / "pos" / "demo_data" / "catalog.csv"
YEAR_START = datetime(2025, 1, 1, tzinfo=SHOP_TZ).astimezone(UTC)
TARGET_SECONDS = 3.0


# ------------------------------------------------------------------------------------------------ the data


def hyphenated(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_US = 86_400_000_000
SHOP_OFFSET_US = 8 * 3_600_000_000  # Asia/Shanghai has kept UTC+8 since 1991


class Clock:
    """Instants as integer microseconds since the epoch, written as the ledger hashes them
    ("YYYY-MM-DD HH:MM:SS.ffffff", UTC) without a datetime per row: a million strftime calls would cost more
    than the rest of the build."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._months: dict[int, int] = {}

    def text(self, us: int) -> str:
        day, rest = divmod(us, DAY_US)
        date_text = self._days.get(day)
        if date_text is None:
            date_text = self._days[day] = (EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
        seconds, micro = divmod(rest, 1_000_000)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        return f"{date_text} {hours:02d}:{minutes:02d}:{seconds:02d}.{micro:06d}"

    def month(self, us: int) -> int:
        """The shop-time month number (1..12) of the instant."""
        day = (us + SHOP_OFFSET_US) // DAY_US
        month = self._months.get(day)
        if month is None:
            month = self._months[day] = (EPOCH + timedelta(days=day)).month
        return month


class City:
    """Every row of every table, generated in memory as dicts in the tables' own terms. Ids are 32 hex digits
    and times the ledger's canonical UTC text: what SQLite stores; PostgreSQL reads both (times with "+00")."""

    def __init__(self, transfers: int, shops: int, members_per_shop: int = 400, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.clock = Clock()
        self.n = transfers
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.shops = shops
        self.members_per_shop = members_per_shop
        self._build()

    def new_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    # -- fixed parts

    def _build(self) -> None:
        start_us = (YEAR_START - EPOCH) // timedelta(microseconds=1)
        self.start_us = start_us
        t0 = self.clock.text(start_us - 2 * DAY_US)
        add = self.rows
        self.categories = [(i + 1, rate) for i, rate in enumerate((10, 12, 8, 15, 10, 10, 20, 10))]
        for s in range(1, self.shops + 1):
            add["stores"].append({"id": s, "code": f"S{s:02d}", "name": f"第{s}村信用超市", "created_at": t0})
        user_id = 0
        self.clerk: dict[int, tuple[int, str]] = {}
        for s in range(1, self.shops + 1):
            for role in ("clerk", "manager", "coordinator"):
                user_id += 1
                name = f"{role}-s{s:02d}"
                add["users"].append({"id": user_id, "username": name, "password_hash": "!bench", "role": role,
                                     "store_id": s, "active": True, "language": None, "created_at": t0})
                if role == "clerk":
                    self.clerk[s] = (user_id, name)
        # Accounts: the system accounts first, then one per member.
        self.accounts: dict[int, dict[str, Any]] = {}
        self.programme, self.fund, self.adjustments = 1, 2, 3
        for account_id, kind in ((1, "programme"), (2, "donation_fund"), (3, "adjustments")):
            self._account(account_id, kind, kind, None, True, t0)
        self.sink = {}
        for s in range(1, self.shops + 1):
            self.sink[s] = 3 + s
            self._account(3 + s, "redemption_sink", f"store:{s}", s, True, t0)
        self.members: list[tuple[str, int, int, str]] = []  # member id, shop, account, card
        account_id = 100
        for s in range(1, self.shops + 1):
            for _ in range(self.members_per_shop):
                account_id += 1
                member_id = self.new_id()
                card = new_card_number()
                self._account(account_id, "member", hyphenated(member_id), s, False, t0)
                add["members"].append({"id": member_id, "name": "会员", "phone": None, "household": None,
                                       "store_id": s, "account_id": account_id, "consent_at": t0,
                                       "consent_recorded_by": f"manager-s{s:02d}", "created_at": t0,
                                       "status": "active"})
                add["member_cards"].append({"card_number": card, "member_id": member_id, "status": "active",
                                            "issued_at": t0, "issued_by": f"manager-s{s:02d}", "blocked_at": None,
                                            "replaced_by": None})
                self.members.append((member_id, s, account_id, card))
        with CATALOG.open(encoding="utf-8") as fh:
            goods = list(csv.DictReader(fh))
        self.products = []
        for i, g in enumerate(goods, start=1):
            price = int(g["points_price"])
            add["products"].append({"id": i, "barcode": g["barcode"], "name": g["name"], "category": g["category"],
                                    "unit": g["unit"], "points_price": price, "active": True, "internal_code": False,
                                    "created_at": t0, "updated_at": t0})
            add["product_prices"].append({"id": i, "product_id": i, "points_price": price, "valid_from": t0,
                                          "actor": "bench"})
            self.products.append((i, g["barcode"], g["name"], g["unit"], price))
        self.cheapest = min(p[4] for p in self.products)
        self.levels: dict[tuple[int, int], list[int]] = {}  # (shop, product) -> [qty, version]
        self.movement_id = 0
        for s in range(1, self.shops + 1):
            for product in self.products:
                self._move(s, product[0], 1_000_000, "receipt", f"receipt:bench-{s}", "bench", t0)
        self._journal()

    def _account(self, account_id: int, kind: str, owner: str, store: int | None, negative: bool,
                 at: str) -> None:
        self.accounts[account_id] = {"id": account_id, "kind": kind, "owner_ref": owner, "store_id": store,
                                     "may_go_negative": negative, "balance": 0, "version": 0, "created_at": at}

    def _move(self, shop: int, product: int, delta: int, kind: str, ref: str, actor: str, at: str) -> None:
        level = self.levels.setdefault((shop, product), [0, 0])
        level[0] += delta
        level[1] += 1
        self.movement_id += 1
        self.rows["stock_movements"].append({"id": self.movement_id, "store_id": shop, "product_id": product,
                                             "qty_delta": delta, "kind": kind, "reason": None, "ref": ref,
                                             "actor": actor, "at": at, "level_after": level[0], "note": None})

    # -- the journal

    def _journal(self) -> None:
        rng, add = self.rng, self.rows
        step_us = 365 * DAY_US // self.n
        self.prev = GENESIS_HASH
        self.seq = 0
        self.shifts: dict[tuple[int, int], dict[str, Any]] = {}
        self.open_shift: dict[int, dict[str, Any]] = {}
        voids_due: dict[int, list[dict[str, Any]]] = defaultdict(list)
        members = self.members
        opening = 8 * 3_600_000_000  # 08:00 shop time is 00:00 UTC
        step = -1
        while self.seq < self.n:
            step += 1
            # Opening hours, more or less: each day's transfers spread over 08:00-20:00 shop time.
            day, within = divmod(self.seq * step_us, DAY_US)
            us = self.start_us + day * DAY_US + opening + within // 2
            due = voids_due.pop(step, None)
            if due:
                self._void(due[0], us)
                for extra in due[1:]:
                    voids_due[step + 1].append(extra)
                continue
            member_id, shop, account, card = members[rng.randrange(len(members))]
            bal = self.accounts[account]["balance"]
            r = rng.random()
            if r < 0.003 and bal > 5:
                amount = rng.randint(1, 5)
                sign = rng.choice((1, -1))
                debit, credit = (self.adjustments, account) if sign > 0 else (account, self.adjustments)
                self._transfer(us, "adjustment", debit, credit, amount, "adjustment:bench", "admin", None, None)
            elif bal < 2 * self.cheapest or r < 0.50:
                self._hours(us, member_id, shop, account)
            elif r < 0.55:
                self._donation(us, member_id, shop, account)
            else:
                sale = self._sale(us, member_id, shop, account, card)
                if sale is not None and rng.random() < 0.02:
                    voids_due[step + rng.randint(1, 5000)].append(sale)
        add["ledger_chain_head"].append({"id": 1, "seq": self.seq, "hash": self.prev})
        add["ledger_accounts"].extend(self.accounts.values())
        t0 = self.clock.text(self.start_us)
        for (shop, product), (qty, version) in self.levels.items():
            add["stock_levels"].append({"store_id": shop, "product_id": product, "qty": qty, "version": version,
                                        "reorder_level": 0, "updated_at": t0})
        for shift in self.shifts.values():
            add["shifts"].append(shift)

    def _transfer(self, us: int, code: str, debit: int, credit: int, amount: int, ref: str, actor: str,
                  store: int | None, reverses: int | None) -> int:
        d, c = self.accounts[debit], self.accounts[credit]
        d["balance"] -= amount
        d["version"] += 1
        c["balance"] += amount
        c["version"] += 1
        self.seq += 1
        tid = self.new_id()
        at = self.clock.text(us)
        digest = sha256(self.prev + encode_typed((
            self.seq, tid, None, at, code, debit, d["version"], d["balance"], credit, c["version"], c["balance"],
            amount, ref, actor, store, reverses))).digest()
        self.rows["ledger_transfers"].append({
            "seq": self.seq, "id": tid, "batch_id": None, "at": at, "code": code, "debit_account_id": debit,
            "debit_version": d["version"], "debit_balance_after": d["balance"], "credit_account_id": credit,
            "credit_version": c["version"], "credit_balance_after": c["balance"], "amount": amount, "ref": ref,
            "actor": actor, "store_id": store, "reverses_seq": reverses, "prev_hash": self.prev, "hash": digest})
        self.prev = digest
        return self.seq

    def _contribution(self, us: int, member_id: str, shop: int, kind: str, points: int, seq: int,
                      contribution_id: str, **facts: Any) -> None:
        recorded = self.clock.text(us - 30 * 60_000_000)
        self.rows["contributions"].append({
            "id": contribution_id, "store_id": shop, "member_id": member_id, "organisation_id": None, "kind": kind,
            "minutes": facts.get("minutes"), "started_at": None, "ended_at": None, "occurred_at": recorded,
            "amount_fen": facts.get("amount_fen"), "rate_points": facts["rate"][0], "rate_per": facts["rate"][1],
            "points": points, "status": "posted", "activity_id": None, "category_id": facts.get("category"),
            "note": None, "recorded_by": f"coordinator-s{shop:02d}", "recorded_at": recorded,
            "decided_by": f"manager-s{shop:02d}", "decided_at": self.clock.text(us), "reason": None,
            "transfer_seq": seq})

    def _hours(self, us: int, member_id: str, shop: int, account: int) -> None:
        category, rate = self.categories[self.rng.randrange(len(self.categories))]
        minutes = self.rng.choice((60, 90, 120, 180, 240))
        points = minutes * rate // 60
        contribution_id = self.new_id()
        seq = self._transfer(us, "volunteer_hours", self.programme, account, points,
                             f"contribution:{hyphenated(contribution_id)}", f"manager-s{shop:02d}", shop, None)
        self._contribution(us, member_id, shop, "volunteer_hours", points, seq, contribution_id, minutes=minutes,
                           category=category, rate=(rate, 60))

    def _donation(self, us: int, member_id: str, shop: int, account: int) -> None:
        fen = self.rng.randint(10, 200) * 100
        contribution_id = self.new_id()
        seq = self._transfer(us, "donation", self.fund, account, fen // 100,
                             f"contribution:{hyphenated(contribution_id)}", f"manager-s{shop:02d}", shop, None)
        self._contribution(us, member_id, shop, "donation_cash", fen // 100, seq, contribution_id, amount_fen=fen,
                           rate=(1, 100))

    def _shift(self, shop: int, us: int) -> dict[str, Any]:
        key = (shop, self.clock.month(us))
        shift = self.shifts.get(key)
        if shift is None:
            at = self.clock.text(us)
            previous = self.open_shift.get(shop)
            if previous is not None:  # the month's shift closes the one before
                previous.update(closed_at=at, closed_by=self.clerk[shop][1], close_request_id=self.new_id(),
                                close_seq=self.seq, z_report={"bench": True})
            clerk_id, clerk = self.clerk[shop]
            shift = self.shifts[key] = {
                "id": self.new_id(), "store_id": shop, "clerk_id": clerk_id, "clerk": clerk, "opened_at": at,
                "open_seq": self.seq, "closed_at": None, "closed_by": None, "close_request_id": None,
                "close_seq": None, "z_report": None}
            self.open_shift[shop] = shift
        return shift

    def _sale(self, us: int, member_id: str, shop: int, account: int, card: str) -> dict[str, Any] | None:
        rng = self.rng
        balance = self.accounts[account]["balance"]
        lines: dict[int, list[Any]] = {}
        total = 0
        for _ in range(rng.choice((1, 1, 2, 3))):
            product = self.products[rng.randrange(len(self.products))]
            qty = rng.choice((1, 1, 1, 2))
            if total + qty * product[4] > balance:
                continue
            total += qty * product[4]
            lines.setdefault(product[0], [product, 0])[1] += qty
        if not lines:
            return None
        sale_id = self.new_id()
        clerk_id, clerk = self.clerk[shop]
        ref = f"sale:{hyphenated(sale_id)}"
        at = self.clock.text(us)
        seq = self._transfer(us, "redemption", account, self.sink[shop], total, ref, clerk, shop, None)
        shift = self._shift(shop, us)
        for line_no, (product, qty) in enumerate(lines.values()):
            self._move(shop, product[0], -qty, "sale", ref, clerk, at)
            self.rows["sale_lines"].append({"sale_id": sale_id, "line_no": line_no, "product_id": product[0],
                                            "barcode": product[1], "name": product[2], "unit": product[3],
                                            "qty": qty, "points_price": product[4], "points": qty * product[4]})
        sale = {"id": sale_id, "store_id": shop, "clerk_id": clerk_id, "clerk": clerk, "member_id": member_id,
                "card_number": card, "points_total": total, "balance_before": balance,
                "balance_after": balance - total, "status": "completed", "created_at": at, "shift_id": shift["id"],
                "transfer_seq": seq, "transfer_id": self.rows["ledger_transfers"][-1]["id"],
                "receipt_job_id": self.new_id(), "voided_at": None, "voided_by": None, "void_reason": None,
                "void_shift_id": None, "reversal_seq": None, "reversal_id": None, "balance_after_void": None,
                "_account": account, "_lines": list(lines.values())}
        self.rows["sales"].append(sale)
        return sale

    def _void(self, sale: dict[str, Any], us: int) -> None:
        shop = sale["store_id"]
        manager = f"manager-s{shop:02d}"
        at = self.clock.text(us)
        for product, qty in sale["_lines"]:
            self._move(shop, product[0], qty, "void_return", f"void:{hyphenated(sale['id'])}", manager, at)
        seq = self._transfer(us, "reversal", self.sink[shop], sale["_account"], sale["points_total"],
                             f"sale:{hyphenated(sale['id'])}", manager, shop, sale["transfer_seq"])
        sale.update(status="voided", voided_at=at, voided_by=manager, void_reason="退货",
                    void_shift_id=self._shift(shop, us)["id"], reversal_seq=seq,
                    reversal_id=self.rows["ledger_transfers"][-1]["id"],
                    balance_after_void=self.accounts[sale["_account"]]["balance"])


# ------------------------------------------------------------------------------------------------ loading

ORDER = ("stores", "users", "ledger_accounts", "ledger_chain_head", "members", "member_cards", "products",
         "product_prices", "stock_levels", "stock_movements", "ledger_transfers", "contributions", "shifts", "sales",
         "sale_lines")


def _sqlite_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict) else value


def load_sqlite(path: Path, city: City) -> float:
    import sqlite3

    started = time.perf_counter()
    conn = sqlite3.connect(path)
    # A bulk load into a fresh file: no journal, no fsync until the end (the file is thrown away on a crash).
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1048576")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("DELETE FROM ledger_chain_head")
    for name in ORDER:
        table = TABLES[name]
        columns = [c.name for c in table.columns]
        sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        conn.executemany(sql, ([_sqlite_value(row[c]) for c in columns] for row in city.rows[name]))
    conn.commit()
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return time.perf_counter() - started


def load_postgres(url: str, city: City) -> float:
    import psycopg
    from psycopg.types.json import Json

    started = time.perf_counter()
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        conn.execute("DELETE FROM ledger_chain_head")
        for name in ORDER:
            table = TABLES[name]
            columns = [c.name for c in table.columns]
            times = {c.name for c in table.columns if isinstance(c.type, UTCDateTime)}
            with conn.cursor().copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in city.rows[name]:
                    copy.write_row([Json(v) if isinstance(v, dict) else (v + "+00" if c in times and v else v)
                                    for c, v in ((c, row[c]) for c in columns)])
        for name in ("stores", "users", "ledger_accounts", "products", "product_prices", "stock_movements"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
        conn.commit()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------------ measuring


def time_report(url: str, period: Period, store_ids: list[int] | None = None, runs: int = 3
                ) -> tuple[float, dict[str, Any]]:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    times, answer = [], {}
    try:
        for _ in range(runs):
            started = time.perf_counter()
            with snapshot_session(factory) as session:
                answer = reconcile(session, period, store_ids).to_dict()
            times.append(time.perf_counter() - started)
    finally:
        engine.dispose()
    return statistics.median(times), answer


def export_journal(url: str, target: Path) -> float:
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with snapshot_session(make_session_factory(engine)) as session, target.open("w", encoding="utf-8") as out:
            write_plain_journal(session, out)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def run_tool(command: list[str]) -> tuple[float, str] | None:
    if shutil.which(command[0]) is None:
        return None
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def shop_totals(output: str) -> dict[str, int]:
    """`members:S01  1234`-style lines of a balance report at depth 2 → {shop code: points}."""
    totals: dict[str, int] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].startswith("members:"):
            totals[parts[1].split(":")[1]] = int(parts[0])
        elif len(parts) == 2 and parts[0].startswith("members:"):
            totals[parts[0].split(":")[1]] = int(parts[1])
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--shops", type=int, default=50)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the SQLite file and journal here, and the PostgreSQL database (its URL is printed)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_bureau_")) if args.keep is None else args.keep
    workdir.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, float, str]] = []
    rows: list[tuple[str, str]] = []

    started = time.perf_counter()
    city = City(args.transfers, args.shops)
    figures.append(("bureau_build_rows_s", time.perf_counter() - started, "s"))
    rows.append(("data", f"{city.seq:,} transfers, {len(city.rows['sales']):,} sales, "
                         f"{len(city.rows['contributions']):,} contributions, "
                         f"{len(city.rows['stock_movements']):,} stock movements, {args.shops} shops, "
                         f"{len(city.members):,} members"))

    databases: list[tuple[str, str]] = []
    sqlite_path = workdir / "bureau.db"
    sqlite_path.unlink(missing_ok=True)
    sqlite_url = f"sqlite:///{sqlite_path}"
    migrate.upgrade(sqlite_url)
    figures.append(("bureau_load_sqlite_s", load_sqlite(sqlite_path, city), "s"))
    databases.append(("sqlite", sqlite_url))

    pg_admin = os.environ.get("CREDITMART_TEST_POSTGRES_URL")
    pg_name = None
    if pg_admin and not args.skip_postgres:
        pg_name = f"bench_bureau_{uuid.uuid4().hex[:8]}"
        admin = create_engine(make_url(pg_admin).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        pg_url = make_url(pg_admin).set(drivername="postgresql+psycopg", database=pg_name).render_as_string(
            hide_password=False)
        migrate.upgrade(pg_url)
        figures.append(("bureau_load_postgres_s", load_postgres(pg_url, city), "s"))
        databases.append(("postgres", pg_url))
    else:
        rows.append(("postgres", "skipped: set CREDITMART_TEST_POSTGRES_URL"))
    expected_outstanding = sum(a["balance"] for a in city.accounts.values() if a["kind"] == "member")
    del city

    try:
        year = Period.of_days(datetime(2025, 1, 1).date(), datetime(2025, 12, 31).date())
        month = Period.of_days(datetime(2025, 6, 1).date(), datetime(2025, 6, 30).date())
        reports: dict[str, dict[str, Any]] = {}
        for name, url in databases:
            seconds, answer = time_report(url, year)
            reports[name] = answer
            failing = [i["name"] for i in answer["identities"] if not i["ok"]]
            rows.append((f"{name}: year, all shops", f"{seconds:.3f} s; outstanding {answer['outstanding']:,}; "
                                                     f"identities {'all hold' if not failing else failing}"))
            figures.append((f"bureau_reconcile_year_all_{name}_s", seconds, "s"))
            assert answer["outstanding"] == expected_outstanding, (answer["outstanding"], expected_outstanding)
            assert answer["period"]["to_seq"] == args.transfers or answer["period"]["to_seq"] > 0
            seconds, _ = time_report(url, month)
            figures.append((f"bureau_reconcile_month_all_{name}_s", seconds, "s"))
            seconds, _ = time_report(url, year, [1, 2, 3, 4, 5])
            figures.append((f"bureau_reconcile_year_5shops_{name}_s", seconds, "s"))

        journal = workdir / "bureau.journal"
        figures.append(("bureau_export_journal_s", export_journal(sqlite_url, journal), "s"))
        ours = figures[[f[0] for f in figures].index("bureau_reconcile_year_all_sqlite_s")][1]
        expected = {s["store"]: s["outstanding"] for s in reports["sqlite"]["stores"] if s["store"]}
        tools = (("hledger", ["hledger", "-f", str(journal), "balance", "members", "--depth", "2", "--flat", "-N",
                              "--no-elide"]),
                 ("ledger", ["ledger", "-f", str(journal), "balance", "members", "--depth", "2", "--no-total",
                             "--format", "%(account) %(total)\\n"]))
        for tool, command in tools:
            result = run_tool(command)
            if result is None:
                rows.append((tool, f"not installed (apt-get install -y {tool})"))
                continue
            seconds, output = result
            totals = shop_totals(output)
            same = totals == expected
            rows.append((tool, f"{seconds:.2f} s; per-shop outstanding {'equals' if same else 'DIFFERS FROM'} "
                               f"the report's ({len(totals)} shops)"))
            figures.append((f"bureau_{tool}_balance_s", seconds, "s"))
            figures.append((f"bureau_{tool}_vs_report_ratio", seconds / ours, "x"))
            if not same:
                print(f"{tool} totals differ: {sorted(set(totals.items()) ^ set(expected.items()))[:10]}")
    finally:
        if pg_name is not None and args.keep is not None:
            print(f"kept PostgreSQL database: {pg_url}")
        elif pg_name is not None:
            admin = create_engine(make_url(pg_admin).set(drivername="postgresql+psycopg"),
                                  isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
            admin.dispose()
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)

    width = max(len(r[0]) for r in rows)
    print("bureau benchmark")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for name, value, _unit in figures:
        if name.startswith("bureau_reconcile_year_all_"):
            verdict = "ok" if value < TARGET_SECONDS else f"OVER the {TARGET_SECONDS:.0f} s target"
            print(f"  {name}: {value:.3f} s ({verdict})")
    for name, value, unit in figures:
        print(f"BENCH {name} {value:.4f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
