// kast publishing page: sends the camera and microphone (or a screen and
// the microphone) to the server over WebRTC with WHIP (RFC 9725), H.264
// preferred. The stream key goes only into the Authorization header of the
// WHIP request; it is kept in sessionStorage (this tab only) if the speaker
// asks, never in the URL or localStorage.
// Tests read window.kastPublish = {state, pc, codec, bitrate, ...}.
(function () {
  'use strict';

  var VIDEO_BITRATE = 2500000; // bit/s: 720p30 looks good and fits most uplinks
  var GATHER_MS = 2000;        // wait at most this long for local candidates
  var STATS_MS = 1000;

  var root = document.getElementById('publisher');
  var whipURL = new URL(root.getAttribute('data-whip'), document.baseURI).href;
  var track = root.getAttribute('data-track');
  var form = document.getElementById('publish-form');
  var keyEl = document.getElementById('stream-key');
  var remember = document.getElementById('remember-key');
  var startBtn = document.getElementById('start');
  var stopBtn = document.getElementById('stop');
  var preview = document.getElementById('preview');
  var stateEl = document.getElementById('state');
  var statsEl = document.getElementById('stats');
  var errorEl = document.getElementById('error');
  var storeKey = 'kast.streamKey.' + track;

  var LABELS = {
    idle: 'Not live',
    media: 'Asking for the camera and microphone…',
    connecting: 'Connecting to the server…',
    live: '● Live',
    reconnecting: 'Connection interrupted, trying to recover…',
    error: 'Not live'
  };

  var pub = window.kastPublish = {
    state: 'idle', pc: null, stream: null, session: null, codec: null,
    bitrate: null, width: null, height: null, fps: null, framesEncoded: 0,
    audioBytes: 0, limitation: null, error: null
  };
  var statsTimer = null;
  var lastVideo = null;
  var generation = 0;

  function setState(s, label) {
    pub.state = s;
    stateEl.textContent = label || LABELS[s] || s;
    stateEl.setAttribute('data-state', s);
  }

  function showError(msg) {
    pub.error = msg;
    errorEl.textContent = msg;
    errorEl.hidden = false;
  }

  function clearError() {
    pub.error = null;
    errorEl.textContent = '';
    errorEl.hidden = true;
  }

  try {
    var saved = window.sessionStorage.getItem(storeKey);
    if (saved) {
      keyEl.value = saved;
      remember.checked = true;
    }
  } catch (e) { /* storage disabled: nothing to restore */ }

  function rememberKey(key) {
    try {
      if (remember.checked) window.sessionStorage.setItem(storeKey, key);
      else window.sessionStorage.removeItem(storeKey);
    } catch (e) { /* storage disabled */ }
  }
  remember.addEventListener('change', function () {
    if (!remember.checked) rememberKey('');
  });

  function source() {
    var el = form.querySelector('input[name="source"]:checked');
    return el ? el.value : 'camera';
  }

  var audioConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

  // getMedia returns the stream to send: camera and microphone, or a
  // screen with the microphone.
  async function getMedia(kind) {
    if (!navigator.mediaDevices) {
      throw new Error('This page must be opened over HTTPS (or on localhost) for the browser to share a camera or screen.');
    }
    if (kind === 'screen') {
      var screen = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: false });
      try {
        var mic = await navigator.mediaDevices.getUserMedia({ audio: audioConstraints, video: false });
        mic.getAudioTracks().forEach(function (t) { screen.addTrack(t); });
      } catch (e) {
        screen.getTracks().forEach(function (t) { t.stop(); });
        throw e;
      }
      return screen;
    }
    return navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
      audio: audioConstraints
    });
  }

  function mediaError(e, kind) {
    var what = kind === 'screen' ? 'the screen or the microphone' : 'the camera or the microphone';
    switch (e && e.name) {
      case 'NotAllowedError':
      case 'SecurityError':
        return 'The browser was not allowed to use ' + what + '. Allow it (the icon in the address bar, or the site settings) and press "Go live" again.';
      case 'NotFoundError':
        return 'No ' + (kind === 'screen' ? 'microphone' : 'camera or microphone') + ' was found on this computer.';
      case 'NotReadableError':
      case 'AbortError':
        return 'The browser could not open ' + what + ': another program may be using it.';
      case 'OverconstrainedError':
        return 'The camera cannot deliver a picture the page asked for.';
    }
    return (e && e.message) || String(e);
  }

  // preferH264 puts H.264 (packetization mode 1, constrained baseline
  // first: every player decodes it) ahead of VP8 and the rest.
  function preferH264(transceiver) {
    if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
    var caps = RTCRtpReceiver.getCapabilities('video');
    if (!caps) return;
    var rank = function (c) {
      var mime = c.mimeType.toLowerCase();
      var fmtp = c.sdpFmtpLine || '';
      if (mime === 'video/h264' && /packetization-mode=1/.test(fmtp)) {
        return /profile-level-id=42e0/.test(fmtp) ? 0 : 1;
      }
      if (mime === 'video/vp8') return 2;
      return 3;
    };
    var sorted = caps.codecs.slice().sort(function (a, b) { return rank(a) - rank(b); });
    try {
      transceiver.setCodecPreferences(sorted);
    } catch (e) {
      console.warn('kast: codec preferences not applied', e);
    }
  }

  // iceServers reads the STUN/TURN servers the server names in Link
  // headers (RFC 9725 4.6).
  async function iceServers() {
    try {
      var res = await fetch(whipURL, { method: 'OPTIONS' });
      var link = res.headers.get('Link');
      if (!link) return [];
      var out = [];
      link.split(/,(?=\s*<)/).forEach(function (part) {
        var m = /<([^>]+)>(.*)/.exec(part.trim());
        if (!m || !/rel="?ice-server"?/.test(m[2])) return;
        var s = { urls: m[1] };
        var u = /username="([^"]*)"/.exec(m[2]);
        var c = /credential="([^"]*)"/.exec(m[2]);
        if (u) s.username = u[1];
        if (c) s.credential = c[1];
        out.push(s);
      });
      return out;
    } catch (e) {
      return [];
    }
  }

  function gathered(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === 'complete') return resolve();
      var done = function () {
        if (pc.iceGatheringState === 'complete') resolve();
      };
      pc.addEventListener('icegatheringstatechange', done);
      setTimeout(resolve, GATHER_MS);
    });
  }

  function httpError(status, text) {
    text = (text || '').trim();
    switch (status) {
      case 401:
        return 'The stream key was not accepted. Check it with the organizers.';
      case 403:
        return 'This stream key is for another track: ' + text + '.';
      case 404:
        return 'The server does not take WebRTC publishing for this track (' + text + ').';
      case 409:
        return 'Someone is already live on this track. If that was you a moment ago, wait a few seconds and press "Go live" again.';
      case 422:
        return 'This browser offered no video or audio format the server takes: ' + text;
      case 400:
        return 'The server could not use what the browser sent: ' + text;
      case 503:
        return 'The server is busy or restarting; try again in a few seconds.';
    }
    return 'The server answered ' + status + (text ? ': ' + text : '.');
  }

  async function start() {
    clearError();
    var key = keyEl.value.trim();
    if (!key) {
      showError('Enter the stream key first.');
      keyEl.focus();
      return;
    }
    rememberKey(key);
    var gen = ++generation;
    var kind = source();
    startBtn.disabled = true;
    stopBtn.disabled = false;
    setState('media', kind === 'screen' ? 'Asking for the screen and microphone…' : LABELS.media);
    var stream;
    try {
      stream = await getMedia(kind);
    } catch (e) {
      if (gen !== generation) return;
      fail(mediaError(e, kind));
      return;
    }
    if (gen !== generation) {
      stream.getTracks().forEach(function (t) { t.stop(); });
      return;
    }
    pub.stream = stream;
    preview.srcObject = stream;
    setState('connecting');
    try {
      await connect(gen, key, stream, kind);
    } catch (e) {
      if (gen === generation) fail(e.message || String(e));
    }
  }

  async function connect(gen, key, stream, kind) {
    var pc = new RTCPeerConnection({ iceServers: await iceServers(), bundlePolicy: 'max-bundle' });
    pub.pc = pc;
    var video = stream.getVideoTracks()[0];
    var audio = stream.getAudioTracks()[0];
    if (video) {
      video.contentHint = kind === 'screen' ? 'detail' : 'motion';
      var vt = pc.addTransceiver(video, {
        direction: 'sendonly',
        streams: [stream],
        sendEncodings: [{ maxBitrate: VIDEO_BITRATE }]
      });
      preferH264(vt);
      // When the uplink or the CPU falls short, lower the frame rate, not
      // the resolution: slides stay sharp, and every change of resolution
      // would restart the stream for HLS and WebRTC viewers.
      var params = vt.sender.getParameters();
      params.degradationPreference = 'maintain-resolution';
      vt.sender.setParameters(params).catch(function () {});
      video.addEventListener('ended', function () {
        if (gen === generation) stop(kind === 'screen' ? 'Screen sharing ended.' : 'The camera stopped.');
      });
    }
    if (audio) pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] });
    pc.addEventListener('connectionstatechange', function () {
      if (gen !== generation) return;
      switch (pc.connectionState) {
        case 'connected':
          setState('live');
          break;
        case 'disconnected':
          setState('reconnecting');
          break;
        case 'failed':
          fail('The connection to the server was lost (or never worked: a firewall may block WebRTC). Press "Go live" to try again.');
          break;
      }
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (gen !== generation) return;
    var res = await fetch(whipURL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + key },
      body: pc.localDescription.sdp
    });
    var body = await res.text();
    if (res.status !== 201) throw new Error(httpError(res.status, body));
    var loc = res.headers.get('Location');
    if (loc) pub.session = new URL(loc, whipURL).href;
    if (gen !== generation) {
      endSession();
      return;
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    statsTimer = setInterval(function () { stats(pc); }, STATS_MS);
  }

  async function stats(pc) {
    var report;
    try {
      report = await pc.getStats();
    } catch (e) {
      return;
    }
    var v = null, audioBytes = 0, codecs = {};
    report.forEach(function (s) {
      if (s.type === 'codec') codecs[s.id] = s.mimeType;
      if (s.type !== 'outbound-rtp') return;
      if (s.kind === 'video') v = s;
      else if (s.kind === 'audio') audioBytes = s.bytesSent || 0;
    });
    pub.audioBytes = audioBytes;
    if (!v) return;
    var now = v.timestamp;
    if (lastVideo && now > lastVideo.timestamp) {
      pub.bitrate = Math.round(8 * (v.bytesSent - lastVideo.bytesSent) * 1000 / (now - lastVideo.timestamp));
    }
    lastVideo = { timestamp: now, bytesSent: v.bytesSent };
    pub.codec = (codecs[v.codecId] || '').replace(/^video\//, '') || null;
    pub.width = v.frameWidth || null;
    pub.height = v.frameHeight || null;
    pub.fps = v.framesPerSecond || null;
    pub.framesEncoded = v.framesEncoded || 0;
    pub.limitation = v.qualityLimitationReason && v.qualityLimitationReason !== 'none' ? v.qualityLimitationReason : null;
    var parts = [];
    if (pub.bitrate !== null) parts.push((pub.bitrate / 1e6).toFixed(2) + ' Mbit/s');
    if (pub.width) parts.push(pub.width + '×' + pub.height);
    if (pub.fps) parts.push(Math.round(pub.fps) + ' fps');
    if (pub.codec) parts.push(pub.codec);
    if (pub.limitation) parts.push('limited by ' + pub.limitation);
    statsEl.textContent = parts.join(' · ');
  }

  // endSession ends the WHIP session (DELETE). keepalive lets the request
  // go out while the page unloads. It resolves when the server answered,
  // or after a second.
  function endSession() {
    var url = pub.session;
    pub.session = null;
    if (!url) return Promise.resolve();
    var req = fetch(url, { method: 'DELETE', keepalive: true }).catch(function () {});
    return Promise.race([req, new Promise(function (r) { setTimeout(r, 1000); })]);
  }

  // teardown stops sending. The DELETE goes out first, so that the server
  // logs the end as the speaker's and not as a lost connection.
  async function teardown(wait) {
    generation++;
    clearInterval(statsTimer);
    statsTimer = null;
    lastVideo = null;
    startBtn.disabled = true;
    stopBtn.disabled = true;
    var ended = endSession();
    if (wait) await ended;
    if (pub.pc) {
      pub.pc.close();
      pub.pc = null;
    }
    if (pub.stream) {
      pub.stream.getTracks().forEach(function (t) { t.stop(); });
      pub.stream = null;
    }
    preview.srcObject = null;
    statsEl.textContent = '';
    pub.bitrate = null;
    startBtn.disabled = false;
    stopBtn.disabled = true;
  }

  async function stop(msg) {
    setState('stopping', 'Stopping…');
    await teardown(true);
    setState('idle', msg || LABELS.idle);
  }

  function fail(msg) {
    teardown(false);
    showError(msg);
    setState('error');
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    start();
  });
  stopBtn.addEventListener('click', function () { stop('Stopped. You are no longer live.'); });
  window.addEventListener('pagehide', function () { if (pub.pc) teardown(false); });
})();
