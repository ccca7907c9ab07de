"""Catalogue import and export, in Python and through `creditmart catalog ...` / `creditmart stock ...`."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import UnitOfWork
from inventory import catalog, products, stock
from inventory.models import Product, ProductPrice, StockLevel, StockMovement
from pos.cli import main
from tests.support import store_id

SAMPLE = Path(__file__).resolve().parents[2] / "pos" / "demo_data" / "catalog.csv"
HEADER = "barcode,name,category,points_price,unit,reorder_level\n"
GOOD = HEADER + "6920244418529,大豆油 5L,粮油,70,桶,5\n96385074,肥皂,日化,5,块,10\n"
BAD = GOOD + "6920244418528,花生油,粮油,45,桶,10\n4006381333931,,粮油,25,袋,5\n036000291452,饼干,食品,8,袋,3\n"


def counts(uow: UnitOfWork) -> tuple[int, ...]:
    return uow.read(lambda s: tuple(s.scalar(select(func.count()).select_from(m))
                                    for m in (Product, ProductPrice, StockLevel, StockMovement)))


def test_importing_the_sample_catalogue_for_a_shop(uow: UnitOfWork) -> None:
    def work(session: Session) -> catalog.ImportReport:
        return catalog.import_catalog(session, SAMPLE.read_bytes(), store_id=store_id(session, "DSC"), actor="t")

    report = uow.run(work)
    assert (report.ok, report.imported, report.created, report.levels_set) == (True, True, 40, 40)
    assert counts(uow) == (40, 40, 40, 0)  # products, first prices, the shop's levels; no stock moved

    def oil(session: Session) -> tuple:
        found = stock.lookup(session, "6920244418529", store_id(session, "DSC"))
        assert found is not None
        return found.product.name, found.product.points_price, found.product.unit, found.qty, found.reorder_level

    assert uow.read(oil) == ("大豆油 5L", 70, "桶", 0, 5)


def test_a_file_with_bad_rows_imports_nothing_and_reports_every_one(uow: UnitOfWork) -> None:
    report = uow.run(lambda s: catalog.import_catalog(s, BAD, store_id=store_id(s, "DSC"), actor="t"))
    assert not report.imported
    assert [(p.line, p.column, p.reason) for p in report.problems] == [(4, "barcode", "check_digit"),
                                                                       (5, "name", "empty")]
    assert counts(uow) == (0, 0, 0, 0)


def test_partial_imports_the_good_rows_and_still_reports_the_bad(uow: UnitOfWork) -> None:
    report = uow.run(lambda s: catalog.import_catalog(s, BAD, store_id=store_id(s, "DSC"), actor="t",
                                                      partial=True))
    assert report.imported and report.created == 3 and len(report.problems) == 2
    assert uow.read(lambda s: products.get_product(s, "036000291452").barcode) == "0036000291452"


def test_reimport_updates_products_keeps_price_history_and_sets_another_shops_levels(uow: UnitOfWork) -> None:
    uow.run(lambda s: catalog.import_catalog(s, GOOD, store_id=store_id(s, "DSC"), actor="t"))
    changed = HEADER + "6920244418529,大豆油 5L,粮油,75,桶,8\n96385074,肥皂,日化,5,块,\n"
    report = uow.run(lambda s: catalog.import_catalog(s, changed, store_id=store_id(s, "XHC"), actor="t"))
    assert (report.created, report.updated, report.unchanged, report.price_changes, report.levels_set) == (
        0, 1, 1, 1, 2)

    def state(session: Session) -> tuple:
        oil = products.get_product(session, "6920244418529")
        history = [p.points_price for p in products.price_history(session, oil.id)]
        levels = {code: stock.level_of(session, store_id(session, code), oil.id)[1] for code in ("DSC", "XHC")}
        return oil.points_price, history, levels

    assert uow.read(state) == (75, [70, 75], {"DSC": 5, "XHC": 8})
    # An empty reorder_level leaves a shop's level alone.
    again = HEADER + "6920244418529,大豆油 5L,粮油,75,桶,\n"
    uow.run(lambda s: catalog.import_catalog(s, again, store_id=store_id(s, "XHC"), actor="t"))
    assert uow.read(state)[2] == {"DSC": 5, "XHC": 8}


def test_export_then_import_is_the_same_catalogue(uow: UnitOfWork) -> None:
    uow.run(lambda s: catalog.import_catalog(s, SAMPLE.read_bytes(), store_id=store_id(s, "DSC"), actor="t"))
    out = io.StringIO()
    written = uow.read(lambda s: catalog.export_catalog(s, out, store_id=store_id(s, "DSC")))
    assert written == 40
    exported, problems = catalog.parse_catalog(out.getvalue())
    original, _ = catalog.parse_catalog(catalog.decode_catalog(SAMPLE.read_bytes()))
    assert problems == []

    def key(row: catalog.CatalogRow) -> tuple:
        return row.barcode, row.name, row.category, row.points_price, row.unit, row.reorder_level

    assert sorted(map(key, exported)) == sorted(map(key, original))


# ---- the command line --------------------------------------------------------------------------------------

def test_cli_import_list_export_check(runner: CliRunner, uow: UnitOfWork, tmp_path: Path) -> None:
    result = runner.invoke(main, ["catalog", "import", str(SAMPLE), "--store", "DSC"], env={"LANG": "en_US.UTF-8"})
    assert result.exit_code == 0, result.output
    assert "40 new" in result.output

    uow.run(lambda s: stock.receive(s, store_id(s, "DSC"), [("6920244418529", 2), ("6986726428486", 30)],
                                    ref="receipt:1", actor="t"))
    listed = runner.invoke(main, ["stock", "list", "--store", "DSC", "--low"], env={"LANG": "zh_CN.UTF-8"})
    assert listed.exit_code == 0, listed.output
    rows = [line.split("\t") for line in listed.output.splitlines()[1:-1]]
    assert ["6920244418529", "大豆油 5L", "桶", "2", "5", "70", "低库存"] in rows
    assert all(row[0] != "6986726428486" for row in rows)  # 30 of reorder level 10 is not low
    assert "库存价值 1490 积分" in listed.output  # 2×70 + 30×45

    target = tmp_path / "out.csv"
    exported = runner.invoke(main, ["catalog", "export", str(target), "--store", "DSC"])
    assert exported.exit_code == 0, exported.output
    assert target.read_bytes().startswith(b"\xef\xbb\xbf" + HEADER.encode())  # BOM: Excel shows the Chinese
    assert len(catalog.parse_catalog(catalog.decode_catalog(target.read_bytes()))[0]) == 40

    checked = runner.invoke(main, ["stock", "check"])
    assert checked.exit_code == 0, checked.output


def test_cli_import_of_a_bad_file_exits_1_naming_each_line(runner: CliRunner, uow: UnitOfWork,
                                                          tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    result = runner.invoke(main, ["catalog", "import", str(bad), "--store", "DSC"], env={"LANG": "en_US.UTF-8"})
    assert result.exit_code == 1
    assert "line 4, barcode: barcode 6920244418528 has a wrong check digit; it should be 9" in result.output
    assert "line 5, name: is empty" in result.output
    assert "nothing imported" in result.output
    assert counts(uow) == (0, 0, 0, 0)

    partial = runner.invoke(main, ["catalog", "import", str(bad), "--store", "DSC", "--partial"],
                            env={"LANG": "en_US.UTF-8"})
    assert partial.exit_code == 0, partial.output
    assert "line 4" in partial.output and "3 new" in partial.output and "2 bad rows skipped" in partial.output
    assert counts(uow)[0] == 3


def test_cli_unknown_shop_and_negative_stock_setting(runner: CliRunner, uow: UnitOfWork) -> None:
    result = runner.invoke(main, ["catalog", "import", str(SAMPLE), "--store", "NOPE"])
    assert result.exit_code == 1 and "not_found" in result.output
    assert counts(uow) == (0, 0, 0, 0)
    result = runner.invoke(main, ["stock", "settings", "--store", "DSC", "--allow-negative"])
    assert result.exit_code == 0, result.output
    assert uow.read(lambda s: stock.negative_stock_allowed(s, store_id(s, "DSC")))
