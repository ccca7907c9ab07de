"""`creditmart catalog import|export` and `creditmart stock list|check|settings`, and the demo's goods."""

from __future__ import annotations

import os
import random
import sys
from importlib import resources
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import DomainError
from core.stores import Store, get_store_by_code
from inventory import catalog, stock
from pos.cli.context import database
from pos.i18n import negotiate, translate

ACTOR = "cli"


def _lang() -> str:
    """The terminal's language (LANG=en_US.UTF-8 gives English); Chinese otherwise."""
    return negotiate((os.environ.get("LANG") or "").replace("_", "-"))


def problem_text(problem: catalog.RowProblem, lang: str) -> str:
    text = translate(f"inventory.import.{problem.reason}", lang, **dict(problem.params))
    return translate("inventory.import.line", lang, line=problem.line, column=problem.column, text=text)


def _run(work):  # type: ignore[no-untyped-def]
    """One unit of work on the configured database; a domain refusal becomes a plain message and exit 1."""
    try:
        with database() as uow:
            return uow.run(work)
    except DomainError as exc:
        details = ", ".join(f"{k}={v}" for k, v in exc.details.items())
        raise click.ClickException(f"{exc.code}: {exc} {details}".strip()) from None


@click.group("catalog")
def catalog_group() -> None:
    """The product catalogue (shared by every shop)."""


@catalog_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--store", "store_code", default=None, help="Shop code: the file's reorder levels become this shop's.")
@click.option("--partial", is_flag=True, help="Import the good rows even when some rows are bad.")
def import_command(file: Path, store_code: str | None, partial: bool) -> None:
    """Import products from CSV: barcode,name,category,points_price,unit,reorder_level.

    Every bad row is reported with its line number; with any bad row nothing is imported, unless --partial.
    """
    data, lang = file.read_bytes(), _lang()

    def work(session: Session) -> catalog.ImportReport:
        store_id = get_store_by_code(session, store_code).id if store_code else None
        return catalog.import_catalog(session, data, store_id=store_id, actor=ACTOR, partial=partial)

    report = _run(work)
    for problem in report.problems:
        click.echo(problem_text(problem, lang), err=True)
    if not report.imported:
        raise click.ClickException(translate("inventory.import.rejected", lang, count=len(report.problems)))
    click.echo(translate("inventory.import.done", lang, rows=report.rows, created=report.created,
                         updated=report.updated, price_changes=report.price_changes, unchanged=report.unchanged,
                         levels_set=report.levels_set, skipped=len(report.problems)))


@catalog_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--store", "store_code", default=None, help="Shop code: write that shop's reorder levels.")
@click.option("--include-inactive", is_flag=True, help="Also products taken off sale.")
def export_command(file: str, store_code: str | None, include_inactive: bool) -> None:
    """Export the catalogue as CSV in the import's format (UTF-8 with a BOM, so Excel shows the Chinese)."""
    def work(session: Session) -> int:
        store_id = get_store_by_code(session, store_code).id if store_code else None
        if file == "-":
            return catalog.export_catalog(session, sys.stdout, store_id=store_id, include_inactive=include_inactive)
        with open(file, "w", encoding="utf-8-sig", newline="") as out:
            return catalog.export_catalog(session, out, store_id=store_id, include_inactive=include_inactive)

    count = _run(work)
    if file != "-":
        click.echo(translate("inventory.export.done", _lang(), count=count, file=file))


@click.group("stock")
def stock_group() -> None:
    """Stock per shop."""


@stock_group.command("list")
@click.option("--store", "store_code", required=True, help="Shop code.")
@click.option("--low", is_flag=True, help="Only products under their reorder level.")
def list_command(store_code: str, low: bool) -> None:
    """A shop's stock levels, tab-separated, and what the stock is worth in points."""
    lang = _lang()

    def work(session: Session) -> tuple[list[stock.LevelView], stock.StockValue]:
        store = get_store_by_code(session, store_code)
        return stock.stock_levels(session, store.id, low_only=low), stock.stock_value(session, store.id)

    levels, worth = _run(work)
    click.echo(translate("inventory.stock.header", lang))
    low_word = translate("inventory.stock.low", lang)
    for level in levels:
        click.echo("\t".join(str(v) for v in (level.barcode, level.name, level.unit, level.qty, level.reorder_level,
                                              level.points_price, low_word if level.low else "")))
    click.echo(translate("inventory.stock.summary", lang, products=len(levels),
                         low=sum(1 for level in levels if level.low), points=worth.points))


@stock_group.command("check")
@click.option("--store", "store_code", default=None, help="Shop code (default: every shop).")
def check_command(store_code: str | None) -> None:
    """Prove every cached level equals the sum of its movements; exit 1 naming each one that does not."""
    lang = _lang()

    def work(session: Session) -> list[stock.LevelProblem]:
        store_id = get_store_by_code(session, store_code).id if store_code else None
        return stock.check_levels(session, store_id)

    problems = _run(work)
    for p in problems:
        click.echo(translate("inventory.check.problem", lang, store_id=p.store_id, product_id=p.product_id,
                             what=p.what, expected=p.expected, found=p.found), err=True)
    if problems:
        sys.exit(1)
    click.echo(translate("inventory.check.ok", lang))


@stock_group.command("settings")
@click.option("--store", "store_code", required=True, help="Shop code.")
@click.option("--allow-negative/--no-allow-negative", required=True, help="May the shop's stock go below zero?")
def settings_command(store_code: str, allow_negative: bool) -> None:
    """A shop's stock policy."""
    def work(session: Session) -> None:
        stock.set_negative_stock_allowed(session, get_store_by_code(session, store_code).id, allow_negative)

    _run(work)
    click.echo(translate("inventory.settings.done", _lang(), store=store_code, allowed=allow_negative))


def register(main: click.Group) -> None:
    main.add_command(catalog_group)
    main.add_command(stock_group)


# ---- demo --------------------------------------------------------------------------------------------------

def load_demo_catalog(session: Session, logins: list[tuple[str, str, str, str]]) -> None:
    """The sample catalogue with each demo shop's reorder levels, and opening stock received in every shop:
    most goods stocked, about one in ten left at zero so the low-stock list has something to show."""
    data = resources.files("pos").joinpath("demo_data", "catalog.csv").read_bytes()
    rows, problems = catalog.parse_catalog(catalog.decode_catalog(data))
    if problems:
        raise RuntimeError(f"the demo catalogue has bad rows: {[str(p) for p in problems]}")
    for store in session.scalars(select(Store).order_by(Store.code)):
        catalog.import_rows(session, rows, store_id=store.id, actor="demo")
        chance = random.Random(store.code)  # the same demo every time
        lines = [(row.barcode, chance.randint(1, 3) * max(row.reorder_level or 0, 5) + chance.randint(0, 9))
                 for row in rows if chance.random() > 0.1]
        stock.receive(session, store.id, lines, ref=f"receipt:demo-opening-{store.code}", actor="demo",
                      note="开业库存 / opening stock")
