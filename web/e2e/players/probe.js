// probe.js measures the player on a test page for web/e2e/players.mjs. Each
// page creates its player with that player's default configuration and
// hands the <video> element and a latency function to probe.attach; nothing
// here changes how the player plays.
//
// Glass-to-glass: the publisher (testutil.ClockBarFilter) draws the wall
// clock, in milliseconds modulo 2^32, as a barcode in the top left corner of
// every picture when the frame is made: 32 cells of 16x16 pixels, bit i at
// x = 16i, white for 1, and under it a row with every bit inverted, which
// tells a readable picture from a damaged one. For each frame Chromium
// presents (requestVideoFrameCallback), the strip is drawn to a canvas, read
// back, and its clock subtracted from the presentation time. Both clocks are
// this machine's.
(function () {
  'use strict';
  var CELL = 16, BITS = 32, W = CELL * BITS, H = 2 * CELL;
  var TWO32 = 4294967296;

  var probe = window.probe = {
    player: null,
    events: [],      // {t, type, detail}
    g2g: [],         // glass-to-glass of presented frames, ms
    unreadable: 0,   // presented frames whose barcode failed its check
    presented: 0,    // frames seen by requestVideoFrameCallback
    firstFrameAt: null,
    lastFrameAt: null,
    maxFrameGapMs: 0, // longest time between presented frames after the first
    waitingAfterStart: 0,
    latency: function () { return null; },
    target: function () { return null; },
  };

  // whenLive calls start once src answers 200, polling every 100 ms: a
  // page opened before the publisher starts joins at the first playlist,
  // the way kast's watch page does (players themselves give up on a 404).
  probe.whenLive = function (src, start) {
    var q = new URLSearchParams(location.search);
    if (!q.get('wait')) { start(); return; }
    (function poll() {
      fetch(src, { cache: 'no-store' }).then(function (res) {
        if (res.ok) { probe.log('live', null); start(); } else setTimeout(poll, 100);
      }, function () { setTimeout(poll, 100); });
    })();
  };

  probe.log = function (type, detail) {
    probe.events.push({ t: Date.now(), type: type, detail: detail === undefined ? null : detail });
  };

  window.addEventListener('error', function (e) { probe.log('pageerror', String(e.message)); });

  // readClock returns the barcode's clock (ms mod 2^32) or null.
  function readClock(ctx) {
    var d = ctx.getImageData(0, 0, W, H).data;
    var v = 0;
    for (var i = 0; i < BITS; i++) {
      var x = i * CELL + CELL / 2;
      var top = d[((CELL / 2) * W + x) * 4] > 128;
      var bottom = d[((CELL + CELL / 2) * W + x) * 4] > 128;
      if (top === bottom) return null;
      if (top) v += Math.pow(2, i);
    }
    return v;
  }

  probe.attach = function (video, opts) {
    opts = opts || {};
    probe.video = video;
    if (opts.latency) probe.latency = opts.latency;
    if (opts.target) probe.target = opts.target;
    var canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    var ctx = canvas.getContext('2d', { willReadFrequently: true });
    var playing = false;

    ['loadedmetadata', 'canplay', 'playing', 'waiting', 'stalled', 'seeking', 'seeked', 'ratechange', 'pause', 'ended', 'error']
      .forEach(function (name) {
        video.addEventListener(name, function () {
          var detail = { currentTime: round(video.currentTime), buffered: ranges(video.buffered) };
          if (name === 'ratechange') detail.rate = video.playbackRate;
          if (name === 'error' && video.error) detail.error = video.error.code + ' ' + video.error.message;
          if (name === 'playing') playing = true;
          // A seek makes the element wait too; that is no stall.
          if (name === 'waiting' && playing && probe.firstFrameAt !== null && !video.seeking) probe.waitingAfterStart++;
          probe.log('video.' + name, detail);
        });
      });

    function onFrame(now, md) {
      var shown = performance.timeOrigin + md.expectedDisplayTime;
      probe.presented++;
      if (probe.firstFrameAt === null) {
        probe.firstFrameAt = shown;
        probe.log('firstFrame', { mediaTime: round(md.mediaTime), currentTime: round(video.currentTime), buffered: ranges(video.buffered) });
      } else {
        probe.maxFrameGapMs = Math.max(probe.maxFrameGapMs, shown - probe.lastFrameAt);
      }
      probe.lastFrameAt = shown;
      try {
        ctx.drawImage(video, 0, 0, W, H, 0, 0, W, H);
        var v = readClock(ctx);
        if (v === null) {
          probe.unreadable++;
        } else {
          var ms = ((shown % TWO32) - v + TWO32) % TWO32;
          if (ms < 60000) probe.g2g.push(Math.round(ms));
          else probe.unreadable++;
        }
      } catch (e) {
        probe.unreadable++;
      }
      video.requestVideoFrameCallback(onFrame);
    }
    video.requestVideoFrameCallback(onFrame);
  };

  // sample is what the driver polls.
  probe.sample = function () {
    var v = probe.video;
    if (!v) return null;
    var q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
    var b = v.buffered;
    var ahead = 0;
    for (var i = 0; i < b.length; i++) {
      if (b.start(i) <= v.currentTime + 0.05 && v.currentTime < b.end(i)) ahead = b.end(i) - v.currentTime;
    }
    var s = v.seekable;
    return {
      frames: q ? q.totalVideoFrames : 0,
      dropped: q ? q.droppedVideoFrames : 0,
      presented: probe.presented,
      time: v.currentTime,
      paused: v.paused,
      readyState: v.readyState,
      rate: v.playbackRate,
      ahead: ahead,
      seekableLag: s.length ? s.end(s.length - 1) - v.currentTime : null,
      latency: num(probe.latency()),
      target: num(probe.target()),
      firstFrameAt: probe.firstFrameAt,
    };
  };

  function num(x) { return typeof x === 'number' && isFinite(x) ? x : null; }
  function round(x) { return Math.round(x * 1000) / 1000; }
  function ranges(r) {
    var out = [];
    for (var i = 0; i < r.length; i++) out.push([round(r.start(i)), round(r.end(i))]);
    return out;
  }
})();
