"""`creditmart user add` and `creditmart user list` against the test database."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.security import check_password_hash

from core.db import UnitOfWork
from pos import auth
from pos.cli import main


def stored_hash(uow: UnitOfWork, username: str) -> str | None:
    return uow.read(lambda s: s.scalar(select(auth.User.password_hash).where(auth.User.username == username)))


def test_user_add_reads_the_password_from_stdin(runner: CliRunner, uow: UnitOfWork) -> None:
    result = runner.invoke(main, ["user", "add", "li.ming", "--role", "clerk", "--store", "DSC", "--password-stdin"],
                           input="  stdin-Passw0rd \n")
    assert result.exit_code == 0, result.output
    assert "li.ming (clerk) created" in result.output
    assert "stdin-Passw0rd" not in result.output
    stored = stored_hash(uow, "li.ming")
    assert stored and stored.startswith("scrypt:")
    assert check_password_hash(stored, "  stdin-Passw0rd ")  # the whole line, only the newline removed


def test_user_add_prompts_twice_without_stdin_flag(runner: CliRunner, uow: UnitOfWork) -> None:
    result = runner.invoke(main, ["user", "add", "zhao.lei", "--role", "auditor"],
                           input="prompt-Passw0rd\nprompt-Passw0rd\n")
    assert result.exit_code == 0, result.output
    assert check_password_hash(stored_hash(uow, "zhao.lei") or "", "prompt-Passw0rd")


def test_user_add_refuses_bad_input_plainly(runner: CliRunner, uow: UnitOfWork) -> None:
    cases = [
        (["user", "add", "short.pw", "--role", "clerk", "--store", "DSC", "--password-stdin"], "short\n", "password"),
        (["user", "add", "no.store", "--role", "clerk", "--password-stdin"], "long-enough-pw\n", "store"),
        (["user", "add", "bad name", "--role", "auditor", "--password-stdin"], "long-enough-pw\n", "username"),
        (["user", "add", "clerk-dsc", "--role", "clerk", "--store", "DSC", "--password-stdin"], "long-enough-pw\n",
         "already taken"),
        (["user", "add", "x.y.z", "--role", "clerk", "--store", "NOPE", "--password-stdin"], "long-enough-pw\n",
         "store"),
    ]
    for args, stdin, says in cases:
        result = runner.invoke(main, args, input=stdin)
        assert result.exit_code == 1, (args, result.output)
        assert says in result.output and "Traceback" not in result.output, result.output
    for name in ("short.pw", "no.store", "bad name", "x.y.z"):
        assert stored_hash(uow, name) is None


def test_user_list_shows_users_without_passwords(runner: CliRunner) -> None:
    result = runner.invoke(main, ["user", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "username", "role", "store", "active"]
    assert lines[1].split()[1:] == ["admin", "admin", "-", "yes"]
    assert any(line.split()[1:] == ["clerk-xhc", "clerk", "XHC", "yes"] for line in lines)
    assert "scrypt" not in result.output and "Passw0rd" not in result.output

    only_dsc = runner.invoke(main, ["user", "list", "--store", "DSC"])
    assert only_dsc.exit_code == 0
    rows = [line.split() for line in only_dsc.output.splitlines()[1:]]
    assert rows and {row[3] for row in rows} == {"DSC"}
    unknown = runner.invoke(main, ["user", "list", "--store", "NOPE"])
    assert unknown.exit_code == 1 and "store" in unknown.output
