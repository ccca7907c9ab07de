/* Camera scanning, only where the browser offers BarcodeDetector (Chrome on Android does; most desktop
   browsers and headless Chromium do not): otherwise the button stays hidden and the wedge scanner is the way. */
"use strict";
(function () {
  const FORMATS = ["ean_13", "ean_8", "upc_a", "upc_e", "code_128", "qr_code"];

  function attach(button, dialog, video, note, onScan) {
    if (!window.CMScanner || !CMScanner.cameraSupported()) { button.hidden = true; return; }
    button.hidden = false;
    let stream = null, running = false;

    function stop() {
      running = false;
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      if (dialog.open) dialog.close();
    }

    button.addEventListener("click", async () => {
      let detector;
      try {
        const supported = await BarcodeDetector.getSupportedFormats();
        detector = new BarcodeDetector({ formats: FORMATS.filter((f) => supported.includes(f)) });
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      } catch (error) {
        note.textContent = CM.t("tablet.camera_failed");
        dialog.showModal();
        return;
      }
      note.textContent = CM.t("tablet.camera_hint");
      video.srcObject = stream;
      dialog.showModal();
      await video.play().catch(() => {});
      running = true;
      const look = async () => {
        if (!running) return;
        try {
          const found = await detector.detect(video);
          if (found.length) { stop(); onScan(CMScanner.normalise(found[0].rawValue)); return; }
        } catch (e) { /* a frame that could not be read: try the next */ }
        setTimeout(look, 150);
      };
      look();
    });
    dialog.addEventListener("close", stop);
    dialog.querySelector("[data-close]")?.addEventListener("click", stop);
  }

  window.CMCamera = { attach };
})();
