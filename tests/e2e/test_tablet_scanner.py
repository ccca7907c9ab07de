"""The scanner rules of pos/static/scanner.js, run in Chromium on a blank page (no server): what counts as a whole
code, and which keys typed outside the scan field make a scan. Key times are given, so nothing depends on how busy
the machine is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import android_insert, android_scan

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


def test_characters_inserted_together_share_their_time(scanner) -> None:  # type: ignore[no-untyped-def]
    """An Android input method inserts a scan in one or two pieces: the characters of a piece arrive at once."""
    pieces = [{"key": k, "at": 1000.0, "before": {"value": "3", "start": None, "end": None}} for k in EAN[:5]]
    pieces += [{"key": k, "at": 1030.0} for k in EAN[5:]]
    found = scanner.evaluate("([k, n]) => CMScanner.pickScan(k, n)", [pieces, 1040.0])
    assert found["raw"] == EAN
    assert found["before"] == {"value": "3", "start": None, "end": None}  # the field as it was before the scan
    # A count put into a quantity field just before a scan lands elsewhere is no part of the scan (a 0 in front of
    # an EAN-13 would make a valid GTIN-14).
    new = "6971234567895"
    typed = [{"key": k, "at": 1000.0, "target": "qty"} for k in "10"]
    typed += [{**k, "target": "body"} for k in keys(new, start=1010.0)]
    assert pick(scanner, typed) == new
    # One person's insertions, 300 ms apart, are not a scan, however many characters each brings.
    slow = [{"key": k, "at": 1000.0 + 300 * (i // 2)} for i, k in enumerate(EAN)]
    assert pick(scanner, slow) is None


# ---- attach(): scans that land in another field -----------------------------------------------------------------

FIELDS = """<!doctype html><html><body><input id=scan>
<input id=qty type=number value=3><input id=name value=abcdef><textarea id=note>早班</textarea>
<button id=btn>ok</button></body></html>"""


@pytest.fixture
def fields(page):  # type: ignore[no-untyped-def]
    """The scan field and other fields, as on the tablet pages; every scan the page hears goes to window.scans."""
    page.set_content(FIELDS)
    page.add_script_tag(path=str(SCANNER))
    page.evaluate("window.scans = []; window.heard = 0;"
                  "document.getElementById('note').addEventListener('input', () => { window.heard += 1; });"
                  "CMScanner.attach(document.getElementById('scan'), (code) => window.scans.push(code))")
    return page


def state(page, field: str) -> list:  # type: ignore[no-untyped-def]
    return page.evaluate("(id) => { const f = document.getElementById(id); let caret = null;"
                         "try { caret = f.selectionStart; } catch (_) {} "
                         "return [window.scans, f.value, caret, document.activeElement.id]; }", field)


def test_an_android_scan_in_a_quantity_field_is_a_scan(fields) -> None:  # type: ignore[no-untyped-def]
    fields.focus("#qty")
    android_scan(fields, EAN)
    # Scanned, and the quantity kept (the code had gone in at the caret, before the 3).
    assert state(fields, "qty") == [[EAN], "3", None, "scan"]
    assert fields.input_value("#scan") == ""


def test_an_android_scan_in_a_text_field_puts_back_its_text_and_caret(fields) -> None:  # type: ignore[no-untyped-def]
    fields.focus("#name")
    fields.evaluate("document.getElementById('name').setSelectionRange(2, 4)")  # "cd" selected
    android_scan(fields, CARD, split=9)
    assert state(fields, "name") == [[CARD], "abcdef", 2, "scan"]
    assert fields.evaluate("document.getElementById('name').selectionEnd") == 4
    # Full-width digits inserted by a Chinese input method are a scan as well, read as digits.
    fields.focus("#name")
    android_scan(fields, "６９２０２４４４１８５２９")
    assert state(fields, "name")[:2] == [[CARD, EAN], "abcdef"]


def test_a_line_break_in_the_inserted_text_ends_the_scan(fields) -> None:  # type: ignore[no-untyped-def]
    """Some input methods end a scan with "\\n" in the text instead of an Enter key."""
    fields.focus("#name")
    android_insert(fields, EAN[:4])
    android_insert(fields, EAN[4:] + "\n")
    assert state(fields, "name")[:2] == [[EAN], "abcdef"]
    # A textarea: the note is put back, and the page's own input listener hears of it.
    fields.focus("#note")
    fields.evaluate("document.getElementById('note').setSelectionRange(2, 2)")
    android_insert(fields, CARD + "\n")
    assert state(fields, "note") == [[EAN, CARD], "早班", 2, "scan"]
    assert fields.evaluate("window.heard") >= 2  # the insertion, then the note put back
    # In the scan field itself a code not of ours (no check digit to trust) ends at the line break, not later.
    fields.focus("#scan")
    fields.keyboard.insert_text("AB12CD34\n")
    assert state(fields, "scan")[:2] == [[EAN, CARD, "AB12CD34"], ""]


def test_a_keyboard_scan_in_a_text_field_puts_back_its_text_and_caret(fields) -> None:  # type: ignore[no-untyped-def]
    fields.focus("#name")
    fields.evaluate("document.getElementById('name').setSelectionRange(3, 3)")
    fields.keyboard.type(EAN, delay=5)
    fields.keyboard.press("Enter")
    assert state(fields, "name") == [[EAN], "abcdef", 3, "scan"]  # each key counted once, not by key and by input
    fields.focus("#btn")  # keys with a button focused: nothing to take back, still a scan
    fields.keyboard.type(CARD, delay=5)
    fields.keyboard.press("Enter")
    assert fields.evaluate("window.scans") == [EAN, CARD]


def test_a_person_typing_slowly_is_left_alone(fields) -> None:  # type: ignore[no-untyped-def]
    fields.fill("#qty", "")
    fields.focus("#qty")
    for digit in "1500":  # digits tapped on an Android keyboard, a person's pace
        android_insert(fields, digit)
        fields.wait_for_timeout(150)
    fields.keyboard.press("Enter")
    assert state(fields, "qty")[:2] == [[], "1500"]
    fields.fill("#qty", "")
    fields.focus("#qty")
    fields.keyboard.type("2500", delay=150)  # and on a real keyboard
    fields.keyboard.press("Enter")
    assert state(fields, "qty")[:2] == [[], "2500"]
    # A whole code typed by hand, slowly, is what the person typed (a barcode searched for, say), not a scan.
    fields.fill("#name", "")
    fields.focus("#name")
    for digit in EAN:
        android_insert(fields, digit)
        fields.wait_for_timeout(120)
    fields.keyboard.press("Enter")
    assert state(fields, "name")[:2] == [[], EAN]


def test_a_word_from_an_input_method_is_not_a_scan(fields) -> None:  # type: ignore[no-untyped-def]
    """A Chinese input method composes a name and commits it at once; Enter right after is not a scan."""
    fields.fill("#name", "")
    fields.focus("#name")
    cdp = fields.context.new_cdp_session(fields)
    cdp.send("Input.imeSetComposition", {"text": "ouyangxiaoming", "selectionStart": 14, "selectionEnd": 14})
    cdp.send("Input.insertText", {"text": "欧阳小明"})
    fields.keyboard.press("Enter")
    assert state(fields, "name")[:2] == [[], "欧阳小明"]


# ---- listen(): a page without a scan field (the members pages) ----------------------------------------------------

@pytest.fixture
def listening(page):  # type: ignore[no-untyped-def]
    """Fields for people to type in, no scan field; only 16-digit codes are scans for this page. window.enters
    counts the Enter keys whose default action (submitting a form) went ahead."""
    page.set_content(FIELDS.replace("<input id=scan>", ""))
    page.add_script_tag(path=str(SCANNER))
    page.evaluate("window.scans = []; window.enters = 0;"
                  "window.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.defaultPrevented) "
                  "window.enters += 1; });"
                  "CMScanner.listen((code) => window.scans.push(code), { accept: (code) => /^\\d{16}$/.test(code) })")
    return page


def test_listen_takes_a_scan_out_of_the_field_and_leaves_the_focus(listening) -> None:  # type: ignore[no-untyped-def]
    listening.focus("#name")
    listening.evaluate("document.getElementById('name').setSelectionRange(3, 3)")
    listening.keyboard.type(CARD, delay=5)
    listening.keyboard.press("Enter")
    assert state(listening, "name") == [[CARD], "abcdef", 3, "name"]  # the focus stays where it was
    android_scan(listening, "８５８１２６４１３６６３３７２３")  # full-width, through an Android input method
    assert state(listening, "name") == [[CARD, CARD], "abcdef", 3, "name"]
    listening.evaluate("document.activeElement.blur()")
    listening.keyboard.type(CARD, delay=5)  # nothing focused
    listening.keyboard.press("Enter")
    assert listening.evaluate("window.scans") == [CARD] * 3
    assert listening.evaluate("window.enters") == 0  # no scan's Enter submitted anything


def test_listen_leaves_alone_what_the_page_does_not_take(listening) -> None:  # type: ignore[no-untyped-def]
    # A phone number put in at once and Enter, fast as a scan, but not a code of this page: it stays, Enter goes on.
    listening.fill("#name", "")
    listening.fill("#name", "13800138000")
    listening.press("#name", "Enter")
    assert state(listening, "name")[:2] == [[], "13800138000"]
    # A goods code this page does not take, scanned: the same.
    listening.fill("#name", "")
    listening.focus("#name")
    listening.keyboard.type(EAN, delay=5)
    listening.keyboard.press("Enter")
    assert state(listening, "name")[:2] == [[], EAN]
    # A card typed by a person: what they typed.
    listening.fill("#name", "")
    listening.focus("#name")
    listening.keyboard.type(CARD, delay=120)
    listening.keyboard.press("Enter")
    assert state(listening, "name")[:2] == [[], CARD]
    assert listening.evaluate("window.enters") == 3
