"""Checkout over HTTP through the production server: `creditmart serve` (waitress) in a subprocess, on a SQLite
file prepared by the migrations, clients on loopback with keep-alive connections (http.client, one per thread).

    .venv/bin/python bench/bench_checkout.py [--clients 8] [--seconds 8] [--interval 1000 250] [--printer dummy://]

Phases, all in one run against the same server:
1. `GET /healthz` (a trivial JSON endpoint that asks the database `SELECT 1`), closed loop: its throughput;
2. `POST /sales` with 3 lines (random goods and quantities, random members, one clerk per client), one client:
   what one tablet waits for when nobody else sells;
3. the same with `--clients` clients in a closed loop: each sends its next sale as soon as the last is answered —
   latency at saturation, and the throughput compared with healthz's;
4. the same sales paced: each client sends a sale every `--interval` ms on average (Poisson arrivals) — latency
   when the server is busy but not saturated;
5. the floor, on the same database through the same server (bench/floor_server.py): the same bodies sent to a
   route that does only a sale's fixed part (token, the account read, schema, the exactly-once record in one
   durable write transaction), `--clients` clients closed loop — what any sale costs before the checkout itself.
Target (issue 7): p50 < 15 ms and p99 < 50 ms with 8 concurrent clients; `checkout_p50_ms`/`checkout_p99_ms` are
the closed loop's (the strict reading). Also printed: the server's CPU time per request (from /proc) and the load
average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.floor_server import FLOOR_PATH  # noqa: E402
from core.db import UnitOfWork, make_engine, make_session_factory  # noqa: E402
from core.stores import create_store  # noqa: E402
from inventory import products, stock  # noqa: E402
from ledger.accounts import programme_account  # noqa: E402
from ledger.members import active_card, register_member  # noqa: E402
from ledger.models import VOLUNTEER_HOURS  # noqa: E402
from ledger.posting import NewTransfer, post_batch  # noqa: E402
from pos import auth, migrate  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef-0123456789"
PASSWORD = "bench-Passw0rd!"
GOODS = [("6920244418529", "大豆油 5L", 70), ("6986726428486", "花生油 1.8L", 45),
         ("6982606870703", "东北大米 5kg", 35), ("6972449445466", "小麦粉 5kg", 25),
         ("6901234567892", "香皂 125g", 5), ("6934567890127", "洗衣粉 1kg", 12),
         ("6945678901236", "酱油 500ml", 8), ("6956789012345", "食盐 400g", 3)]
MEMBERS = 200


def ean13(body: str) -> str:
    from inventory.barcodes import gs1_check_digit

    return body + str(gs1_check_digit(body))


def prepare(url: str, clerks: int) -> list[str]:
    """Migrated database: one shop, `clerks` clerks, the goods with plenty of stock, members with points."""
    migrate.upgrade(url)
    engine = make_engine(url)
    uow = UnitOfWork(make_session_factory(engine))

    def work(session) -> list[str]:  # type: ignore[no-untyped-def]
        store = create_store(session, "DSC", "东山村信用超市")
        for i in range(clerks):
            auth.create_user(session, f"clerk{i}", PASSWORD, "clerk", store)
        for code, name, price in GOODS:
            products.create_product(session, barcode=ean13(code[:12]), name=name, points_price=price, actor="bench")
        stock.receive(session, store.id, [(ean13(code[:12]), 999_999) for code, _, _ in GOODS], ref="receipt:bench",
                      actor="bench")
        cards, credits = [], []
        source = programme_account(session).id
        for i in range(MEMBERS):
            member = register_member(session, uuid.uuid4(), f"会员{i}", None, None, store.id, "bench")
            credits.append(NewTransfer(id=uuid.uuid4(), debit=source, credit=member.account_id, amount=10_000_000,
                                       code=VOLUNTEER_HOURS, ref="bench:hours", actor="bench"))
            cards.append(active_card(session, member.id).card_number)  # type: ignore[union-attr]
        post_batch(session, credits)
        return cards

    try:
        return uow.run(work)
    finally:
        engine.dispose()


class Server:
    """`creditmart serve` in a subprocess; with `floor`, bench/floor_server.py instead (the same app and server,
    plus the benchmark's floor route)."""

    def __init__(self, url: str, port: int, printer: str, threads: int, *, floor: bool = False) -> None:
        env = dict(os.environ, CREDITMART_DATABASE_URL=url, CREDITMART_SECRET_KEY=SECRET, CREDITMART_PRINTER=printer,
                   CREDITMART_CHECKPOINT_HOURS="0")  # no journal verification running beside the sales
        command = ([sys.executable, str(Path(__file__).with_name("floor_server.py"))] if floor
                   else [sys.executable, "-c", "from pos.cli import main; main()", "serve"])
        self.process = subprocess.Popen(command + ["--port", str(port), "--threads", str(threads)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.port = port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if request(self.connection(), "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not start")

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def cpu_seconds(self) -> float:
        """utime + stime of the server process."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def request(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None,
            token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Phase:
    """Runs `clients` threads for `seconds`; each calls `one(conn, client, rng)` (after an optional pacing wait)."""

    def __init__(self, server: Server, clients: int, seconds: float,
                 one: Callable[[http.client.HTTPConnection, int, random.Random], int],
                 interval_ms: float | None = None) -> None:
        self.latencies: list[float] = []
        self.errors: dict[int, int] = {}
        lock = threading.Lock()
        start = threading.Barrier(clients + 1)
        stop_at = [0.0]

        def run(client: int) -> None:
            rng = random.Random(client)
            arrivals = random.Random(1000 + client)  # the pacing does not depend on what is sold
            conn = server.connection()
            mine: list[float] = []
            errors: dict[int, int] = {}
            start.wait()
            next_at = time.perf_counter() + (arrivals.expovariate(1000 / interval_ms) if interval_ms else 0)
            while True:
                if interval_ms:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    next_at += arrivals.expovariate(1000 / interval_ms)
                if time.perf_counter() >= stop_at[0]:
                    break
                began = time.perf_counter()
                status = one(conn, client, rng)
                mine.append((time.perf_counter() - began) * 1000)
                if status >= 300:
                    errors[status] = errors.get(status, 0) + 1
            conn.close()
            with lock:
                self.latencies += mine
                for status, n in errors.items():
                    self.errors[status] = self.errors.get(status, 0) + n

        threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        cpu_before, load_before = server.cpu_seconds(), os.getloadavg()[0]
        began = time.perf_counter()
        stop_at[0] = began + seconds
        start.wait()
        for thread in threads:
            thread.join()
        self.elapsed = time.perf_counter() - began
        self.server_cpu = server.cpu_seconds() - cpu_before
        self.load = (load_before, os.getloadavg()[0])

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.count / self.elapsed

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu * 1000 / max(1, self.count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8, help="length of each sale phase")
    parser.add_argument("--interval", type=float, nargs="*", default=[1000, 250],
                        help="mean ms between a paced client's sales; one paced phase per value")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--printer", default="dummy://", help="CREDITMART_PRINTER of the server")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        cards = prepare(url, args.clients)
        server = Server(url, free_port(), args.printer, args.threads)
        try:
            tokens: list[str] = []
            for i in range(args.clients):
                status, answer = request(server.connection(), "POST", "/api/v1/auth/token",
                                         {"username": f"clerk{i}", "password": PASSWORD})
                assert status == 200, answer
                tokens.append(answer["access_token"])
            codes = [ean13(code[:12]) for code, _, _ in GOODS]

            def health(conn: http.client.HTTPConnection, client: int, rng: random.Random) -> int:
                return request(conn, "GET", "/healthz")[0]

            def sale_request(conn: http.client.HTTPConnection, client: int, rng: random.Random, path: str) -> int:
                lines = [{"barcode": code, "qty": rng.randint(1, 3)} for code in rng.sample(codes, 3)]
                body = {"id": str(uuid.uuid4()), "card_number": rng.choice(cards), "lines": lines}
                status, answer = request(conn, "POST", path, body, tokens[client])
                if status != 201:
                    print("refused:", path, status, answer, file=sys.stderr)
                return status

            def sale(conn: http.client.HTTPConnection, client: int, rng: random.Random) -> int:
                return sale_request(conn, client, rng, "/api/v1/sales")

            Phase(server, args.clients, 1.5, sale)  # warm up: code paths, caches, the shifts opened
            Phase(server, args.clients, 1.0, health)
            healthz = Phase(server, args.clients, args.seconds / 2, health)
            alone = Phase(server, 1, args.seconds / 2, sale)
            closed = Phase(server, args.clients, args.seconds, sale)
            paced = [(interval, Phase(server, args.clients, args.seconds, sale, interval_ms=interval))
                     for interval in args.interval]
            verify_status = request(server.connection(), "GET", "/healthz")[0]
        finally:
            server.stop()
        # The floor: the same server and database, a route that does only what every sale does before and around
        # the checkout (token, account read, schema, the exactly-once record in a durable write transaction).
        server = Server(url, free_port(), args.printer, args.threads, floor=True)
        try:
            def floor(conn: http.client.HTTPConnection, client: int, rng: random.Random) -> int:
                return sale_request(conn, client, rng, FLOOR_PATH)

            Phase(server, args.clients, 1.0, floor)
            floor_closed = Phase(server, args.clients, args.seconds, floor)
        finally:
            server.stop()

    assert verify_status == 200
    failures: dict[int, int] = {}
    for phase in [closed, alone, floor_closed, *(p for _, p in paced)]:
        for status, n in phase.errors.items():
            failures[status] = failures.get(status, 0) + n
    rows = [
        (f"healthz, {args.clients} clients closed loop", healthz),
        ("sale (3 lines), 1 client", alone),
        (f"sale (3 lines), {args.clients} clients closed loop", closed),
        *((f"sale, {args.clients} clients, 1 per {interval:g} ms each", phase) for interval, phase in paced),
        (f"floor (auth+schema+once), {args.clients} closed", floor_closed),
    ]
    print(f"waitress {args.threads} threads, SQLite file (WAL, synchronous=FULL), printer {args.printer}, "
          f"{os.cpu_count()} CPUs; refused sales: {failures or 'none'}")
    print(f"{'phase':42} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'cpu ms/req':>10} {'load 1m':>11}")
    for name, phase in rows:
        print(f"{name:42} {phase.count:8d} {phase.rps:8.1f} {phase.pct(50):8.2f} {phase.pct(90):8.2f} "
              f"{phase.pct(99):8.2f} {max(phase.latencies):8.2f} {phase.cpu_ms:10.2f} "
              f"{phase.load[0]:5.2f}→{phase.load[1]:<5.2f}")
    print("closed loop: each client sends its next sale when the last is answered (the issue's target, p50 < 15 ms "
          "and p99 < 50 ms, read strictly); paced: Poisson arrivals at the stated mean interval per client; floor: "
          "the same body through the sale's decorator and exactly-once record, nothing else (bench/floor_server.py).")
    figures = [
        ("checkout_p50_ms", closed.pct(50), "ms"), ("checkout_p99_ms", closed.pct(99), "ms"),
        ("checkout_rps", closed.rps, "req/s"), ("healthz_rps", healthz.rps, "req/s"),
        ("checkout_to_healthz_ratio", closed.rps / healthz.rps, "ratio"),
        ("checkout_1_client_p50_ms", alone.pct(50), "ms"), ("checkout_1_client_p99_ms", alone.pct(99), "ms"),
    ]
    for interval, phase in paced:
        figures += [(f"checkout_paced_{interval:g}ms_p50_ms", phase.pct(50), "ms"),
                    (f"checkout_paced_{interval:g}ms_p99_ms", phase.pct(99), "ms")]
    figures += [("floor_p50_ms", floor_closed.pct(50), "ms"), ("floor_p99_ms", floor_closed.pct(99), "ms"),
                ("floor_rps", floor_closed.rps, "req/s"), ("floor_server_cpu_ms", floor_closed.cpu_ms, "ms/req")]
    figures += [("checkout_server_cpu_ms", closed.cpu_ms, "ms/req"),
                ("healthz_server_cpu_ms", healthz.cpu_ms, "ms/req"), ("load_average_1m", os.getloadavg()[0], "load")]
    for name, value, unit in figures:
        print(f"BENCH {name} {value:.2f} {unit}")


if __name__ == "__main__":
    main()
