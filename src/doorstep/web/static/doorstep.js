// Doorstep pages: progressive enhancement only.  Every page works without this file.
// - [data-qr-scan]: a "scan with camera" button that fills the claim field from the
//   device's QR code (BarcodeDetector), shown only where the browser can do it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-qr-scan]")) {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) continue;
    const target = document.getElementById(button.dataset.qrScan);
    const video = document.getElementById(button.dataset.qrVideo);
    button.hidden = false;
    button.addEventListener("click", async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.hidden = false;
      video.srcObject = stream;
      await video.play();
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      const look = async () => {
        const codes = await detector.detect(video);
        if (codes.length > 0) {
          target.value = codes[0].rawValue;
          stream.getTracks().forEach((track) => track.stop());
          video.hidden = true;
          target.form.requestSubmit();
          return;
        }
        requestAnimationFrame(look);
      };
      look();
    });
  }
});
