"""Printer URLs, the drivers python-escpos gives us, and real sends to fake printers on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from escpos.printer import LP, CupsPrinter, Dummy, Network, Serial, Usb

from printers.drivers import (
    CupsDriver,
    DummyDriver,
    FileDriver,
    PrinterUnavailable,
    PrintUncertain,
    SerialDriver,
    TcpDriver,
    UsbDriver,
    open_driver,
    parse_printer_url,
    printer_status,
)
from printers.render import PrinterOptions
from tests.escpos_decoder import FakePrinter, SilentPrinter, decode, free_port

PAYLOAD = b"\x1b@\x1c&" + "小票，测试：￥1.00\n".encode("gb18030")


def test_tcp_url_has_a_short_timeout_and_the_default_port() -> None:
    url = parse_printer_url("tcp://192.168.1.50")
    assert (url.host, url.port, url.timeout, url.confirm) == ("192.168.1.50", 9100, 5.0, True)
    driver = open_driver("tcp://printer.local:9101?timeout=2.5&confirm=0&native_qr=1")
    assert isinstance(driver, TcpDriver)
    printer = driver.make_printer()
    assert isinstance(printer, Network)
    assert (printer.host, printer.port, printer.timeout) == ("printer.local", 9101, 2.5)  # never escpos's 60 s
    assert driver.options == PrinterOptions(native_qr=True, native_barcode=False)
    assert driver.url.confirm is False


def test_usb_url_takes_hex_ids() -> None:
    driver = open_driver("usb://0416:5011?out_ep=0x03")
    assert isinstance(driver, UsbDriver)
    printer = driver.make_printer()
    assert isinstance(printer, Usb)
    assert printer.usb_args == {"idVendor": 0x0416, "idProduct": 0x5011}
    assert (printer.out_ep, printer.in_ep, printer.timeout) == (0x03, 0x82, 5000)
    assert parse_printer_url("usb://0x04b8:0x0202").vendor_id == 0x04B8


def test_serial_url_takes_the_device_and_baudrate() -> None:
    driver = open_driver("serial:///dev/ttyUSB0?baudrate=19200")
    assert isinstance(driver, SerialDriver)
    printer = driver.make_printer()
    assert isinstance(printer, Serial)
    assert (printer.devfile, printer.baudrate, printer.timeout) == ("/dev/ttyUSB0", 19200, 5.0)
    assert parse_printer_url("serial:///dev/ttyS0").baudrate == 9600


def test_cups_url_names_the_queue() -> None:
    driver = open_driver("cups://receipt-58")
    assert isinstance(driver, CupsDriver)
    printer = driver.make_printer()
    assert isinstance(printer, (CupsPrinter, LP))
    assert printer.printer_name == "receipt-58"
    assert driver.status().state == "unknown"


def test_file_and_dummy_urls() -> None:
    assert parse_printer_url("file://instance/receipts").path == "instance/receipts"  # relative, as in the demo
    assert parse_printer_url("file:///var/spool/cm").path == "/var/spool/cm"
    assert isinstance(open_driver("file:///tmp/x"), FileDriver)
    dummy = open_driver("dummy://")
    assert isinstance(dummy, DummyDriver) and isinstance(dummy.make_printer(), Dummy)
    dummy.send(PAYLOAD)
    assert dummy.sent == [PAYLOAD]
    assert dummy.status().state == "unknown"  # nothing answered, so not "ok"


@pytest.mark.parametrize("url, message", [
    ("lpt://1", "scheme"),
    ("tcp://", "needs a host"),
    ("tcp://host:99999", "port"),
    ("tcp://host?timeout=600", "timeout"),
    ("tcp://host?timeout=soon", "timeout"),
    ("tcp://host?native_qr=maybe", "native_qr"),
    ("tcp://host?baudrate=9600", "unknown option"),
    ("usb://epson", "VID:PID"),
    ("serial://", "device"),
    ("serial:///dev/ttyS0?baudrate=fast", "baudrate"),
    ("file://", "directory"),
    ("cups://", "queue name"),
])
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_printer_url(url)


def test_file_printer_writes_one_complete_file_per_job(tmp_path: Path) -> None:
    driver = open_driver(f"file://{tmp_path}/spool")
    assert driver.status().online is True
    driver.send(PAYLOAD, "creditmart-receipt-1")
    driver.send(PAYLOAD + b"2", "creditmart-receipt-2")
    files = sorted((tmp_path / "spool").iterdir())
    assert [f.read_bytes() for f in files] == [PAYLOAD, PAYLOAD + b"2"]
    assert all(f.name.endswith(".escpos") and "creditmart-receipt-" in f.name for f in files)


def test_file_printer_that_cannot_write_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    driver = open_driver(f"file://{blocker}/spool")
    with pytest.raises(PrinterUnavailable):
        driver.send(PAYLOAD)
    assert driver.status().online is False


def test_tcp_send_reaches_the_printer_after_a_status_check() -> None:
    with FakePrinter() as printer:
        open_driver(printer.url).send(PAYLOAD)
        [job] = printer.wait_for_jobs(1)
    doc = decode(job)
    assert doc.commands[0] == "DLE EOT 1" and doc.commands[-1] == "DLE EOT 1"  # asked before and after
    assert "小票，测试：￥1.00" in doc.text


def test_tcp_status_reads_online_and_paper() -> None:
    with FakePrinter(paper="ok") as printer:
        status = printer_status(printer.url)
        assert (status.online, status.paper, status.state) == (True, "ok", "ok")
        printer.paper = "low"
        assert printer_status(printer.url).state == "paper_low"
        printer.paper = "out"
        assert printer_status(printer.url).state == "paper_out"


def test_tcp_printer_out_of_paper_gets_nothing() -> None:
    with FakePrinter(paper="out") as printer:
        with pytest.raises(PrinterUnavailable, match="out of paper"):
            open_driver(printer.url).send(PAYLOAD)
        printer.wait_for_jobs(0)
        assert printer.jobs == []  # only the status requests went over the wire


def test_tcp_refused_connection_is_unavailable_and_offline() -> None:
    url = f"tcp://127.0.0.1:{free_port()}?timeout=2"
    with pytest.raises(PrinterUnavailable, match="cannot connect.*refused"):
        open_driver(url).send(PAYLOAD)
    status = printer_status(url)
    assert (status.online, status.state) == (False, "offline")


def test_tcp_printer_that_never_reads_is_unavailable_and_status_unknown() -> None:
    with SilentPrinter() as silent:
        url = f"tcp://127.0.0.1:{silent.port}?timeout=0.3"
        with pytest.raises(PrinterUnavailable, match="did not answer"):
            open_driver(url).send(PAYLOAD)
        status = printer_status(url)
        assert (status.online, status.state) == (None, "unknown")  # no answer is never "ok"


def test_tcp_without_status_support_just_sends() -> None:
    with SilentPrinter() as silent:
        open_driver(f"tcp://127.0.0.1:{silent.port}?timeout=0.3&confirm=0").send(PAYLOAD)  # fits the buffers


def test_a_printer_that_takes_part_of_a_job_then_stops_is_uncertain() -> None:
    with SilentPrinter() as silent:
        driver = open_driver(f"tcp://127.0.0.1:{silent.port}?timeout=0.3&confirm=0")
        with pytest.raises(PrintUncertain):
            driver.send(b"\x00" * 64 * 1024 * 1024)  # more than the socket buffers hold: the send times out
