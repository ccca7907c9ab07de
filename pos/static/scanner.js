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
  const QUIET_MS = 120;    // a burst that stops this long without Enter still counts as a scan
  const MIN_LENGTH = 4;

  function normalise(raw) {
    return String(raw || "").normalize("NFKC").replace(/\s+/g, "").trim();
  }

  function attach(field, onScan) {
    let burst = { text: "", last: 0, target: null };
    let quietTimer = null;

    function emit(raw) {
      const code = normalise(raw);
      field.value = "";
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
      // A burst of inserted text (a scan split across input events) with no Enter following.
      if (field.value.length >= 8) quietTimer = setTimeout(completeFromField, QUIET_MS);
    });

    // Scans while the focus is elsewhere: recognise the speed, take the characters back.
    document.addEventListener("keydown", (event) => {
      if (event.target === field) return;
      const now = performance.now();
      if (event.key === "Enter" || event.keyCode === 13) {
        if (burst.text.length >= MIN_LENGTH && now - burst.last < FAST_MS * 4) {
          event.preventDefault();
          const target = burst.target;
          if (target && typeof target.value === "string" && target.value.endsWith(burst.text)) {
            target.value = target.value.slice(0, -burst.text.length);
          }
          emit(burst.text);
        }
        burst = { text: "", last: 0, target: null };
        return;
      }
      if (event.key.length !== 1) return;
      if (now - burst.last > FAST_MS) burst = { text: "", last: now, target: event.target };
      burst.text += event.key;
      burst.last = now;
    }, true);

    // Whatever the clerk taps, the scan field gets the focus back (unless they tapped another input).
    document.addEventListener("click", (event) => {
      if (!event.target.closest("input, select, textarea, dialog")) field.focus({ preventScroll: true });
    });
    field.focus();
  }

  /* Camera scanning only where the browser has BarcodeDetector; otherwise the button stays hidden. */
  function cameraSupported() { return "BarcodeDetector" in window; }

  window.CMScanner = { attach, normalise, cameraSupported };
})();
