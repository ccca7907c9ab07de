"""The scanner rules of pos/static/scanner.js, run in Chromium on a blank page (no server): what counts as a whole
code, and which keys typed outside the scan field make a scan. Key times are given, so nothing depends on how busy
the machine is."""

from __future__ import annotations

from pathlib import Path

import pytest

SCANNER = Path(__file__).resolve().parents[2] / "pos" / "static" / "scanner.js"
CARD = "8581264136633723"  # 16 digits, Damm check digit right
EAN = "6920244418529"


@pytest.fixture
def scanner(page):  # type: ignore[no-untyped-def]
    page.set_content("<!doctype html><html><body><input id=scan></body></html>")
    page.add_script_tag(path=str(SCANNER))
    return page


def keys(text: str, start: float = 1000.0, gap: float = 5.0, stall_at: int | None = None, stall: float = 0.0
         ) -> list[dict]:
    out, at = [], start
    for i, key in enumerate(text):
        if i == stall_at:
            at += stall
        out.append({"key": key, "at": at})
        at += gap
    return out


def pick(page, typed: list[dict], now: float | None = None) -> str | None:  # type: ignore[no-untyped-def]
    now = typed[-1]["at"] + 5 if now is None else now
    found = page.evaluate("([k, n]) => { const s = CMScanner.pickScan(k, n); return s ? s.raw : null; }", [typed, now])
    return found


@pytest.mark.parametrize(("code", "whole"), [
    (EAN, True), ("6920244418528", False),          # EAN-13, and with a wrong check digit
    ("96385074", True), ("036000291452", True),       # EAN-8, UPC-A
    (CARD, True), ("8581264136633732", False),       # a card, and with two digits swapped
    ("0581264136633723", False), ("69202444", False),  # a card never starts with 0; a cut-off EAN
    ("ABC12345", False),
])
def test_a_whole_code(scanner, code: str, whole: bool) -> None:  # type: ignore[no-untyped-def]
    assert scanner.evaluate("(c) => CMScanner.looksComplete(c)", code) is whole


def test_which_keys_make_a_scan(scanner) -> None:  # type: ignore[no-untyped-def]
    assert pick(scanner, keys(CARD)) == CARD
    # The tablet stalled for 200 ms in the middle of the scanner's keys: still one scan, not two halves.
    assert pick(scanner, keys(CARD, stall_at=9, stall=200)) == CARD
    # A person typing (150 ms a key) is not a scanner.
    assert pick(scanner, keys(EAN, gap=150)) is None
    # Two digits typed by hand into a field, then a scan: the scan alone.
    assert pick(scanner, keys("12", gap=150) + keys(EAN, start=1400)) == EAN
    # Not a code of ours (letters): only an unbroken fast burst counts.
    assert pick(scanner, keys("AB12CD34")) == "AB12CD34"
    assert pick(scanner, keys("AB12CD34", stall_at=4, stall=200)) == "CD34"
    # Enter long after the last key is not the end of a scan.
    typed = keys(CARD)
    assert pick(scanner, typed, now=typed[-1]["at"] + 1000) is None
    # Full-width digits from a Chinese input method are read as digits.
    assert scanner.evaluate("(c) => CMScanner.normalise(c)", " ６９２０２４４４１８５２９ ") == EAN


def test_the_keypad_button_brings_the_soft_keyboard_and_takes_it_away(scanner) -> None:  # type: ignore[no-untyped-def]
    """The scan field keeps inputmode=none (no soft keyboard over the counter) until the keypad button is tapped."""
    scanner.set_content("<!doctype html><html><body><input id=scan inputmode=none><button id=keypad>⌨</button>"
                        "</body></html>")
    scanner.add_script_tag(path=str(SCANNER))
    scanner.evaluate("CMScanner.attachKeypad(document.getElementById('keypad'), document.getElementById('scan'))")
    state = "[document.getElementById('scan').inputMode, document.getElementById('keypad').className, " \
            "document.activeElement.id]"
    scanner.click("#keypad")
    assert scanner.evaluate(state) == ["numeric", "active", "scan"]
    scanner.click("#keypad")
    assert scanner.evaluate(state) == ["none", "", "scan"]
