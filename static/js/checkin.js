// Check-in at the door, on a phone. Without this script the page still works: the code field
// submits the form and the server answers with the page. With it:
// - the code is checked in without reloading the page (the same URL, answering JSON);
// - a camera button scans the ticket's QR code with the rear camera: the browser's own
//   BarcodeDetector when it has one, else the vendored jsQR decoder, loaded on first use;
// - the live counts (on this page and the registrations page) refresh every few seconds.
(function () {
  "use strict";

  // --- live counts ---------------------------------------------------------------------------
  var countsBox = document.querySelector("[data-counts-url]");

  function showCounts(counts) {
    if (!countsBox || !counts) {
      return;
    }
    Object.keys(counts).forEach(function (key) {
      var cell = countsBox.querySelector('[data-count="' + key + '"]');
      if (cell) {
        cell.textContent = String(counts[key]);
      }
    });
  }

  function refreshCounts() {
    fetch(countsBox.getAttribute("data-counts-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(showCounts)
      .catch(function () { /* offline for a moment: keep the last counts */ });
  }

  if (countsBox) {
    var seconds = parseInt(countsBox.getAttribute("data-refresh"), 10) || 5;
    window.setInterval(function () {
      if (!document.hidden) {
        refreshCounts();
      }
    }, seconds * 1000);
  }

  // --- checking in ---------------------------------------------------------------------------
  var form = document.getElementById("checkin-form");
  if (!form) {
    return;
  }
  var input = document.getElementById("checkin-code");
  var result = document.getElementById("checkin-result");
  var sending = false;

  function showResult(ok, message, detail) {
    result.className = "checkin-result " + (ok ? "checkin-ok" : "checkin-refused");
    result.textContent = "";
    var line = document.createElement("p");
    line.className = "checkin-message";
    line.textContent = message;
    result.appendChild(line);
    if (detail) {
      var more = document.createElement("p");
      more.className = "checkin-detail";
      more.textContent = detail;
      result.appendChild(more);
    }
  }

  function submitCode() {
    if (sending) {
      return;
    }
    sending = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (response) {
        return response.json().catch(function () {
          // Not JSON: an expired session or security token. Let the form post normally.
          throw new Error("not json");
        });
      })
      .then(function (data) {
        showResult(data.ok, data.message, data.detail);
        showCounts(data.counts);
        input.value = "";
        input.focus();
      })
      .catch(function () {
        showResult(false, result.getAttribute("data-network-error"), "");
      })
      .then(function () { sending = false; });
  }

  form.addEventListener("submit", function (event) {
    if (!window.fetch || !window.FormData) {
      return; // an old browser: the ordinary form post
    }
    event.preventDefault();
    submitCode();
  });

  // --- the camera ----------------------------------------------------------------------------
  var scanButton = document.getElementById("checkin-scan");
  var video = document.getElementById("checkin-video");
  var cameraError = document.getElementById("checkin-camera-error");
  if (!scanButton || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return; // no camera API (or not a secure origin): typing the code still works
  }
  var startLabel = scanButton.textContent;
  var stream = null;
  var canvas = document.createElement("canvas");
  var detector = null;
  var lastCode = "";
  var lastAt = 0;

  scanButton.hidden = false;

  function loadDecoder() {
    if ("BarcodeDetector" in window) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") >= 0) {
          detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return;
        }
        return loadJsQR();
      }, loadJsQR);
    }
    return loadJsQR();
  }

  function loadJsQR() {
    if (window.jsQR) {
      return Promise.resolve();
    }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = scanButton.getAttribute("data-decoder-url");
      script.onload = function () { resolve(); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function decodeFrame() {
    if (detector) {
      return detector.detect(video).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      });
    }
    var width = video.videoWidth;
    var height = video.videoHeight;
    if (!width || !height) {
      return Promise.resolve(null);
    }
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, width, height);
    var found = window.jsQR(context.getImageData(0, 0, width, height).data, width, height, {
      inversionAttempts: "dontInvert"
    });
    return Promise.resolve(found ? found.data : null);
  }

  function scan() {
    if (!stream) {
      return;
    }
    decodeFrame()
      .then(function (code) {
        var now = Date.now();
        // The same ticket stays in front of the camera: send it once, not every frame.
        if (code && (code !== lastCode || now - lastAt > 4000)) {
          lastCode = code;
          lastAt = now;
          input.value = code;
          submitCode();
        }
      })
      .catch(function () { /* a frame that could not be read: try the next one */ })
      .then(function () {
        if (stream) {
          window.setTimeout(scan, 250);
        }
      });
  }

  function stop() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }
    stream = null;
    video.hidden = true;
    video.srcObject = null;
    scanButton.textContent = startLabel;
    input.focus();
  }

  function start() {
    cameraError.hidden = true;
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        scanButton.textContent = scanButton.getAttribute("data-stop-label");
        return video.play().then(loadDecoder).then(scan);
      })
      .catch(function () {
        stop();
        cameraError.textContent = cameraError.getAttribute("data-message");
        cameraError.hidden = false;
      });
  }

  scanButton.addEventListener("click", function () {
    if (stream) {
      stop();
    } else {
      start();
    }
  });
  window.addEventListener("pagehide", stop);
})();
