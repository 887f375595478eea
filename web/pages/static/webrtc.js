// kast WebRTC player: plays a track over WHEP (draft-ietf-wish-whep) into a
// <video> element, and measures its latency from getStats(). watch.js uses
// it through window.kastWebRTC.play(); the page falls back to HLS by itself
// on any failure the callbacks report.
(function () {
  'use strict';

  var ICE_TIMEOUT_MS = 6000; // no connection by then: UDP is probably blocked

  // play starts a session. cb.onLive(), cb.onWaiting(retryAfterMs) (the
  // track is not live yet), cb.onFail(reason, wasLive) (a session that never
  // connected: use HLS; one that played and ended: start again). It returns
  // {stop(), latency(), audio}.
  function play(video, url, cb) {
    var pc = null, location = null, stopped = false, liveTimer = null, wasLive = false;
    var session = { stop: stop, latency: function () { return lastLatency; }, audio: null };
    var lastLatency = null;

    function stop() {
      stopped = true;
      clearTimeout(liveTimer);
      clearInterval(statsTimer);
      if (pc) { pc.close(); pc = null; }
      if (location) {
        fetch(location, { method: 'DELETE' }).catch(function () {});
        location = null;
      }
      if (video.srcObject) video.srcObject = null;
    }
    function fail(reason) {
      if (stopped) return;
      stop();
      cb.onFail(reason, wasLive);
    }

    if (!window.RTCPeerConnection) {
      setTimeout(function () { fail('this browser has no WebRTC'); }, 0);
      return session;
    }
    pc = session.pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    var stream = new MediaStream();
    pc.ontrack = function (e) {
      stream.addTrack(e.track);
      video.srcObject = stream;
    };
    pc.onconnectionstatechange = function () {
      if (!pc) return;
      if (pc.connectionState === 'connected') {
        clearTimeout(liveTimer);
        wasLive = true;
        cb.onLive();
      } else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        fail(wasLive ? 'the WebRTC session ended' : 'the WebRTC connection failed (UDP blocked?)');
      }
    };

    pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer);
    }).then(function () {
      return gathered(pc, 1500);
    }).then(function () {
      if (stopped) return null;
      return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    }).then(function (res) {
      if (!res || stopped) return null;
      if (res.status === 409) {
        var ra = parseInt(res.headers.get('Retry-After') || '2', 10);
        stop();
        cb.onWaiting(Math.max(1, ra) * 1000);
        return null;
      }
      if (res.status !== 201) {
        return res.text().then(function (t) {
          fail('WebRTC is not available for this track (' + res.status + (t ? ': ' + t.trim() : '') + ')');
          return null;
        });
      }
      location = res.headers.get('Location');
      if (location) location = new URL(location, new URL(url, document.baseURI)).toString();
      session.audio = res.headers.get('Kast-Audio');
      return res.text();
    }).then(function (answer) {
      if (!answer || stopped) return;
      liveTimer = setTimeout(function () { fail('no WebRTC connection after ' + ICE_TIMEOUT_MS / 1000 + ' s (UDP blocked?)'); }, ICE_TIMEOUT_MS);
      return pc.setRemoteDescription({ type: 'answer', sdp: answer });
    }).catch(function (err) {
      fail('WebRTC failed: ' + err);
    });

    // Latency over WebRTC: what the network and the jitter buffer add, i.e.
    // half the round trip plus the time frames wait to be played.
    var prev = null;
    var statsTimer = setInterval(function () {
      if (!pc) return;
      pc.getStats().then(function (report) {
        var rtt = null, v = null;
        report.forEach(function (r) {
          if (r.type === 'inbound-rtp' && r.kind === 'video') v = r;
          if (r.type === 'candidate-pair' && r.nominated && typeof r.currentRoundTripTime === 'number') rtt = r.currentRoundTripTime;
        });
        if (!v || !v.jitterBufferEmittedCount) return;
        if (prev && v.jitterBufferEmittedCount > prev.n) {
          var jb = (v.jitterBufferDelay - prev.d) / (v.jitterBufferEmittedCount - prev.n);
          lastLatency = jb + (rtt || 0) / 2;
        }
        prev = { d: v.jitterBufferDelay, n: v.jitterBufferEmittedCount };
      }, function () {});
    }, 1000);
    return session;
  }

  // gathered resolves once ICE gathering completes, or after ms.
  function gathered(pc, ms) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === 'complete') return resolve();
      var t = setTimeout(resolve, ms);
      pc.addEventListener('icegatheringstatechange', function () {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      });
    });
  }

  window.kastWebRTC = { play: play };
})();
