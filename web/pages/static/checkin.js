// kast venue check-in: a ticket code typed (or typed by a USB scanner), or
// read from its QR code with the camera where the browser has
// BarcodeDetector; each goes to the check-in API once.
(function () {
  'use strict';
  var root = document.getElementById('checkin');
  if (!root) return;
  var ev = root.getAttribute('data-event');
  var form = document.getElementById('checkin-form');
  var input = document.getElementById('ticket');
  var out = document.getElementById('checkin-result');
  var scanBtn = document.getElementById('scan');
  var video = document.getElementById('camera');
  var busy = false, last = '', lastAt = 0;

  function show(cls, text) {
    out.className = 'result ' + cls;
    out.textContent = text;
  }

  function checkIn(code) {
    code = code.trim();
    if (!code || busy) return;
    if (code === last && Date.now() - lastAt < 3000) return; // the camera sees the same code many times
    busy = true;
    last = code;
    lastAt = Date.now();
    fetch('/api/v1/events/' + encodeURIComponent(ev) + '/check-ins', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ticket: code }),
    }).then(function (res) {
      return res.json().then(function (d) { return { status: res.status, data: d }; });
    }).then(function (r) {
      busy = false;
      if (r.status === 200) show('ok', '✓ ' + r.data.name + ' checked in' + (r.data.affiliation ? ' (' + r.data.affiliation + ')' : '') + '.');
      else if (r.status === 409) show('warn', 'Already checked in at ' + new Date(r.data.checked_in_at).toLocaleTimeString() + '.');
      else show('bad', r.data.error || 'Check-in failed.');
      input.value = '';
      input.focus();
    }, function () {
      busy = false;
      show('bad', 'The server cannot be reached.');
    });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    checkIn(input.value);
  });

  if ('BarcodeDetector' in window && navigator.mediaDevices) {
    scanBtn.hidden = false;
    scanBtn.addEventListener('click', function () {
      var detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).then(function (stream) {
        video.srcObject = stream;
        video.hidden = false;
        video.play();
        scanBtn.hidden = true;
        (function loop() {
          detector.detect(video).then(function (codes) {
            if (codes.length) checkIn(codes[0].rawValue);
          }).catch(function () { /* frame not ready */ }).then(function () { setTimeout(loop, 250); });
        })();
      }, function (err) {
        show('bad', 'No camera: ' + err.message + '. Type the code instead.');
      });
    });
  }
  input.focus();
})();
