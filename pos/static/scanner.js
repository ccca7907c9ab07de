/* Keyboard-wedge barcode scanners: they "type" the code fast and press Enter.

   - The scan field (type=text, inputmode=none: no soft keyboard) collects what is typed or inserted; Enter,
     a line break, or a quiet gap after a burst of input completes the scan. Reading the `input` event as well
     as keys matters on Android, where input methods send keydown with key "Unidentified" and can deliver one
     scan in two pieces.
   - Anywhere else on the page a burst of keys faster than a person types, ending in Enter, is a scan too; the
     characters are taken back out of whatever field had the focus.
   - Every scan is normalised: NFKC (full-width digits from a Chinese input method become ASCII), trimmed,
     inner spaces removed. */
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
  function looksComplete(code) {
    if (!/^\d+$/.test(code)) return false;
    if ([8, 12, 13, 14].includes(code.length)) return gtinValid(code);
    return code.length === 16 && code[0] !== "0" && dammValid(code);
  }

  function normalise(raw) {
    return String(raw || "").normalize("NFKC").replace(/\s+/g, "").trim();
  }

  /* The scan in keys typed outside the scan field, ended by Enter: the first stretch, fast on average (a busy
     tablet may stall a scanner's keys a moment), that is a whole code of ours; or else, for codes that are not
     ours, an unbroken fast burst. Slow typing by a person is never a scan. */
  function pickScan(keys, now) {
    if (!keys.length || now - keys[keys.length - 1].at > PAUSE_MS) return null;
    const raw = (part) => part.map((k) => k.key).join("");
    for (let start = 0; start <= keys.length - MIN_LENGTH; start++) {
      const part = keys.slice(start);
      const average = (part[part.length - 1].at - part[0].at) / (part.length - 1);
      if (average < FAST_MS && looksComplete(normalise(raw(part)))) return { raw: raw(part), target: part[0].target };
    }
    let start = keys.length - 1;
    while (start > 0 && keys[start].at - keys[start - 1].at < FAST_MS) start--;
    const part = keys.slice(start);
    return part.length >= MIN_LENGTH ? { raw: raw(part), target: part[0].target } : null;
  }

  function attach(field, onScan) {
    let quietTimer = null;
    let fieldBurstStart = null;  // when the text now in the field began to arrive

    function emit(raw) {
      const code = normalise(raw);
      field.value = "";
      fieldBurstStart = null;
      if (code.length >= MIN_LENGTH) onScan(code);
      field.focus({ preventScroll: true });
    }

    function completeFromField() {
      clearTimeout(quietTimer);
      if (field.value.trim()) emit(field.value);
    }

    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.keyCode === 13) {
        event.preventDefault();
        event.stopPropagation();
        completeFromField();
      }
    });
    field.addEventListener("input", (event) => {
      if (event.inputType === "insertLineBreak" || /[\r\n]/.test(field.value)) { completeFromField(); return; }
      clearTimeout(quietTimer);
      const now = performance.now();
      const text = normalise(field.value);
      if (fieldBurstStart === null || text.length <= 1) fieldBurstStart = now;
      // A burst of inserted text (a scan, maybe split across input events) with no Enter following: scanner fast,
      // not a person typing on the keypad (who presses Enter), and a whole code.
      const fast = (now - fieldBurstStart) / Math.max(1, text.length - 1) < FAST_MS;
      if (fast && looksComplete(text)) quietTimer = setTimeout(completeFromField, QUIET_MS);
    });

    // Scans while the focus is elsewhere: recognise the speed, take the characters back.
    let keys = [];  // {key, at, target} typed outside the scan field since the last pause
    document.addEventListener("keydown", (event) => {
      if (event.target === field) return;
      const now = performance.now();
      if (event.key === "Enter" || event.keyCode === 13) {
        const scan = pickScan(keys, now);
        keys = [];
        if (!scan) return;
        event.preventDefault();
        const target = scan.target;
        if (target && typeof target.value === "string" && target.value.endsWith(scan.raw)) {
          target.value = target.value.slice(0, -scan.raw.length);
        }
        emit(scan.raw);
        return;
      }
      if (event.key.length !== 1) return;
      if (keys.length && now - keys[keys.length - 1].at > PAUSE_MS) keys = [];
      keys.push({ key: event.key, at: now, target: event.target });
    }, true);
    // Whatever the clerk taps, the scan field gets the focus back (unless they tapped another input).
    document.addEventListener("click", (event) => {
      if (!event.target.closest("input, select, textarea, dialog")) field.focus({ preventScroll: true });
    });
    field.focus();
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

  window.CMScanner = { attach, attachKeypad, normalise, cameraSupported, looksComplete, pickScan };
})();
