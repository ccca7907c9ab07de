"""`creditmart printer test|status` against real (fake) printers."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pos.cli import main
from tests.escpos_decoder import FakePrinter, assert_prints_well, free_port


def test_printer_test_prints_a_chinese_test_page(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["printer", "test", "--printer", f"file://{tmp_path}", "--width", "80",
                                       "--store-name", "东山村信用超市"])
    assert result.exit_code == 0, result.output
    [page] = list(tmp_path.iterdir())
    doc = assert_prints_well(page.read_bytes(), 80, expected=["打印测试页", "东山村信用超市", "标点：，。："])
    assert any(line.columns == 48 for line in doc.lines)  # the ruler spans the whole 80 mm line


def test_printer_test_over_tcp_and_when_the_printer_is_down() -> None:
    with FakePrinter() as printer:
        result = CliRunner().invoke(main, ["printer", "test", "--printer", printer.url])
        assert result.exit_code == 0, result.output
        assert_prints_well(printer.wait_for_jobs(1)[0].replace(b"\x10\x04\x01", b""), 58, expected=["TEST PAGE"])
    down = CliRunner().invoke(main, ["printer", "test", "--printer", f"tcp://127.0.0.1:{free_port()}"])
    assert down.exit_code == 1 and "did not print" in down.output
    bad = CliRunner().invoke(main, ["printer", "test", "--printer", "lpt://1"])
    assert bad.exit_code == 1 and "scheme" in bad.output


def test_printer_status_says_what_the_printer_said() -> None:
    with FakePrinter(paper="low") as printer:
        result = CliRunner().invoke(main, ["printer", "status", "--printer", printer.url])
    assert result.exit_code == 1 and "paper_low" in result.output
    with FakePrinter() as printer:
        result = CliRunner().invoke(main, ["printer", "status"], env={"CREDITMART_PRINTER": printer.url})
    assert result.exit_code == 0 and ": ok" in result.output
    unknown = CliRunner().invoke(main, ["printer", "status", "--printer", "dummy://"])
    assert unknown.exit_code == 1 and "unknown" in unknown.output
