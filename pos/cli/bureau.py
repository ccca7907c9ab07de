"""The bureau's commands.

- `creditmart ledger checkpoint [--output FILE]` — verifies the whole journal (against the last checkpoint)
  and signs its head with the bureau's key: run it daily (cron). Refuses, exit 1, when the journal does not
  verify.
- `creditmart ledger check-export FILE --checkpoint CP [--public-key PEM]` — the ledger's check of an export,
  and that the export passes the checkpoint's seq with the signed hash, and that the checkpoint's signature
  verifies with the bureau's public key. No database. Exit 0 only when all hold.
- `creditmart bureau report --format xlsx|csv|json --output FILE [--from] [--to] [--store CODE ...]` — the
  reconciliation, as the page exports it.
- `creditmart bureau journal FILE` — the journal as a plain-text accounting file (`hledger -f FILE balance`).

The two `ledger` commands join the ledger's own command group (`pos.cli.ledger`), which this module extends
when it registers, whatever the order of `COMMAND_MODULES`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask

from core.errors import DomainError
from ledger import snapshot_session
from pos.bureau import checkpoints, exports
from pos.bureau.periods import Period, parse_bound
from pos.cli.context import command_app
from pos.cli.ledger import language, ledger_group, print_report, t
from pos.config import from_environment


def _bureau_key_file(app: Flask | None = None) -> Path:
    if app is not None:
        return checkpoints.key_file(app.config, app.instance_path)
    # No app (and so no database) for checking an export: the instance folder a `pos` app would use.
    return checkpoints.key_file(from_environment(), Flask("pos").instance_path)


@click.command("checkpoint")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the signed checkpoint (JSON) to this file.")
def checkpoint_command(output: str | None) -> None:
    """Verify the whole journal and sign its head with the bureau's key (a daily checkpoint)."""
    with command_app() as app:
        key = checkpoints.load_signing_key(_bureau_key_file(app))
        report, made = checkpoints.verify_and_sign(app.extensions["creditmart.db"].session_factory, key,
                                                   actor="cli")
        if made is None:
            print_report(report, "ledger.verify.ok", "ledger.verify.failed")
            click.echo(t("bureau.cli.checkpoint_refused", count=report.problem_count), err=True)
            sys.exit(1)
        document = checkpoints.document(made)
    target = output or f"checkpoint-{document['seq']}-{document['id']}.json"
    Path(target).write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    click.echo(t("bureau.cli.checkpoint_signed", id=document["id"], seq=document["seq"], hash=document["hash"],
                 key_id=document["key_id"], file=target))


def _check_export_with_checkpoint(file: str, max_problems: int, checkpoint: str, public_key: str | None) -> None:
    key_path = Path(public_key) if public_key else _bureau_key_file()
    try:
        public = checkpoints.load_verifying_key(key_path)
    except checkpoints.BureauKeyMissing:
        raise click.ClickException(t("bureau.cli.no_key", path=str(key_path))) from None
    token_text = Path(checkpoint).read_text(encoding="utf-8")
    with open(file, encoding="utf-8") as lines:
        result = checkpoints.check_export_against(lines, token_text, public, max_problems=max_problems)
    print_report(result.report, "ledger.check.ok", "ledger.check.failed")
    if result.checkpoint_problem is None and result.claims is not None:
        click.echo(t("bureau.cli.checkpoint_ok", seq=result.claims.seq, key_id=result.claims.key_id or "-"))
    else:
        click.echo(t("bureau.cli.checkpoint_failed", problem=result.checkpoint_problem), err=True)
    if not result.ok:
        sys.exit(1)


def _extend_check_export() -> None:
    """Adds --checkpoint and --public-key to the ledger's `check-export`; without them it is unchanged."""
    command = ledger_group.commands["check-export"]
    if any(p.name == "checkpoint" for p in command.params):
        return
    original = command.callback
    assert original is not None
    command.params.append(click.Option(
        ["--checkpoint"], type=click.Path(exists=True, dir_okay=False), default=None,
        help="A signed checkpoint (the JSON `creditmart ledger checkpoint` writes, or its token): the export must "
             "pass its seq with its hash, and its signature must verify with the bureau's public key."))
    command.params.append(click.Option(
        ["--public-key"], type=click.Path(exists=True, dir_okay=False), default=None,
        help="The bureau's public key (PEM); default: CREDITMART_BUREAU_KEY_FILE or the instance folder's key."))

    def callback(file: str, max_problems: int, checkpoint: str | None = None, public_key: str | None = None,
                 **rest: Any) -> Any:
        if checkpoint is None:
            return original(file=file, max_problems=max_problems, **rest)
        return _check_export_with_checkpoint(file, max_problems, checkpoint, public_key)

    command.callback = callback


@click.group("bureau")
def bureau_group() -> None:
    """The civil-affairs bureau's reports and exports."""


@bureau_group.command("report")
@click.option("--from", "from_", default=None, help="First day (2025-01-01) or an ISO 8601 time.")
@click.option("--to", default=None, help="Last day (included) or an ISO 8601 time (excluded).")
@click.option("--store", "stores", multiple=True, help="A shop's code (repeat for several); default: every shop.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "json"]), default="xlsx", show_default=True)
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True))
def report_command(from_: str | None, to: str | None, stores: tuple[str, ...], fmt: str, output: str) -> None:
    """The reconciliation of a period, for every shop or the named ones."""
    from sqlalchemy import select

    from core.stores import Store
    from pos.bureau.reconciliation import reconcile

    try:
        period = Period(parse_bound(from_, end=False) if from_ else None, parse_bound(to, end=True) if to else None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from None
    try:
        with command_app() as app, snapshot_session(app.extensions["creditmart.db"].session_factory) as session:
            store_ids = None
            if stores:
                codes = [code.strip().upper() for value in stores for code in value.split(",") if code.strip()]
                found = dict(session.execute(select(Store.code, Store.id).where(Store.code.in_(codes))).tuples())
                missing = sorted(set(codes) - set(found))
                if missing:
                    raise click.BadParameter(f"no shop {', '.join(missing)}", param_hint="--store")
                store_ids = [found[code] for code in codes]
            report = reconcile(session, period, store_ids).to_dict()
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    lang = language()
    if fmt == "xlsx":
        Path(output).write_bytes(exports.reconciliation_xlsx(report, lang))
    elif fmt == "csv":
        Path(output).write_bytes(exports.reconciliation_csv(report, lang))
    else:
        Path(output).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    click.echo(t("bureau.cli.report_written", file=output))
    if not report["ok"]:
        sys.exit(1)


@bureau_group.command("journal")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def journal_command(file: str) -> None:
    """Write the journal as a plain-text accounting file for `hledger -f FILE balance` and `ledger`."""
    from pos.bureau.plaintext import write_plain_journal

    with command_app() as app, snapshot_session(app.extensions["creditmart.db"].session_factory) as session, \
            open(file, "w", encoding="utf-8") as out:
        count = write_plain_journal(session, out)
    click.echo(t("bureau.cli.journal_written", count=count, file=file))


def register(main: click.Group) -> None:
    _extend_check_export()
    ledger_group.add_command(checkpoint_command)
    main.add_command(bureau_group)
