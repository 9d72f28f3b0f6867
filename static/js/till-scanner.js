// The till's camera: reads a wallet's QR code and fills the code field, then the operator
// types the amount. The browser's BarcodeDetector where it has one, else the vendored jsQR
// (static/vendor/jsqr-1.4.0). Without a camera the section stays hidden: typing the code
// always works.
(function () {
  "use strict";
  var root = document.querySelector("[data-scanner]");
  var media = navigator.mediaDevices;
  if (!root || !media || !media.getUserMedia) { return; }
  var code = document.getElementById(root.getAttribute("data-target"));
  var next = document.getElementById(root.getAttribute("data-next"));
  var startButton = root.querySelector("[data-scanner-start]");
  var stopButton = root.querySelector("[data-scanner-stop]");
  var video = root.querySelector("video");
  var status = root.querySelector("[data-scanner-status]");
  // A wallet's code, or a ticket's printed before wallets (purchases/forms.py TILL_CODE_RE).
  var pattern = /[WT]-[23456789A-HJKMNP-Z]{28}/;
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var detector = null;
  var stream = null;
  var timer = null;

  function say(name) { status.textContent = root.getAttribute("data-msg-" + name) || ""; }

  function stop() {
    window.clearTimeout(timer);
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
  }

  // The text of a QR code in the current frame, or null.
  function read() {
    if (detector) {
      return detector.detect(video).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      });
    }
    // A frame no wider than 640 px: enough for a phone held at the counter, and fast.
    var scale = Math.min(1, 640 / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    var frame = context.getImageData(0, 0, canvas.width, canvas.height);
    var found = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
    return Promise.resolve(found ? found.data : null);
  }

  function scan() {
    if (!stream) { return; }
    var ready = video.readyState >= 2 && video.videoWidth > 0;
    (ready ? read() : Promise.resolve(null)).then(function (text) {
      if (!stream) { return; }
      var match = text && pattern.exec(text.toUpperCase());
      if (match) {
        code.value = match[0];
        stop();
        say("found");
        next.focus();
        return;
      }
      if (text) { say("other"); }
      timer = window.setTimeout(scan, 200);
    }, function () {
      timer = window.setTimeout(scan, 200);
    });
  }

  function start() {
    var detecting = Promise.resolve(null);
    if ("BarcodeDetector" in window) {
      detecting = window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
      }, function () { return null; });
    }
    detecting.then(function (found) {
      detector = found;
      root.setAttribute("data-reader", detector ? "barcode-detector" : "jsqr");
      if (!detector && !window.jsQR) { throw new Error("no QR reader"); }
      return media.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    }).then(function (camera) {
      stream = camera;
      video.srcObject = camera;
      video.hidden = false;
      startButton.hidden = true;
      stopButton.hidden = false;
      say("scanning");
      return video.play();
    }).then(scan, function () {
      stop();
      say("denied");
    });
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", function () { stop(); status.textContent = ""; });
  window.addEventListener("pagehide", stop);
  root.hidden = false;
})();
