/* Keyboard-wedge barcode scanners: they "type" the code fast and press Enter.

   - The scan field (type=text, inputmode=none: no soft keyboard) collects what is typed or inserted; Enter,
     a line break, or a quiet gap after a burst of input completes the scan. Reading the `input` event as well
     as keys matters on Android, where input methods send keydown with key "Unidentified" and can deliver one
     scan in two pieces.
   - Anywhere else on the page a burst of keys or inserted text faster than a person types, ending in Enter (or a
     line break in the inserted text), is a scan too; the field that had the focus is put back as it was (its text
     and caret).
   - Every scan is normalised: NFKC (full-width digits from a Chinese input method become ASCII), trimmed,
     inner spaces removed.
   - A page without a scan field of its own (the members pages: their fields are for people's names and phones)
     listens the same way with `listen(onScan, { accept })`: only the page-wide recognition, and only codes
     `accept` takes; anything else typed fast (a phone number filled in at once, then Enter) stays in its field
     and its Enter does what it always does. */
"use strict";
(function () {
  const FAST_MS = 50;      // a scanner types a character every few ms; people take 100+ ms
  const QUIET_MS = 150;    // a burst that stops this long without Enter still counts as a scan
  const MIN_LENGTH = 4;
  const PAUSE_MS = 400;    // a pause this long outside the scan field starts over

  /* A burst without Enter is taken as a scan only when it is a whole code of ours: goods (GTIN-8/12/13/14 with
     a right check digit) or a member card (16 digits, Damm check digit). A scan cut by a pause (a busy tablet,
     an input method delivering it in pieces) is then not sent half-way. */
  const DAMM = [[0, 3, 1, 7, 5, 9, 8, 6, 4, 2], [7, 0, 9, 2, 1, 5, 4, 8, 6, 3], [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
                [1, 7, 5, 0, 9, 8, 3, 4, 2, 6], [6, 1, 2, 3, 0, 4, 5, 9, 7, 8], [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
                [5, 8, 6, 9, 7, 2, 0, 1, 3, 4], [8, 9, 4, 5, 3, 6, 2, 0, 1, 7], [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
                [2, 5, 8, 1, 4, 3, 6, 7, 9, 0]];
  function gtinValid(code) {
    let sum = 0;
    for (let i = code.length - 2, weight = 3; i >= 0; i--, weight = 4 - weight) sum += Number(code[i]) * weight;
    return (10 - (sum % 10)) % 10 === Number(code[code.length - 1]);
  }
  function dammValid(code) {
    let interim = 0;
    for (const digit of code) interim = DAMM[interim][Number(digit)];
    return interim === 0;
  }
  /* Card-shaped: what every page sends to the card look-up (a wrong check digit too: the server says it is
     unknown). Member cards have 16 digits, not starting with 0 (ledger/cards.py); goods codes 8, 12, 13 or 14. */
  function isCard(code) {
    return /^[1-9]\d{15}$/.test(code);
  }
  function looksComplete(code) {
    if (!/^\d+$/.test(code)) return false;
    if ([8, 12, 13, 14].includes(code.length)) return gtinValid(code);
    return isCard(code) && dammValid(code);
  }

  function normalise(raw) {
    return String(raw || "").normalize("NFKC").replace(/\s+/g, "").trim();
  }

  /* The scan in characters typed or inserted outside the scan field, ended by Enter: the first stretch, fast on
     average (a busy tablet may stall a scanner's keys a moment), that is a whole code of ours; or else, for codes
     that are not ours, an unbroken fast burst. Slow typing by a person is never a scan. Each character is
     {key, at, target, before}: `before` is its field as it was just before the character arrived, so the scan can
     be taken back out. Characters inserted together (one `input` event) share their time. */
  function pickScan(keys, now) {
    if (!keys.length || now - keys[keys.length - 1].at > PAUSE_MS) return null;
    // A scan lands in one place: what went into another field just before (a count typed there) is no part of it.
    let from = keys.length - 1;
    while (from > 0 && keys[from - 1].target === keys[keys.length - 1].target) from--;
    keys = keys.slice(from);
    const raw = (part) => part.map((k) => k.key).join("");
    const found = (part) => ({ raw: raw(part), target: part[0].target, before: part[0].before || null });
    for (let start = 0; start <= keys.length - MIN_LENGTH; start++) {
      const part = keys.slice(start);
      const average = (part[part.length - 1].at - part[0].at) / (part.length - 1);
      if (average < FAST_MS && looksComplete(normalise(raw(part)))) return found(part);
    }
    let start = keys.length - 1;
    while (start > 0 && keys[start].at - keys[start - 1].at < FAST_MS) start--;
    const part = keys.slice(start);
    return part.length >= MIN_LENGTH ? found(part) : null;
  }

  /* A field's text and caret (null where the field has none, e.g. type=number). */
  function snapshot(target) {
    if (!target || typeof target.value !== "string") return null;
    let start = null;
    let end = null;
    try { start = target.selectionStart ?? null; end = target.selectionEnd ?? null; } catch (_) { /* no caret here */ }
    return { value: target.value, start, end };
  }
  /* The field as it was before `data` was inserted, worked out afterwards (when no beforeinput said it). */
  function snapshotWithout(target, data) {
    const now = snapshot(target);
    if (!now) return null;
    const { value } = now;
    if (now.start !== null && now.start >= data.length && value.slice(now.start - data.length, now.start) === data) {
      const at = now.start - data.length;
      return { value: value.slice(0, at) + value.slice(now.start), start: at, end: at };
    }
    if (value.endsWith(data)) return { value: value.slice(0, value.length - data.length), start: null, end: null };
    if (value.startsWith(data)) return { value: value.slice(data.length), start: null, end: null };
    return null;
  }
  /* The field before the i-th character of an insertion that began at `first`. */
  function within(first, data, i) {
    if (!first || i === 0 || first.start === null) return first;
    const caret = first.start + i;
    return { value: first.value.slice(0, first.start) + data.slice(0, i) + first.value.slice(first.end), start: caret,
             end: caret };
  }

  /* Put a field back the way it was before the scan landed in it; the page's own `input` listeners hear of it. */
  function takeBack(scan) {
    const target = scan.target;
    if (!target || typeof target.value !== "string") return;
    const before = scan.before;
    if (!before) {
      if (target.value.endsWith(scan.raw)) target.value = target.value.slice(0, -scan.raw.length);
      return;
    }
    if (target.value !== before.value) {
      target.value = before.value;
      target.dispatchEvent(new Event("input", { bubbles: true }));
    }
    if (before.start !== null) {
      try { target.setSelectionRange(before.start, before.end); } catch (_) { /* no caret in this field */ }
    }
  }

  /* `field`: the scan field, or null (see listen). `options.accept(code)`: whether a burst typed into another
     field is a scan for this page (default: every one). */
  function attach(field, onScan, options) {
    const accept = (options && options.accept) || (() => true);
    let quietTimer = null;
    let fieldBurstStart = null;  // when the text now in the field began to arrive
    let lineBreakComing = false;  // inserted text with a line break in it (an input method's "\n" suffix)

    function emit(raw) {
      const code = normalise(raw);
      fieldBurstStart = null;
      if (field) field.value = "";
      if (code.length >= MIN_LENGTH) onScan(code);
      if (field) field.focus({ preventScroll: true });
    }

    function completeFromField() {
      clearTimeout(quietTimer);
      if (field.value.trim()) emit(field.value);
    }

    if (field) attachField();
    function attachField() {
      field.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.keyCode === 13) {
          event.preventDefault();
          event.stopPropagation();
          completeFromField();
        }
      });
      // A single-line field turns an inserted "\n" into a space, so the line break is seen here, before it goes.
      field.addEventListener("beforeinput", (event) => {
        lineBreakComing = event.inputType === "insertText" && /[\r\n]/.test(event.data || "");
      });
      field.addEventListener("input", (event) => {
        const lineBreak = lineBreakComing;
        lineBreakComing = false;
        if (lineBreak || event.inputType === "insertLineBreak" || /[\r\n]/.test(field.value)) {
          completeFromField();
          return;
        }
        clearTimeout(quietTimer);
        const now = performance.now();
        const text = normalise(field.value);
        if (fieldBurstStart === null || text.length <= 1) fieldBurstStart = now;
        // A burst of inserted text (a scan, maybe split across input events) with no Enter following: scanner fast,
        // not a person typing on the keypad (who presses Enter), and a whole code.
        const fast = (now - fieldBurstStart) / Math.max(1, text.length - 1) < FAST_MS;
        if (fast && looksComplete(text)) quietTimer = setTimeout(completeFromField, QUIET_MS);
      });
    }

    /* Scans while the focus is elsewhere (a quantity, a form field, a button, nothing): recognise the speed, take
       the characters back out of the field they landed in, and emit the scan as if it had been typed in the scan
       field. The characters come as keys (a scanner that is a keyboard) or as inserted text (`input` events: an
       Android input method sends keydown "Unidentified", or nothing, and may insert one scan in two pieces); a
       key and the text it inserts are counted once. */
    const MAX_KEYS = 100;
    let keys = [];        // {key, at, target, before} typed or inserted outside the scan field since the last pause
    let typedKey = null;  // a printable key just counted, whose own insertion is still to come
    let coming = null;    // {target, before, data}: the field just before the next insertion (keydown, beforeinput)
    let spent = null;     // the field whose insertion ended a scan: the rest of that insertion is not counted again

    function record(key, target, before, now) {
      if (keys.length && now - keys[keys.length - 1].at > PAUSE_MS) keys = [];
      keys.push({ key, at: now, target, before });
      if (keys.length > MAX_KEYS) keys = keys.slice(-MAX_KEYS);
    }
    function complete(now) {
      const scan = pickScan(keys, now);
      keys = [];
      if (!scan || !accept(normalise(scan.raw))) return false;
      takeBack(scan);
      emit(scan.raw);
      return true;
    }

    document.addEventListener("keydown", (event) => {
      if (event.target === field) return;
      const now = performance.now();
      const key = typeof event.key === "string" ? event.key : "";
      spent = null;
      if (key === "Enter" || event.keyCode === 13) {
        typedKey = null;
        if (complete(now)) event.preventDefault();
        return;
      }
      coming = { target: event.target, before: snapshot(event.target), data: null };
      if (key.length !== 1) { typedKey = null; return; }
      typedKey = key;
      record(key, event.target, coming.before, now);
    }, true);
    document.addEventListener("keyup", () => { typedKey = null; }, true);
    document.addEventListener("beforeinput", (event) => {
      if (event.target === field) return;
      spent = null;
      coming = { target: event.target, before: snapshot(event.target), data: event.data };
    }, true);
    document.addEventListener("input", (event) => {
      if (event.target === field) return;
      const target = event.target;
      const now = performance.now();
      const ahead = coming && coming.target === target ? coming : null;
      coming = null;
      if (spent === target) return;  // a textarea reports one insertion with a line break as several
      if (event.inputType === "insertLineBreak") {
        spent = target;
        complete(now);
        return;
      }
      // Only plain inserted text: not a person's input method composing a word, pasting, or autocorrect.
      if (event.inputType !== "insertText" || event.isComposing) return;
      // The data as inserted: a single-line field reports a "\n" as a space, so beforeinput's data is preferred.
      const data = (ahead && typeof ahead.data === "string" ? ahead.data : event.data) || "";
      if (typedKey !== null && data === typedKey) { typedKey = null; return; }  // the key already counted
      typedKey = null;
      if (!data) return;
      const first = ahead && ahead.before ? ahead.before : snapshotWithout(target, data);
      const lineBreak = data.search(/[\r\n]/);
      const text = lineBreak < 0 ? data : data.slice(0, lineBreak);
      for (let i = 0; i < text.length; i++) record(text[i], target, within(first, data, i), now);
      if (lineBreak >= 0) {
        spent = target;
        complete(now);
      }
    }, true);
    if (!field) return;
    // Whatever the clerk taps, the scan field gets the focus back (unless they tapped another input).
    document.addEventListener("click", (event) => {
      if (!event.target.closest("input, select, textarea, dialog")) field.focus({ preventScroll: true });
    });
    field.focus();
  }

  /* Scans anywhere on a page that has no scan field: recognised by speed and the Enter suffix wherever the focus
     is (a form field, a button, nothing), taken back out of the field they landed in, and handed to onScan when
     `options.accept(code)` takes them. The focus stays where it was. */
  function listen(onScan, options) {
    attach(null, onScan, options);
  }

  /* Camera scanning only where the browser has BarcodeDetector; otherwise the button stays hidden. */
  function cameraSupported() { return "BarcodeDetector" in window; }

  /* The keypad button: the scan field has inputmode=none so no soft keyboard covers the page; a tap lets the user
     type a code by hand (numeric keyboard), another tap hides it again. */
  function attachKeypad(button, field) {
    button.addEventListener("click", () => {
      field.inputMode = field.inputMode === "none" ? "numeric" : "none";
      button.classList.toggle("active", field.inputMode !== "none");
      field.blur(); field.focus({ preventScroll: true });
    });
  }

  window.CMScanner = { attach, listen, attachKeypad, normalise, cameraSupported, isCard, looksComplete, pickScan };
})();
