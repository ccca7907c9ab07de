"""The print agent against a running server: jobs are claimed once by two agents, outcomes are reported."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from core.db import UnitOfWork
from pos.cli import main
from pos.cli.printing import AgentError, make_agent
from pos.print_jobs import enqueue, get_job
from tests.escpos_decoder import FakePrinter, decode, free_port
from tests.support import password_for, store_id


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on a free port, in a thread."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(10)


def queue(app: Flask, code: str, count: int) -> dict[str, str]:
    """Queues `count` small receipts; returns job id → the line each prints."""
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)

    def work(session: Session) -> dict[str, str]:
        store = store_id(session, code)
        jobs = {}
        for i in range(count):
            text = f"{code} 小票 {i}"
            payload = b"\x1b@\x1c&" + f"{text}\n".encode("gb18030")
            jobs[str(enqueue(session, store, "receipt", payload, f"{code}-{i}").id)] = text
        return jobs

    return uow.run(work)


def statuses(app: Flask, ids: list[str]) -> dict[str, str]:
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)
    return uow.read(lambda s: {i: get_job(s, uuid.UUID(i)).status for i in ids})


def printed_ids(folder: Path) -> list[str]:
    ids = []
    for file in folder.iterdir():
        match = re.search(r"creditmart-receipt-([0-9a-f-]{36})", file.name)
        assert match, file.name
        ids.append(match[1])
    return ids


def test_two_agents_print_every_job_exactly_once(app: Flask, server: str, tmp_path: Path) -> None:
    jobs = queue(app, "DSC", 12)
    others = queue(app, "XHC", 2)
    password = password_for("agent-dsc")
    with FakePrinter() as tcp_printer:
        agents = [make_agent(server, "DSC", tcp_printer.url, "agent-dsc", password, agent_name="till-1"),
                  make_agent(server, "DSC", f"file://{tmp_path}/b", "agent-dsc", password, agent_name="till-2")]
        start = threading.Barrier(2)
        outcomes: list[list] = [[], []]

        def run(index: int) -> None:
            start.wait()
            outcomes[index] = agents[index].run_until_idle()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        via_tcp = [decode(job) for job in tcp_printer.wait_for_jobs(sum(o.kind == "printed" for o in outcomes[0]))]
    via_file = printed_ids(tmp_path / "b") if (tmp_path / "b").exists() else []
    printed = [o.job.id for runs in outcomes for o in runs if o.kind == "printed"]
    assert sorted(printed) == sorted(jobs)  # every job once, none twice
    assert len(via_tcp) + len(via_file) == len(jobs)
    assert sorted(via_file) == sorted(o.job.id for o in outcomes[1] if o.kind == "printed")
    tcp_texts = sorted(line for doc in via_tcp for line in doc.text_lines())
    assert tcp_texts == sorted(jobs[o.job.id] for o in outcomes[0] if o.kind == "printed")
    assert set(statuses(app, list(jobs)).values()) == {"printed"}  # the outcomes reached the server
    assert set(statuses(app, list(others)).values()) == {"queued"}  # another shop's jobs are not ours


def test_agent_reports_a_failure_and_the_job_waits_for_the_retry(app: Flask, server: str) -> None:
    [job_id] = queue(app, "DSC", 1)
    agent = make_agent(server, "DSC", f"tcp://127.0.0.1:{free_port()}?timeout=0.5", "agent-dsc",
                       password_for("agent-dsc"))
    outcomes = agent.run_until_idle()
    assert [o.kind for o in outcomes] == ["retry", "idle"]
    assert statuses(app, [job_id]) == {job_id: "queued"}
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)
    error = uow.read(lambda s: get_job(s, uuid.UUID(job_id)).last_error)
    assert error and "cannot connect" in error


def test_agent_refuses_a_user_of_another_shop_or_role(server: str) -> None:
    with pytest.raises(AgentError, match="belongs to shop XHC"):
        make_agent(server, "DSC", "dummy://", "agent-xhc", password_for("agent-xhc"))
    with pytest.raises(AgentError, match="not a print_agent"):
        make_agent(server, "DSC", "dummy://", "clerk-dsc", password_for("clerk-dsc"))
    with pytest.raises(AgentError, match="401"):
        make_agent(server, "DSC", "dummy://", "agent-dsc", "wrong password")


def test_print_agent_command_prints_and_reports(app: Flask, server: str, tmp_path: Path) -> None:
    jobs = queue(app, "XHC", 2)
    runner = CliRunner()
    args = ["print-agent", "--server", server, "--store", "XHC", "--printer", f"file://{tmp_path}",
            "--username", "agent-xhc", "--password-stdin", "--until-idle"]
    result = runner.invoke(main, args, input=password_for("agent-xhc") + "\n")
    assert result.exit_code == 0, result.output
    assert "2 printed, 0 failed" in result.output
    assert sorted(printed_ids(tmp_path)) == sorted(jobs)
    assert set(statuses(app, list(jobs)).values()) == {"printed"}
    again = runner.invoke(main, args, input=password_for("agent-xhc") + "\n")
    assert again.exit_code == 0 and "0 printed" in again.output  # nothing printed twice

    no_password = runner.invoke(main, args[:-2], env={"CREDITMART_AGENT_PASSWORD": ""})
    assert no_password.exit_code != 0 and "password" in no_password.output
    failing = queue(app, "XHC", 1)
    down = runner.invoke(main, [*args[:6], f"tcp://127.0.0.1:{free_port()}?timeout=0.5", *args[7:]],
                         input=password_for("agent-xhc") + "\n")
    assert down.exit_code == 1 and "0 printed, 1 failed" in down.output
    assert statuses(app, list(failing)) == {next(iter(failing)): "queued"}
    # However long the printer stays off, the server keeps the job queued for it: the agent reports that the
    # printer took nothing, so the retry budget (10 attempts) does not apply.
    [job_id] = failing
    uow = UnitOfWork(app.extensions["creditmart.db"].session_factory)

    def long_outage(session: Session) -> None:
        job = get_job(session, uuid.UUID(job_id))
        job.attempts, job.next_attempt_at = 30, job.created_at

    uow.run(long_outage)
    still_down = runner.invoke(main, [*args[:6], f"tcp://127.0.0.1:{free_port()}?timeout=0.5", *args[7:]],
                               input=password_for("agent-xhc") + "\n")
    assert still_down.exit_code == 1 and "0 printed, 1 failed" in still_down.output
    assert statuses(app, [job_id]) == {job_id: "queued"}
    assert uow.read(lambda s: get_job(s, uuid.UUID(job_id)).attempts) == 31
