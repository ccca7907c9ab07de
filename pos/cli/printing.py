"""`creditmart print-agent` (a shop's printer, fed by the central server) and `creditmart printer test|status`."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

import click

from core.db import utcnow
from printers.documents import TestPage
from printers.drivers import PrinterError, open_driver, printer_status
from printers.queue import Job, Outcome, PrintWorker
from printers.render import render_test_page

log = logging.getLogger(__name__)
HTTP_TIMEOUT = 15.0
REPORT_ATTEMPTS = 4


class AgentError(Exception):
    """The server refused or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiClient:
    """A small JSON client for the server's /api/v1, logged in as a print agent (logs in again when the token
    expires)."""

    def __init__(self, server: str, username: str, password: str, *, timeout: float = HTTP_TIMEOUT) -> None:
        self.base = server.rstrip("/") + "/api/v1"
        self.username = username
        self.password = password
        self.timeout = timeout
        self.token: str | None = None

    def login(self) -> dict[str, Any]:
        answer = self._request("POST", "/auth/token", {"username": self.username, "password": self.password})
        self.token = answer["access_token"]
        return answer

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.token is None:
            self.login()
        try:
            return self._request("POST", path, body)
        except AgentError as exc:
            if exc.status != 401:
                raise
            self.login()
            return self._request("POST", path, body)

    def _request(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), headers=headers,
                                         method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())["error"]
                message = f"{error['code']}: {error.get('details') or error.get('message')}"
            except (ValueError, KeyError, TypeError):
                message = exc.reason
            raise AgentError(f"{method} {path}: HTTP {exc.code} {message}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise AgentError(f"{method} {path}: cannot reach the server: {exc}") from None


class HttpJobStore:
    """`printers.queue.JobStore` over the server's print-job routes."""

    def __init__(self, client: ApiClient, agent: str, *, report_attempts: int = REPORT_ATTEMPTS,
                 printer: dict[str, Any] | None = None) -> None:
        self.client = client
        self.agent = agent
        self.report_attempts = report_attempts
        self.printer = printer or {}  # paper_width, native_qr, native_barcode: the server renders for them

    def claim(self, worker: str, now: datetime) -> Job | None:
        job = self.client.post("/print-jobs/claim", {"agent": self.agent, **self.printer})["job"]
        if job is None:
            return None
        return Job(id=job["job_id"], kind=job["kind"], payload=base64.b64decode(job["payload_base64"]),
                   attempts=job["attempts"], ref=job["ref"])

    def succeeded(self, job: Job, now: datetime) -> None:
        self._report(job, {"ok": True})

    def failed(self, job: Job, error: str, now: datetime, retry_at: datetime | None, *,
               unavailable: bool = False) -> None:
        # The server applies the same retry policy; it only needs to know whether a retry would be safe, and
        # whether the printer took nothing (then it waits for the printer without limit).
        self._report(job, {"ok": False, "error": error, "retryable": retry_at is not None,
                           "unavailable": unavailable})

    def _report(self, job: Job, body: dict[str, Any]) -> None:
        """Tries a few times: a lost report leaves the job "printing" until its lease runs out."""
        for attempt in range(1, self.report_attempts + 1):
            try:
                self.client.post(f"/print-jobs/{job.id}/result", body)
                return
            except AgentError as exc:
                if exc.status == 409:  # already settled (e.g. its lease ran out): nothing more to say
                    log.warning("job %s: %s", job.id, exc)
                    return
                if attempt == self.report_attempts or (exc.status is not None and exc.status < 500):
                    raise
                time.sleep(min(8.0, 2.0 ** (attempt - 1)))


def default_agent_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"[:60]


def make_agent(server: str, store_code: str, printer: str, username: str, password: str, *,
               agent_name: str | None = None, poll: float = 2.0, paper_width: int | None = None) -> PrintWorker:
    """Logs in (as a print_agent of `store_code`) and returns the worker; `run()` or `run_until_idle()` it.
    The server renders each job for this printer: its paper (default: the server's) and its native commands."""
    driver = open_driver(printer)
    client = ApiClient(server, username, password)
    who = client.login()
    if who.get("role") != "print_agent":
        raise AgentError(f"{username} is a {who.get('role')}, not a print_agent")
    if who.get("store") != store_code:
        raise AgentError(f"{username} belongs to shop {who.get('store')}, not {store_code}")
    name = agent_name or default_agent_name()
    described: dict[str, Any] = {"native_qr": driver.options.native_qr,
                                 "native_barcode": driver.options.native_barcode}
    if paper_width is not None:
        described["paper_width"] = paper_width
    return PrintWorker(HttpJobStore(client, name, printer=described), driver, name=name, idle_wait=poll)


def describe(outcome: Outcome) -> str:
    job = outcome.job
    if job is None:
        return "no job due"
    if outcome.kind == "printed":
        return f"printed {job.kind} {job.id} (attempt {job.attempts})"
    then = f"retry at {outcome.retry_at.isoformat()}" if outcome.retry_at else "failed, not retried"
    return f"{job.kind} {job.id} attempt {job.attempts}: {outcome.error} — {then}"


@click.command("print-agent")
@click.option("--server", required=True, help="The central server, e.g. https://pos.example.cn")
@click.option("--store", "store_code", required=True, help="This shop's code; the agent user must belong to it.")
@click.option("--printer", envvar="CREDITMART_PRINTER", required=True,
              help="Printer URL: tcp://HOST:9100, usb://VID:PID, serial:///dev/ttyUSB0, file:///DIR, cups://NAME.")
@click.option("--username", envvar="CREDITMART_AGENT_USERNAME", required=True, help="A print_agent user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input "
                                                     "(else CREDITMART_AGENT_PASSWORD).")
@click.option("--name", "agent_name", default=None, help="This agent's name in the job records (default host-pid).")
@click.option("--width", type=click.Choice(["58", "80"]), envvar="CREDITMART_PAPER_WIDTH", default=None,
              help="This printer's paper in mm (default: the server's CREDITMART_PAPER_WIDTH).")
@click.option("--poll", default=2.0, show_default=True, type=click.FloatRange(0.1, 60), help="Seconds between polls.")
@click.option("--until-idle", is_flag=True, help="Print the jobs that are due, then exit (cron, tests).")
def print_agent(server: str, store_code: str, printer: str, username: str, password_stdin: bool,
                agent_name: str | None, width: str | None, poll: float, until_idle: bool) -> None:
    """Pull this shop's print jobs from the server and print them; report each outcome."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else os.environ.get("CREDITMART_AGENT_PASSWORD")
    if not password:
        raise click.ClickException("give the password on standard input (--password-stdin) "
                                   "or in CREDITMART_AGENT_PASSWORD")
    try:
        worker = make_agent(server, store_code, printer, username, password, agent_name=agent_name, poll=poll,
                            paper_width=int(width) if width else None)
    except (AgentError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if until_idle:
        try:
            outcomes = worker.run_until_idle()
        except AgentError as exc:
            raise click.ClickException(str(exc)) from None
        for outcome in outcomes:
            if outcome.job is not None:
                click.echo(describe(outcome))
        printed = sum(o.kind == "printed" for o in outcomes)
        failed = sum(o.kind in ("retry", "failed") for o in outcomes)
        click.echo(f"{printed} printed, {failed} failed")
        if failed:
            sys.exit(1)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    click.echo(f"print agent {worker.name}: printing {store_code}'s jobs from {server} to {printer} (Ctrl-C stops)")
    try:
        worker.run()
    except KeyboardInterrupt:
        click.echo("stopped")


@click.group("printer")
def printer_group() -> None:
    """The receipt printer: a test page, its status."""


@printer_group.command("test")
@click.option("--printer", envvar="CREDITMART_PRINTER", required=True, help="Printer URL (default CREDITMART_PRINTER).")
@click.option("--width", type=click.Choice(["58", "80"]), envvar="CREDITMART_PAPER_WIDTH", default="58",
              show_default=True, help="Paper width in mm.")
@click.option("--store-name", default="", help="A shop name to print on the page.")
def printer_test(printer: str, width: str, store_name: str) -> None:
    """Print a Chinese test page (punctuation, ￥, a width ruler, QR code, barcode) straight to the printer."""
    try:
        driver = open_driver(printer)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    page = TestPage(printed_at=utcnow(), printer=printer.split("?")[0], store_name=store_name)
    payload = render_test_page(page, int(width), driver.options)
    try:
        driver.send(payload, "creditmart-test-page")
    except PrinterError as exc:
        raise click.ClickException(f"the test page did not print: {exc}") from None
    click.echo(f"test page sent to {printer} ({len(payload)} bytes, {width} mm paper)")


@printer_group.command("status")
@click.option("--printer", envvar="CREDITMART_PRINTER", required=True, help="Printer URL (default CREDITMART_PRINTER).")
def printer_status_command(printer: str) -> None:
    """Ask the printer whether it is online and has paper; exit 1 unless it says so."""
    try:
        status = printer_status(printer)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{printer}: {status.state} (online: {status.online}, paper: {status.paper})"
               + (f" — {status.detail}" if status.detail else ""))
    if status.state not in ("ok", "online"):
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(print_agent)
    main.add_command(printer_group)
