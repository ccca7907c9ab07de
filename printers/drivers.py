"""Printers chosen by URL, built on python-escpos's printer classes.

    tcp://HOST[:PORT]            raw port (9100), connect/send/read timeout of a few seconds
    usb://VID:PID                hex ids, e.g. usb://0416:5011 (needs pyusb and libusb)
    serial:///dev/ttyUSB0?baudrate=9600
    file:///var/spool/receipts   one file per job in that directory (file://instance/receipts is relative)
    cups://QUEUE                 a raw CUPS queue (pycups when installed, else the `lp` command)
    dummy://                     discards the bytes (tests, a shop without a printer)

Query options on any URL: `native_qr=1`, `native_barcode=1` (use the printer's own QR/barcode commands instead of
raster images), `timeout=SECONDS`. tcp also takes `confirm=0` for printers that do not answer status requests.

A send either succeeds, or raises `PrinterUnavailable` (nothing was printed: safe to retry) or `PrintUncertain`
(the printer took some or all of the job and then failed: retrying could print it twice, so a person decides).
Status is read with timeouts; a printer that does not answer is "unknown", never "ok".
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from escpos.constants import RT_STATUS_ONLINE, RT_STATUS_PAPER
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import LP, CupsPrinter, Dummy, File, Network, Serial, Usb

from printers.render import PrinterOptions

SCHEMES = ("tcp", "usb", "serial", "file", "cups", "dummy")
DEFAULT_TIMEOUT = 5.0  # seconds; python-escpos's Network default of 60 s would stall a shop's queue
MAX_TIMEOUT = 30.0
OFFLINE_BIT = 0x08  # DLE EOT 1: bit 3 set = offline (paper out, cover open, feeding)
PAPER_NEAR_END = 0x0C  # DLE EOT 4: bits 2-3
PAPER_END = 0x60  # DLE EOT 4: bits 5-6
FIXED_BITS_MASK, FIXED_BITS = 0x93, 0x12  # bits 1 and 4 are always 1, bits 0 and 7 always 0 in a status byte


class PrinterError(Exception):
    """A job did not print. `retryable` says whether sending it again is safe."""

    retryable = True


class PrinterUnavailable(PrinterError):
    """Nothing of the job was printed (no connection, no answer, offline before sending)."""


class PrintUncertain(PrinterError):
    """The printer took some or all of the job, then failed or stopped answering: it may have printed."""

    retryable = False


@dataclass(frozen=True)
class PrinterUrl:
    url: str
    scheme: str
    host: str = ""
    port: int = 0
    path: str = ""
    name: str = ""
    vendor_id: int = 0
    product_id: int = 0
    baudrate: int = 9600
    in_ep: int = 0x82
    out_ep: int = 0x01
    timeout: float = DEFAULT_TIMEOUT
    confirm: bool = True
    options: PrinterOptions = field(default_factory=PrinterOptions)


_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
_ALLOWED = {
    "tcp": {"timeout", "confirm"},
    "usb": {"timeout", "in_ep", "out_ep"},
    "serial": {"timeout", "baudrate"},
    "file": set(),
    "cups": set(),
    "dummy": set(),
}


def parse_printer_url(url: str) -> PrinterUrl:
    """Parse and check a printer URL; raises ValueError saying what is wrong."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"printer URL {url!r}: the scheme must be one of {', '.join(SCHEMES)}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(query) - _ALLOWED[scheme] - {"native_qr", "native_barcode"}
    if unknown:
        raise ValueError(f"printer URL {url!r}: unknown option(s) {', '.join(sorted(unknown))}")

    def flag(key: str, default: bool) -> bool:
        if key not in query:
            return default
        try:
            return _BOOL[query[key].lower()]
        except KeyError:
            raise ValueError(f"printer URL {url!r}: {key} must be 1 or 0") from None

    def number(key: str, default: int, base: int = 10) -> int:
        try:
            return int(query[key], base) if key in query else default
        except ValueError:
            raise ValueError(f"printer URL {url!r}: {key} must be a number") from None

    try:
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise ValueError(f"printer URL {url!r}: timeout must be a number of seconds") from None
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ValueError(f"printer URL {url!r}: timeout must be between 0 and {MAX_TIMEOUT:g} seconds")
    common: dict[str, Any] = {
        "url": url.strip(),
        "scheme": scheme,
        "timeout": timeout,
        "options": PrinterOptions(native_qr=flag("native_qr", False), native_barcode=flag("native_barcode", False)),
    }
    if scheme == "tcp":
        if not parts.hostname:
            raise ValueError(f"printer URL {url!r}: tcp needs a host, e.g. tcp://192.168.1.50:9100")
        try:
            port = parts.port or 9100
        except ValueError:
            raise ValueError(f"printer URL {url!r}: the port must be a number up to 65535") from None
        return PrinterUrl(host=parts.hostname, port=port, confirm=flag("confirm", True), **common)
    if scheme == "usb":
        match = re.fullmatch(r"(?:0x)?([0-9a-fA-F]{1,4}):(?:0x)?([0-9a-fA-F]{1,4})", parts.netloc)
        if not match:
            raise ValueError(f"printer URL {url!r}: usb needs VID:PID in hex, e.g. usb://0416:5011")
        return PrinterUrl(vendor_id=int(match[1], 16), product_id=int(match[2], 16),
                          in_ep=number("in_ep", 0x82, 0), out_ep=number("out_ep", 0x01, 0), **common)
    if scheme == "serial":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ValueError(f"printer URL {url!r}: serial needs a device, e.g. serial:///dev/ttyUSB0")
        baudrate = number("baudrate", 9600)
        if baudrate <= 0:
            raise ValueError(f"printer URL {url!r}: baudrate must be positive")
        return PrinterUrl(path=path, baudrate=baudrate, **common)
    if scheme == "file":
        path = unquote(parts.netloc + parts.path)  # file://instance/receipts is the relative path instance/receipts
        if not path:
            raise ValueError(f"printer URL {url!r}: file needs a directory, e.g. file:///var/spool/creditmart")
        return PrinterUrl(path=path, **common)
    if scheme == "cups":
        name = unquote(parts.netloc + parts.path).strip("/")
        if not name:
            raise ValueError(f"printer URL {url!r}: cups needs a queue name, e.g. cups://receipt")
        return PrinterUrl(name=name, **common)
    return PrinterUrl(name=unquote(parts.netloc + parts.path), **common)


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said. `online`/`paper` are None/"unknown" when it did not answer."""

    printer: str
    online: bool | None
    paper: Literal["ok", "low", "out", "unknown"] = "unknown"
    detail: str = ""
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def state(self) -> str:
        if self.online is None:
            return "unknown"
        if self.online is False:
            return "paper_out" if self.paper == "out" else "offline"
        return {"ok": "ok", "low": "paper_low", "out": "paper_out"}.get(self.paper, "online")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checked_at"] = self.checked_at.isoformat()
        data["state"] = self.state
        return data


def paper_from_status(byte: int | None) -> Literal["ok", "low", "out", "unknown"]:
    if byte is None or byte & FIXED_BITS_MASK != FIXED_BITS:
        return "unknown"
    if byte & PAPER_END:
        return "out"
    return "low" if byte & PAPER_NEAR_END else "ok"


def online_from_status(byte: int | None) -> bool | None:
    if byte is None or byte & FIXED_BITS_MASK != FIXED_BITS:
        return None
    return not byte & OFFLINE_BIT


class Driver(ABC):
    """One printer. Each job opens the device, sends, and closes: a raw port serves one client at a time."""

    def __init__(self, url: PrinterUrl) -> None:
        self.url = url

    @property
    def options(self) -> PrinterOptions:
        return self.url.options

    @abstractmethod
    def make_printer(self) -> Escpos:
        """The python-escpos printer object for one job (not yet opened)."""

    def send(self, payload: bytes, job_name: str = "creditmart") -> None:
        printer = self.make_printer()
        try:
            self._open(printer, job_name)
            try:
                printer._raw(payload)
            except Exception as exc:
                raise PrintUncertain(f"sending to the printer failed part-way: {exc}") from exc
        finally:
            _close_quietly(printer)

    def _open(self, printer: Escpos, job_name: str) -> None:
        try:
            printer.open()
        except (DeviceNotFoundError, OSError, RuntimeError) as exc:
            raise PrinterUnavailable(f"cannot open the printer: {_first_line(exc)}") from exc

    def status(self) -> PrinterStatus:
        """Asks the device (online, paper) where python-escpos can read it back; unknown otherwise."""
        printer = self.make_printer()
        try:
            try:
                printer.open()
            except (DeviceNotFoundError, OSError, RuntimeError) as exc:
                return PrinterStatus(self.url.url, online=False, detail=f"cannot open: {_first_line(exc)}")
            online = online_from_status(_status_byte(printer, RT_STATUS_ONLINE))
            paper = paper_from_status(_status_byte(printer, RT_STATUS_PAPER)) if online is not None else "unknown"
            detail = "" if online is not None else "the printer did not answer the status request"
            return PrinterStatus(self.url.url, online=online, paper=paper, detail=detail)
        finally:
            _close_quietly(printer)


def _status_byte(printer: Escpos, request: bytes) -> int | None:
    try:
        answer = printer.query_status(request)
    except Exception:  # a read timeout, a closed connection, a driver that cannot read: no answer
        return None
    return answer[-1] if answer else None


def _close_quietly(printer: Escpos) -> None:
    try:
        printer.close()
    except Exception:  # closing after a failure must not hide the failure
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:300]


class _Network(Network):  # type: ignore[misc]
    """python-escpos's Network printer, connecting with `socket.create_connection`, which closes the socket when
    the connection fails (the library's own open() leaves it to the garbage collector)."""

    def open(self, raise_not_found: bool = True) -> None:
        if self._device:
            self.close()
        try:
            self.device = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            self.device = None
            raise DeviceNotFoundError(f"Could not open socket for {self.host}: {exc}") from exc


class TcpDriver(Driver):
    """A raw TCP port (9100). Before sending, asks the printer for its status (DLE EOT 1): a printer that accepted
    the connection but does not read (busy with another client, hung) gives no answer within the timeout and the
    job stays queued, with nothing sent. Afterwards it asks again, to know the job went through."""

    def make_printer(self) -> Network:
        return _Network(host=self.url.host, port=self.url.port, timeout=self.url.timeout)

    def send(self, payload: bytes, job_name: str = "creditmart") -> None:
        printer = self.make_printer()
        try:
            self._open(printer, job_name)
            if self.url.confirm:
                self._check_ready(printer)
            try:
                printer._raw(payload)
            except OSError as exc:
                raise PrintUncertain(f"the connection failed while sending: {_first_line(exc)}") from exc
            if self.url.confirm:
                after = _status_byte(printer, RT_STATUS_ONLINE)
                if after is None:
                    raise PrintUncertain(f"sent, but the printer stopped answering within {self.url.timeout:g} s")
                if online_from_status(after) is False:
                    raise PrintUncertain("sent, but the printer went offline (paper out or cover open?)")
        finally:
            _close_quietly(printer)

    def _open(self, printer: Escpos, job_name: str) -> None:
        try:
            printer.open()
        except DeviceNotFoundError as exc:
            cause = exc.__context__ or exc
            raise PrinterUnavailable(
                f"cannot connect to {self.url.host}:{self.url.port}: {_first_line(cause)}") from exc

    def _check_ready(self, printer: Escpos) -> None:
        online = online_from_status(_status_byte(printer, RT_STATUS_ONLINE))
        if online is None:
            raise PrinterUnavailable(f"connected to {self.url.host}:{self.url.port} but the printer did not answer "
                                     f"within {self.url.timeout:g} s (busy with another client, or not reading)")
        if not online:
            paper = paper_from_status(_status_byte(printer, RT_STATUS_PAPER))
            raise PrinterUnavailable("the printer is out of paper" if paper == "out"
                                     else "the printer is offline (cover open or paper out?)")

    def status(self) -> PrinterStatus:
        printer = self.make_printer()
        try:
            try:
                printer.open()
            except DeviceNotFoundError as exc:
                cause = exc.__context__ or exc
                if isinstance(cause, ConnectionRefusedError):
                    return PrinterStatus(self.url.url, online=False, detail="connection refused")
                return PrinterStatus(self.url.url, online=None, detail=f"no connection: {_first_line(cause)}")
            online = online_from_status(_status_byte(printer, RT_STATUS_ONLINE))
            if online is None:
                return PrinterStatus(self.url.url, online=None,
                                     detail=f"connected, but no status answer within {self.url.timeout:g} s")
            paper = paper_from_status(_status_byte(printer, RT_STATUS_PAPER))
            return PrinterStatus(self.url.url, online=online, paper=paper)
        finally:
            _close_quietly(printer)


class UsbDriver(Driver):
    def make_printer(self) -> Usb:
        return Usb(idVendor=self.url.vendor_id, idProduct=self.url.product_id,
                   timeout=int(self.url.timeout * 1000), in_ep=self.url.in_ep, out_ep=self.url.out_ep)


class SerialDriver(Driver):
    def make_printer(self) -> Serial:
        return Serial(devfile=self.url.path, baudrate=self.url.baudrate, timeout=self.url.timeout)


class CupsDriver(Driver):
    """A raw CUPS queue: through pycups when it is installed, else through CUPS's own `lp` command."""

    def make_printer(self) -> Escpos:
        if CupsPrinter.is_usable():
            return CupsPrinter(printer_name=self.url.name)
        return LP(printer_name=self.url.name)

    def _open(self, printer: Escpos, job_name: str) -> None:
        try:
            printer.open(job_name=job_name)
        except (DeviceNotFoundError, OSError, RuntimeError) as exc:
            raise PrinterUnavailable(f"cannot start a CUPS job on {self.url.name!r}: {_first_line(exc)}") from exc

    def status(self) -> PrinterStatus:
        return PrinterStatus(self.url.url, online=None, detail="a CUPS queue does not report paper or online state")


class FileDriver(Driver):
    """Writes each job to its own file in a directory (the demo's "printer", or a spool another program reads).
    The file appears complete or not at all: written under a temporary name, then renamed."""

    @property
    def directory(self) -> Path:
        return Path(self.url.path)

    def make_printer(self) -> File:
        return File(devfile=os.devnull)

    def send(self, payload: bytes, job_name: str = "creditmart") -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".partial-")
            os.close(handle)
        except OSError as exc:
            raise PrinterUnavailable(f"cannot write in {self.directory}: {_first_line(exc)}") from exc
        printer = File(devfile=temporary)
        try:
            self._open(printer, job_name)
            printer._raw(payload)
            _close_quietly(printer)
            os.replace(temporary, self._target(job_name))
        except OSError as exc:
            raise PrinterUnavailable(f"cannot write the job in {self.directory}: {_first_line(exc)}") from exc
        finally:
            _close_quietly(printer)
            if os.path.exists(temporary):
                os.unlink(temporary)

    def _target(self, job_name: str) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", job_name)[:100] or "job"
        target = self.directory / f"{stamp}-{safe}.escpos"
        counter = 1
        while target.exists():
            target = self.directory / f"{stamp}-{safe}-{counter}.escpos"
            counter += 1
        return target

    def status(self) -> PrinterStatus:
        directory = self.directory
        if directory.is_dir() and os.access(directory, os.W_OK):
            return PrinterStatus(self.url.url, online=True, detail=f"writes each job to a file in {directory}")
        parent = _existing_parent(directory)
        if not directory.exists() and parent.is_dir() and os.access(parent, os.W_OK):
            return PrinterStatus(self.url.url, online=True, detail=f"will create {directory} on the first job")
        return PrinterStatus(self.url.url, online=False, detail=f"cannot write in {directory}")


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class DummyDriver(Driver):
    """Takes every job and keeps nothing but the last few payloads (for inspection in a shell)."""

    keep = 20

    def __init__(self, url: PrinterUrl) -> None:
        super().__init__(url)
        self.sent: list[bytes] = []

    def make_printer(self) -> Dummy:
        return Dummy()

    def send(self, payload: bytes, job_name: str = "creditmart") -> None:
        printer = self.make_printer()
        printer._raw(payload)
        self.sent = [*self.sent[-(self.keep - 1):], printer.output]

    def status(self) -> PrinterStatus:
        return PrinterStatus(self.url.url, online=None, detail="dummy printer: nothing to ask")


DRIVERS: dict[str, type[Driver]] = {
    "tcp": TcpDriver,
    "usb": UsbDriver,
    "serial": SerialDriver,
    "file": FileDriver,
    "cups": CupsDriver,
    "dummy": DummyDriver,
}


def open_driver(url: str | PrinterUrl) -> Driver:
    """The driver for a printer URL (nothing is opened until a job is sent or the status is asked)."""
    parsed = url if isinstance(url, PrinterUrl) else parse_printer_url(url)
    return DRIVERS[parsed.scheme](parsed)


def printer_options(url: str) -> PrinterOptions:
    return parse_printer_url(url).options


def printer_status(url: str, timeout: float | None = None) -> PrinterStatus:
    """Asks the printer, waiting at most `timeout` seconds per question (default: the URL's own timeout)."""
    parsed = parse_printer_url(url)
    if timeout is not None:
        parsed = replace(parsed, timeout=min(parsed.timeout, timeout))
    return open_driver(parsed).status()


def send_to_printer(url: str, payload: bytes, job_name: str = "creditmart") -> None:
    open_driver(url).send(payload, job_name)
