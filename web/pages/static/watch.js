// kast watch page: plays a track over WebRTC (WHEP, webrtc.js) or its
// LL-HLS playlist with hls.js (or Safari's native HLS), waits while nobody
// publishes, reconnects after errors, and shows the state and the latency.
// The WebRTC/HLS switch remembers the choice; WebRTC that cannot work here
// (not offered, no common codec, UDP blocked) falls back to HLS by itself
// and says why.
// Tests read window.kast = {hls, video, state, ...}.
(function () {
  'use strict';

  var POLL_MS = 2000;        // playlist probe interval while waiting or reconnecting
  var TICK_MS = 500;         // status/latency refresh and drift check
  var STALL_MS = 10000;      // no progress while "live" this long: reconnect
  var DRIFT_S = 0.25;        // seconds behind hls.js's target latency before jumping ahead
  var DRIFT_TICKS = 4;       // ...sustained over this many ticks
  var CATCHUP_GAP_MS = 10000; // at most one jump ahead per this interval

  var root = document.getElementById('player');
  var video = document.getElementById('video');
  var statusEl = document.getElementById('status');
  var latencyEl = document.getElementById('latency');
  var unmute = document.getElementById('unmute');
  var src = root.getAttribute('data-src');
  var whep = root.getAttribute('data-whep');
  var modeButtons = document.querySelectorAll('[data-mode]');
  var notice = document.getElementById('mode-notice');
  var MODE_KEY = 'kast.playback';
  var rtcOK = !!(whep && window.kastWebRTC && window.RTCPeerConnection);
  // ?playback=hls or ?playback=webrtc picks for this view (links, tests);
  // otherwise the remembered choice, else WebRTC where the browser has it.
  var asked = new URLSearchParams(location.search).get('playback');
  var want = (asked === 'hls' || asked === 'webrtc') ? asked : (storedMode() || (rtcOK ? 'webrtc' : 'hls'));
  var fallback = null; // why WebRTC was given up for this page view

  var LABELS = {
    loading: 'Loading…',
    waiting: 'Waiting for the speaker…',
    live: '● Live',
    buffering: 'Buffering…',
    reconnecting: 'Reconnecting…',
    paused: 'Paused',
    blocked: 'Press play to start',
    unsupported: 'This browser cannot play this stream.'
  };

  var kast = window.kast = {
    hls: null, video: video, state: 'loading', src: src,
    restarts: 0, catchUps: 0, mode: null, want: want, fallback: null, rtc: null
  };

  function storedMode() {
    try { return window.localStorage.getItem(MODE_KEY); } catch (e) { return null; }
  }

  // showMode marks the chosen button and says why WebRTC is not used.
  function showMode() {
    for (var i = 0; i < modeButtons.length; i++) {
      var b = modeButtons[i];
      b.setAttribute('aria-pressed', b.getAttribute('data-mode') === want ? 'true' : 'false');
      if (b.getAttribute('data-mode') === 'webrtc') b.disabled = !rtcOK;
    }
    if (notice) {
      notice.textContent = want === 'webrtc' && fallback ? 'Playing over HLS: ' + fallback : '';
      notice.hidden = !notice.textContent;
    }
  }

  function choose(mode) {
    try { window.localStorage.setItem(MODE_KEY, mode); } catch (e) {}
    want = kast.want = mode;
    fallback = kast.fallback = null;
    showMode();
    scheduleRestart('loading', 0);
  }
  for (var mb = 0; mb < modeButtons.length; mb++) {
    modeButtons[mb].addEventListener('click', function (e) { choose(e.currentTarget.getAttribute('data-mode')); });
  }

  var retryTimer = null;
  var generation = 0;        // bumps on every (re)start; stale callbacks check it
  var lastTime = -1, lastProgress = Date.now();
  var driftTicks = 0, lastCatchUp = 0;
  var recoveredMedia = false;

  function setState(s) {
    if (kast.state === s) return;
    kast.state = s;
    statusEl.textContent = LABELS[s] || s;
    statusEl.setAttribute('data-state', s);
    if (kast.onstate) kast.onstate(s);
  }

  // scheduleRestart tears the player down and probes again after POLL_MS.
  function scheduleRestart(state, delay) {
    generation++;
    teardown();
    setState(state);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(probe, delay === undefined ? POLL_MS : delay);
  }

  function teardown() {
    if (kast.rtc) {
      kast.rtc.stop();
      kast.rtc = null;
    }
    if (kast.hls) {
      kast.hls.destroy();
      kast.hls = null;
    }
    if (kast.mode === 'native') {
      video.removeAttribute('src');
      video.load();
    }
    kast.mode = null;
    latencyEl.textContent = '';
    kast.latency = null;
  }

  // probe starts WebRTC when it is the choice, else fetches the playlist;
  // 404 (nobody publishing) keeps waiting.
  function probe() {
    if (want === 'webrtc' && rtcOK && !fallback) {
      startWebRTC();
      return;
    }
    var gen = generation;
    fetch(src, { cache: 'no-store' }).then(function (res) {
      if (gen !== generation) return;
      if (res.ok) {
        start();
      } else {
        scheduleRestart(res.status === 404 ? 'waiting' : 'reconnecting');
      }
    }, function () {
      if (gen === generation) scheduleRestart('reconnecting');
    });
  }

  function start() {
    kast.restarts++;
    recoveredMedia = false;
    lastProgress = Date.now();
    if (window.Hls && window.Hls.isSupported()) {
      startHlsJs();
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      kast.mode = 'native';
      video.src = src;
      play();
    } else {
      setState('unsupported');
    }
  }

  function startWebRTC() {
    var gen = generation;
    kast.restarts++;
    kast.mode = 'webrtc';
    lastProgress = Date.now();
    kast.rtc = window.kastWebRTC.play(video, whep, {
      onLive: function () {
        if (gen !== generation) return;
        play();
        // The server says when WebRTC viewers get no audio (no ffmpeg to
        // turn the speaker's AAC into Opus).
        var a = kast.rtc && kast.rtc.audio;
        if (notice && a) {
          notice.textContent = 'No audio over WebRTC (' + a.replace(/^none: /, '') + '): switch to HLS to hear it.';
          notice.hidden = false;
        }
      },
      onWaiting: function (ms) {
        if (gen === generation) scheduleRestart('waiting', ms);
      },
      onFail: function (reason, wasLive) {
        if (gen !== generation) return;
        kast.rtc = null;
        if (wasLive) {
          scheduleRestart('reconnecting');
          return;
        }
        console.warn('kast: WebRTC unavailable, playing HLS:', reason);
        fallback = kast.fallback = reason;
        showMode();
        scheduleRestart('loading', 0);
      }
    });
  }

  function startHlsJs() {
    var Hls = window.Hls;
    var gen = generation;
    var hls = new Hls({
      lowLatencyMode: true,          // blocking reloads and parts; aim at PART-HOLD-BACK
      maxLiveSyncPlaybackRate: 1.25, // speed up to catch up with the target latency
      liveSyncOnStallIncrease: 0.25, // default 1 s: each stall would add a whole second
      backBufferLength: 30
    });
    kast.hls = hls;
    kast.mode = 'hls.js';
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      if (gen === generation) play();
    });
    hls.on(Hls.Events.ERROR, function (_, data) {
      if (gen !== generation || !data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recoveredMedia) {
        recoveredMedia = true;
        hls.recoverMediaError();
        return;
      }
      console.warn('kast: fatal player error', data.type, data.details);
      scheduleRestart('reconnecting');
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  }

  function play() {
    var p = video.play();
    if (p && p.catch) {
      p.catch(function (err) {
        if (err && err.name === 'NotAllowedError') {
          setState('blocked');
          unmute.textContent = 'Play';
          unmute.hidden = false;
        }
      });
    }
  }

  // latency is how far behind the live edge playback is, in seconds, or null.
  function latency() {
    if (kast.rtc) {
      return kast.rtc.latency();
    }
    if (kast.hls) {
      return kast.hls.latency > 0 ? kast.hls.latency : null;
    }
    if (kast.mode === 'native' && video.seekable.length) {
      return Math.max(0, video.seekable.end(video.seekable.length - 1) - video.currentTime);
    }
    return null;
  }

  // catchUp jumps to hls.js's live sync position when playback has drifted
  // well behind the target and the position is already buffered. hls.js's own
  // rate control only acts with more than 1 s of forward buffer, which a
  // sub-second target never has.
  function catchUp(lat) {
    var hls = kast.hls;
    if (!hls || lat === null || hls.targetLatency === null) return;
    if (lat - hls.targetLatency <= DRIFT_S) {
      driftTicks = 0;
      return;
    }
    if (++driftTicks < DRIFT_TICKS || Date.now() - lastCatchUp < CATCHUP_GAP_MS) return;
    var pos = hls.liveSyncPosition;
    if (pos === null || pos <= video.currentTime) return;
    for (var i = 0; i < video.buffered.length; i++) {
      if (video.buffered.start(i) <= pos && pos < video.buffered.end(i) - 0.1) {
        driftTicks = 0;
        lastCatchUp = Date.now();
        kast.catchUps++;
        video.currentTime = pos;
        return;
      }
    }
  }

  function tick() {
    if (kast.mode) {
      var lat = latency();
      latencyEl.textContent = lat === null ? '' : (kast.mode === 'webrtc' ? 'WebRTC' : 'HLS') + ' latency ' + lat.toFixed(2) + ' s';
      kast.latency = lat;
      if (video.currentTime !== lastTime || video.paused) {
        lastTime = video.currentTime;
        lastProgress = Date.now();
      } else if (kast.state === 'live' || kast.state === 'buffering') {
        if (Date.now() - lastProgress > STALL_MS) {
          console.warn('kast: playback stalled, reconnecting');
          scheduleRestart('reconnecting');
          return;
        }
      }
      if (kast.state === 'live') catchUp(lat);
    }
  }

  video.addEventListener('playing', function () { setState('live'); });
  video.addEventListener('waiting', function () { if (kast.mode) setState('buffering'); });
  video.addEventListener('pause', function () { if (kast.mode && !video.ended) setState('paused'); });
  video.addEventListener('ended', function () { scheduleRestart('waiting'); });
  video.addEventListener('error', function () {
    if (kast.mode === 'native') scheduleRestart('reconnecting');
  });
  video.addEventListener('volumechange', function () {
    unmute.hidden = !video.muted;
  });
  unmute.addEventListener('click', function () {
    video.muted = false;
    unmute.textContent = 'Unmute';
    play();
  });

  // retry probes again after delayMs when the player is waiting or
  // reconnecting: the live channel calls it when a track goes on air, with
  // the server's suggested random delay, and after a playback token came.
  kast.retry = function (delayMs) {
    if (kast.mode) return;
    generation++;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(probe, Math.max(0, delayMs || 0));
  };

  showMode();
  setInterval(tick, TICK_MS);
  probe();
})();
