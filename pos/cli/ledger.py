"""`creditmart ledger verify | export FILE | check-export FILE`.

verify and check-export exit 0 only when everything holds; otherwise 1, naming the first bad seq and what is
wrong. On a terminal, long runs show a progress bar. Messages follow CREDITMART_LANG or LANG (zh-CN first).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_session_factory
from ledger import Report, check_export, journal_length, snapshot_session, verify, write_export
from ledger.errors import UnknownTransfer
from pos.config import database_url
from pos.i18n import negotiate, translate


def language() -> str:
    explicit = os.environ.get("CREDITMART_LANG")
    if explicit:
        return negotiate(explicit)
    locale = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    return negotiate(locale.split(".")[0].replace("_", "-"))


def t(key: str, **params: object) -> str:
    return translate(key, language(), **params)


@contextmanager
def progress(total: int, label_key: str) -> Iterator[Callable[[int], None] | None]:
    """A click progress bar when stdout is a terminal; nothing otherwise (pipes and logs stay clean)."""
    if not sys.stdout.isatty() or total <= 0:
        yield None
        return
    with click.progressbar(length=total, label=t(label_key)) as bar:
        yield bar.update


def print_report(report: Report, ok_key: str, failed_key: str) -> None:
    if report.ok:
        click.echo(t(ok_key, transfers=report.transfers, seq=report.head_seq, hash=report.head_hash))
        return
    first = report.first_problem
    assert first is not None
    what = t(f"ledger.problem.{first.what}")
    if first.seq is None:
        click.echo(t(f"{failed_key}_no_seq", count=report.problem_count, what=what), err=True)
    else:
        click.echo(t(failed_key, count=report.problem_count, seq=first.seq, what=what), err=True)
    for problem in report.problems:
        click.echo(t("ledger.problem.line", seq="-" if problem.seq is None else problem.seq,
                     what=f"{t('ledger.problem.' + problem.what)} ({problem.what})", detail=problem.detail),
                   err=True)
    if report.problem_count > len(report.problems):
        click.echo(t("ledger.problem.more", count=report.problem_count - len(report.problems)), err=True)


@contextmanager
def database() -> Iterator[sessionmaker[Session]]:
    """CREDITMART_DATABASE_URL's sessions; no Flask app (verify is timed, and needs nothing else)."""
    url = database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise click.ClickException(f"no database at {url}")
    engine: Engine = make_engine(url)
    try:
        yield make_session_factory(engine)
    except DBAPIError as exc:
        raise click.ClickException(f"cannot read the ledger: {exc.orig} (is the database migrated?)") from None
    finally:
        engine.dispose()


def parse_anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d+):([0-9a-fA-F]{64})", value.strip())
    if match is None:
        raise click.BadParameter("expected SEQ:HASH, the hash as 64 hex digits", param_hint="--anchor")
    return int(match.group(1)), match.group(2).lower()


@click.group("ledger")
def ledger_group() -> None:
    """The points ledger: verify it, export it, check an export."""


@ledger_group.command("verify")
@click.option("--anchor", default=None, metavar="SEQ:HASH",
              help="A head recorded earlier (seq and hash) that the journal must still contain.")
@click.option("--max-problems", default=20, show_default=True, type=click.IntRange(1, 10_000))
def verify_command(anchor: str | None, max_problems: int) -> None:
    """Recompute the hash chain and every balance; exit 1 naming the first bad seq."""
    anchor_value = parse_anchor(anchor)
    with database() as factory, snapshot_session(factory) as session:
        with progress(journal_length(session), "ledger.progress.verify") as update:
            report = verify(session, progress=update, max_problems=max_problems, anchor=anchor_value)
    print_report(report, "ledger.verify.ok", "ledger.verify.failed")
    if not report.ok:
        sys.exit(1)


@ledger_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--after-seq", default=0, show_default=True, type=click.IntRange(min=0),
              help="Export only the transfers after this seq (the last seq of a previous export).")
def export_command(file: str, after_seq: int) -> None:
    """Write the journal as NDJSON to FILE ('-' for standard output)."""
    try:
        with database() as factory, snapshot_session(factory) as session:
            total = max(0, journal_length(session) - after_seq)
            if file == "-":
                summary = write_export(session, sys.stdout, after_seq)
            else:
                target = Path(file)
                partial = target.with_name(target.name + ".partial")
                with progress(total, "ledger.progress.export") as update, \
                        partial.open("w", encoding="utf-8", newline="\n") as out:
                    summary = write_export(session, out, after_seq, progress=update)
                partial.replace(target)  # a crash mid-way leaves no file that looks complete
    except UnknownTransfer as exc:
        raise click.ClickException(f"{exc} (seq {exc.details.get('seq')})") from None
    click.echo(t("ledger.export.done", transfers=summary.transfers, after_seq=summary.after_seq,
                 seq=summary.last_seq, file=file, hash=summary.last_hash), err=file == "-")


@ledger_group.command("check-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--max-problems", default=20, show_default=True, type=click.IntRange(1, 10_000))
def check_export_command(file: str, max_problems: int) -> None:
    """Verify an export file with no database: the chain and every balance. Exit 1 naming the first bad seq."""
    with progress(_count_lines(file), "ledger.progress.check") as update:
        report = check_export(file, max_problems=max_problems, progress=update)
    print_report(report, "ledger.check.ok", "ledger.check.failed")
    if not report.ok:
        sys.exit(1)


def _count_lines(file: str) -> int:
    if not sys.stdout.isatty():
        return 0
    with open(file, "rb") as fh:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 2)


def register(main: click.Group) -> None:
    main.add_command(ledger_group)
