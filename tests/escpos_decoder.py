"""Test-side ESC/POS tools, written independently of `printers/`: a decoder that turns bytes back into printed
lines, and fake raw-port (9100) printers on 127.0.0.1.

The decoder reads the byte stream as a Chinese thermal printer would: GB18030 multi-byte characters only in Chinese
mode (FS &), which a reset (ESC @) turns off; GS ! for size; ESC a, ESC E, GS B, ESC M for style; GS v 0 raster
images; GS ( k / GS k native codes; GS V cut. Widths are counted in dots from the bytes themselves (an ASCII byte is
a 12-dot cell in font A, 9 in font B; a multi-byte character 24), times the GS ! width, so a line "fits" when it
fits the paper's dots. Anything it does not understand is reported in `problems`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

ESC, GS, FS, DLE, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x0A
PAPER_DOTS = {58: 384, 80: 576}
PAPER_COLUMNS = {58: 32, 80: 48}


@dataclass
class PrintedLine:
    text: str
    dots: int
    columns: int  # in cells of the current font: 1 per ASCII byte, 2 per multi-byte character
    width: int = 1
    height: int = 1
    align: int = 0
    bold: bool = False
    invert: bool = False
    font: int = 0


@dataclass
class RasterImage:
    width: int  # dots
    height: int
    line_index: int  # number of lines printed before it


@dataclass
class Decoded:
    lines: list[PrintedLine] = field(default_factory=list)
    images: list[RasterImage] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cuts: int = 0

    def text_lines(self) -> list[str]:
        return [line.text for line in self.lines]

    @property
    def text(self) -> str:
        return "\n".join(self.text_lines())

    def overflowing(self, paper_mm: int) -> list[PrintedLine]:
        return [line for line in self.lines if line.dots > PAPER_DOTS[paper_mm]]

    def find(self, needle: str) -> PrintedLine:
        for line in self.lines:
            if needle in line.text:
                return line
        raise AssertionError(f"{needle!r} not printed; lines were:\n{self.text}")


@dataclass
class _State:
    chinese: bool = False
    width: int = 1
    height: int = 1
    align: int = 0
    bold: bool = False
    invert: bool = False
    font: int = 0


def decode(data: bytes) -> Decoded:
    out = Decoded()
    state = _State()
    chars: list[str] = []
    dots = 0
    columns = 0
    i = 0
    n = len(data)

    def flush() -> None:
        nonlocal chars, dots, columns
        out.lines.append(PrintedLine("".join(chars), dots, columns, state.width, state.height, state.align,
                                     state.bold, state.invert, state.font))
        chars, dots, columns = [], 0, 0

    def need(count: int) -> bytes:
        if i + count > n:
            raise ValueError(f"truncated command at byte {i}")
        return data[i:i + count]

    while i < n:
        b = data[i]
        if b == ESC:
            cmd = need(2)[1]
            i += 2
            if cmd == ord("@"):
                state = _State()  # a reset drops Chinese mode (on printers that do not start in it)
                out.commands.append("ESC @")
            elif cmd in (ord("a"), ord("E"), ord("M"), ord("!"), ord("d"), ord("t"), ord("-"), ord("G"), ord("3"),
                         ord("J"), ord("R"), ord("{"), ord("V")):
                arg = need(1)[0]
                i += 1
                name = chr(cmd)
                out.commands.append(f"ESC {name} {arg}")
                if name == "a":
                    state.align = arg % 48
                elif name == "E":
                    state.bold = bool(arg & 1)
                elif name == "M":
                    state.font = arg % 48
                elif name == "!":
                    state.font = arg & 1
                    if arg & 0x30:
                        out.problems.append("ESC ! used for size (Chinese printers ignore it for Hanzi)")
                elif name == "d":  # print the buffer and feed `arg` lines in all
                    for _ in range(arg if not chars else max(arg, 1)):
                        flush()
                elif name == "t":
                    out.problems.append(f"code page switch ESC t {arg}")
            elif cmd == ord("2"):
                out.commands.append("ESC 2")
            else:
                out.problems.append(f"unknown command ESC {cmd:#04x} at byte {i - 2}")
        elif b == GS:
            cmd = need(2)[1]
            i += 2
            if cmd == ord("!"):
                arg = need(1)[0]
                i += 1
                state.width, state.height = (arg >> 4) + 1, (arg & 0x0F) + 1
                out.commands.append(f"GS ! {arg:#04x}")
            elif cmd == ord("B"):
                state.invert = bool(need(1)[0] & 1)
                i += 1
                out.commands.append(f"GS B {int(state.invert)}")
            elif cmd == ord("V"):
                mode = need(1)[0]
                i += 1
                if mode in (65, 66):
                    i += 1
                if chars:
                    flush()
                out.cuts += 1
                out.commands.append("GS V")
            elif cmd == ord("v"):
                header = need(6)
                i += 6
                if header[0] != ord("0"):
                    out.problems.append("GS v other than GS v 0")
                width_bytes = header[2] + 256 * header[3]
                height = header[4] + 256 * header[5]
                if chars:
                    out.problems.append("raster image in the middle of a line")
                    flush()
                out.images.append(RasterImage(width_bytes * 8, height, len(out.lines)))
                need(width_bytes * height)
                i += width_bytes * height
                out.commands.append("GS v 0")
            elif cmd == ord("("):
                function, low, high = need(3)
                i += 3
                length = low + 256 * high
                body = need(length)
                i += length
                out.commands.append(f"GS ( {chr(function)}" + (f" fn={chr(body[1])}" if length >= 2 else ""))
            elif cmd == ord("k"):
                kind = need(1)[0]
                i += 1
                if kind <= 6:
                    end = data.index(0, i)
                    code = data[i:end]
                    i = end + 1
                else:
                    length = need(1)[0]
                    i += 1
                    code = need(length)
                    i += length
                out.commands.append(f"GS k {kind} {code.decode('ascii', 'replace')}")
            elif cmd in (ord("h"), ord("w"), ord("H"), ord("f")):
                i += 1
                out.commands.append(f"GS {chr(cmd)}")
            elif cmd in (ord("L"), ord("W")):
                i += 2
                out.commands.append(f"GS {chr(cmd)}")
            else:
                out.problems.append(f"unknown command GS {cmd:#04x} at byte {i - 2}")
        elif b == FS:
            cmd = need(2)[1]
            i += 2
            if cmd == ord("&"):
                state.chinese = True
                out.commands.append("FS &")
            elif cmd == ord("."):
                state.chinese = False
                out.commands.append("FS .")
            else:
                out.problems.append(f"unknown command FS {cmd:#04x}")
        elif b == DLE:
            request = need(3)
            i += 3
            out.commands.append(f"DLE EOT {request[2]}" if request[1] == 0x04 else f"DLE {request[1]:#04x}")
        elif b == LF:
            i += 1
            flush()
        elif b == 0x0D:
            i += 1
        elif b < 0x20 or b == 0x7F:
            out.problems.append(f"stray control byte {b:#04x} at {i}")
            i += 1
        elif b < 0x80:
            chars.append(chr(b))
            dots += (9 if state.font == 1 else 12) * state.width
            columns += 1
            i += 1
        else:
            if not state.chinese:
                out.problems.append(f"byte {b:#04x} outside Chinese mode at {i} (would print as a code-page symbol)")
            size = 4 if i + 1 < n and 0x30 <= data[i + 1] <= 0x39 else 2
            raw = need(size)
            i += size
            try:
                chars.append(raw.decode("gb18030"))
            except UnicodeDecodeError:
                out.problems.append(f"invalid GB18030 sequence {raw.hex()} at {i - size}")
                chars.append("\ufffd")
            dots += 24 * state.width
            columns += 2
    if chars:
        out.problems.append("text left unprinted (no LF at the end)")
        flush()
    return out


def assert_prints_well(data: bytes, paper_mm: int, expected: Sequence[str] = ()) -> Decoded:
    """The checks every document must pass: decodes cleanly, Chinese mode set after every reset, every line fits
    the paper, no `?` or replacement character stands for a character, and the expected texts are there."""
    doc = decode(data)
    assert not doc.problems, doc.problems
    assert doc.commands[:2] == ["ESC @", "FS &"], doc.commands[:4]
    for index, command in enumerate(doc.commands):
        if command == "ESC @":
            assert doc.commands[index + 1] == "FS &", "a reset not followed by Chinese mode"
    too_wide = doc.overflowing(paper_mm)
    assert not too_wide, "\n".join(f"{line.dots} dots: {line.text!r}" for line in too_wide)
    assert all(image.width <= PAPER_DOTS[paper_mm] for image in doc.images)
    for line in doc.lines:
        assert "?" not in line.text and "\ufffd" not in line.text, line.text
    for needle in expected:
        doc.find(needle)
    return doc


# --- fake printers on 127.0.0.1 -------------------------------------------------------------------------------------

STATUS_ONLINE = 0x12  # DLE EOT 1 answer: fixed bits only
STATUS_OFFLINE = 0x12 | 0x08
PAPER_OK, PAPER_LOW, PAPER_OUT = 0x12, 0x12 | 0x0C, 0x12 | 0x0C | 0x60


def free_port() -> int:
    """A port nobody listens on (bound, then closed): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _job_data(data: bytes) -> bytes:
    return bytes(data).replace(b"\x10\x04\x01", b"").replace(b"\x10\x04\x04", b"")


def _stop_listening(server: socket.socket) -> None:
    """Wakes the thread blocked in accept() (closing alone does not, on Linux), then closes."""
    try:
        server.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    server.close()


class FakePrinter:
    """A raw-port printer that serves one client at a time, answers DLE EOT status requests, and records each
    connection's bytes as one job. `paper` is "ok", "low" or "out" (out: it reports offline, as real ones do)."""

    def __init__(self, port: int = 0, *, paper: str = "ok", runs_out_during_job: bool = False) -> None:
        self.paper = paper
        self.runs_out_during_job = runs_out_during_job  # answers "out of paper" once it has taken job data
        self.connections: list[bytes] = []
        self.changed = threading.Condition()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", port))
        self._server.listen(1)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}?timeout=2"

    @property
    def jobs(self) -> list[bytes]:
        """Connections that carried more than status requests."""
        return [data for data in self.connections if _job_data(data)]

    def _answer(self, request: int) -> int:
        if request == 4:
            return {"ok": PAPER_OK, "low": PAPER_LOW, "out": PAPER_OUT}[self.paper]
        return STATUS_OFFLINE if self.paper == "out" else STATUS_ONLINE

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                received = bytearray()
                while True:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    start = max(0, len(received) - 2)
                    received += chunk
                    position = received.find(b"\x10\x04", start)
                    while position != -1 and position + 2 < len(received):
                        if self.runs_out_during_job and _job_data(received[:position]):
                            self.paper = "out"
                        conn.sendall(bytes([self._answer(received[position + 2])]))
                        position = received.find(b"\x10\x04", position + 3)
            with self.changed:
                self.connections.append(bytes(received))
                self.changed.notify_all()

    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[bytes]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.jobs) >= count, timeout)
        return self.jobs

    def close(self) -> None:
        _stop_listening(self._server)
        self._thread.join(5)

    def __enter__(self) -> FakePrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SilentPrinter:
    """Accepts connections and never reads from them (a printer busy with another client, or hung)."""

    def __init__(self, port: int = 0) -> None:
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", port))
        self._server.listen(8)
        self.port = self._server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        _stop_listening(self._server)
        self._thread.join(5)
        for conn in self.accepted:
            conn.close()

    def __enter__(self) -> SilentPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
