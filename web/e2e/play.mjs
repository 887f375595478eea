// play.mjs URL [WAIT_SECONDS] [SAMPLE_SECONDS]
//
// Opens a kast watch page (or any page exposing window.kast = {hls, video}, or
// just a <video>) in headless Chromium, waits up to WAIT_SECONDS (default 20)
// for playback to start, then samples decoded frames, currentTime and
// hls.latency every 250 ms for SAMPLE_SECONDS (default 5). Prints one JSON line:
//   {started, startMs, framesStart, framesEnd, framesSeries, timeSeries,
//    wallSeries (Unix ms of each sample), latency, latencySeries, state, errors}
// Exit code 0 if frames kept growing during sampling, 1 otherwise, 2 on a
// harness failure.
import { launch } from './browser.mjs';

const url = process.argv[2];
const waitS = Number(process.argv[3] || 20);
const sampleS = Number(process.argv[4] || 5);
if (!url) {
  console.error('usage: node play.mjs URL [WAIT_SECONDS] [SAMPLE_SECONDS]');
  process.exit(2);
}

// sample runs in the page: one snapshot of the player.
function sample() {
  const k = window.kast || {};
  const v = k.video || document.querySelector('video');
  if (!v) return null;
  let frames = 0;
  if (v.getVideoPlaybackQuality) frames = v.getVideoPlaybackQuality().totalVideoFrames;
  else if ('webkitDecodedFrameCount' in v) frames = v.webkitDecodedFrameCount;
  const lat = k.hls ? k.hls.latency : k.latency;
  return {
    frames,
    time: v.currentTime,
    paused: v.paused,
    readyState: v.readyState,
    latency: typeof lat === 'number' && lat > 0 ? lat : null,
    target: k.hls && typeof k.hls.targetLatency === 'number' ? k.hls.targetLatency : null,
    state: k.state || null,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 3) => (x === null || x === undefined ? null : Number(x.toFixed(d)));

const errors = [];
const result = { url, started: false, startMs: null, framesStart: 0, framesEnd: 0, framesSeries: [], timeSeries: [], wallSeries: [], latency: null, latencySeries: [], targetLatency: null, state: null, errors };
let browser;
let code = 1;
try {
  browser = await launch();
  const { page } = browser;
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: waitS * 1000 });

  // Playback has started when time advances past 0 with decoded frames.
  let s = null;
  while (Date.now() - t0 < waitS * 1000) {
    s = await page.evaluate(sample);
    if (s && !s.paused && s.time > 0 && s.frames > 0 && s.readyState >= 3) {
      result.started = true;
      result.startMs = Date.now() - t0;
      break;
    }
    await sleep(100);
  }
  if (result.started) {
    const end = Date.now() + sampleS * 1000;
    while (Date.now() < end) {
      s = await page.evaluate(sample);
      result.framesSeries.push(s.frames);
      result.timeSeries.push(round(s.time));
      result.wallSeries.push(Date.now());
      result.latencySeries.push(round(s.latency));
      await sleep(250);
    }
    s = await page.evaluate(sample);
    result.framesSeries.push(s.frames);
    result.timeSeries.push(round(s.time));
    result.wallSeries.push(Date.now());
    result.latencySeries.push(round(s.latency));
    result.framesStart = result.framesSeries[0];
    result.framesEnd = s.frames;
    result.latency = round(s.latency);
    result.targetLatency = round(s.target);
    // Frames "kept growing": more at the end, and no second-long freeze.
    const perSecond = 4;
    let frozen = false;
    for (let i = perSecond; i < result.framesSeries.length; i++) {
      if (result.framesSeries[i] <= result.framesSeries[i - perSecond]) frozen = true;
    }
    code = result.framesEnd > result.framesStart && !frozen ? 0 : 1;
  }
  result.state = s ? s.state : null;
  // The protocols the page's requests went over (h2, http/1.1), for HTTPS tests.
  result.protocols = await page.evaluate(() => [...new Set(performance.getEntriesByType('resource')
    .concat(performance.getEntriesByType('navigation')).map((e) => e.nextHopProtocol).filter(Boolean))]);
} catch (e) {
  errors.push('harness: ' + (e && e.message ? e.message : String(e)));
  code = 2;
} finally {
  if (browser) await browser.close();
}
console.log(JSON.stringify(result));
process.exit(code);
