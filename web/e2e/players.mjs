// players.mjs URL [WAIT_SECONDS] [SAMPLE_SECONDS] [SETTLE_SECONDS]
//
// Starts headless Chromium, lets it settle SETTLE_SECONDS (default 2: its
// start-up burst of CPU would otherwise starve a publisher on the same
// machine just as the player starts), then opens a player test page (web/e2e/players/*.html, which expose
// window.probe) in headless Chromium, waits up to WAIT_SECONDS (default 20)
// for the first presented frame, then samples the player every 250 ms for
// SAMPLE_SECONDS (default 15). Prints one JSON line: the samples, the
// page's event log, glass-to-glass figures read from the clock barcode in
// the picture, and a verdict. Exit code 0 if frames kept growing and the
// player did not stall after its first frame, 1 otherwise, 2 on a harness
// failure.
import { launch } from './browser.mjs';

const url = process.argv[2];
const waitS = Number(process.argv[3] || 20);
const sampleS = Number(process.argv[4] || 15);
const settleS = Number(process.argv[5] || 2);
if (!url) {
  console.error('usage: node players.mjs URL [WAIT_SECONDS] [SAMPLE_SECONDS]');
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 3) => (x === null || x === undefined ? null : Number(x.toFixed(d)));
const quantile = (xs, q) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

const errors = [];
const result = {
  url, player: null, started: false, startMs: null, samples: [], events: [],
  g2g: null, latency: null, stalls: 0, waitingAfterStart: 0, maxFrameGapMs: null,
  frozen: false, framesStart: 0, framesEnd: 0, errors,
};
let browser;
let code = 1;
let t0 = Date.now();
try {
  browser = await launch();
  const { page } = browser;
  await page.goto('about:blank');
  await sleep(settleS * 1000);
  t0 = Date.now();
  // With ?debug=1 every console line is kept (players' own logs).
  const debug = new URL(url).searchParams.get('debug');
  result.console = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
    if (debug) result.console.push({ t: Date.now() - t0, type: m.type(), text: m.text().slice(0, 2000) });
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: waitS * 1000 });
  while (Date.now() - t0 < waitS * 1000) {
    const s = await page.evaluate(() => window.probe && window.probe.sample());
    if (s && s.firstFrameAt !== null && s.time > 0 && !s.paused) {
      result.started = true;
      result.startMs = Date.now() - t0;
      break;
    }
    await sleep(50);
  }
  if (result.started) {
    // The probe counts g2g and stalls from the first frame on; the samples
    // cover SAMPLE_SECONDS from now.
    const end = Date.now() + sampleS * 1000;
    for (;;) {
      const s = await page.evaluate(() => window.probe.sample());
      s.at = Date.now() - t0;
      for (const k of ['time', 'ahead', 'seekableLag', 'latency', 'target']) s[k] = round(s[k]);
      delete s.firstFrameAt;
      result.samples.push(s);
      if (Date.now() >= end) break;
      await sleep(250);
    }
    const p = await page.evaluate(() => ({
      player: window.probe.player, events: window.probe.events, g2g: window.probe.g2g,
      unreadable: window.probe.unreadable, presented: window.probe.presented,
      maxFrameGapMs: window.probe.maxFrameGapMs, waitingAfterStart: window.probe.waitingAfterStart,
    }));
    result.player = p.player;
    result.events = p.events.map((e) => ({ ...e, t: e.t - t0 }));
    result.waitingAfterStart = p.waitingAfterStart;
    result.maxFrameGapMs = Math.round(p.maxFrameGapMs);
    // hls.js reports each stall as a bufferStalledError; those after the
    // first frame count against the run, the others are kept in the log.
    const first = p.events.find((e) => e.type === 'firstFrame');
    const stalled = p.events.filter((e) => e.type === 'hls.error' && e.detail && e.detail.details === 'bufferStalledError');
    result.stalls = stalled.filter((e) => first && e.t >= first.t).length;
    result.stallsBeforeStart = stalled.length - result.stalls;
    // Glass-to-glass over the whole run, and over its second half (where
    // a player that catches up has done so).
    const half = p.g2g.slice(Math.floor(p.g2g.length / 2));
    result.g2g = {
      frames: p.g2g.length, unreadable: p.unreadable, presented: p.presented,
      p50: quantile(p.g2g, 0.5), p90: quantile(p.g2g, 0.9), min: quantile(p.g2g, 0), max: quantile(p.g2g, 1),
      lateP50: quantile(half, 0.5), first: p.g2g.slice(0, 3),
    };
    const lat = result.samples.map((s) => s.latency).filter((x) => x !== null);
    const lag = result.samples.map((s) => s.seekableLag).filter((x) => x !== null);
    result.latency = {
      player: { p50: quantile(lat, 0.5), last: lat.length ? lat[lat.length - 1] : null },
      seekable: { p50: round(quantile(lag, 0.5)), last: lag.length ? lag[lag.length - 1] : null },
      target: result.samples.length ? result.samples[result.samples.length - 1].target : null,
    };
    const frames = result.samples.map((s) => s.frames);
    result.framesStart = frames[0];
    result.framesEnd = frames[frames.length - 1];
    // Frames "kept growing": no second without a new decoded frame.
    for (let i = 4; i < frames.length; i++) if (frames[i] <= frames[i - 4]) result.frozen = true;
    const grew = result.framesEnd > result.framesStart && !result.frozen;
    code = grew && result.stalls === 0 && result.waitingAfterStart === 0 ? 0 : 1;
  } else {
    const p = await page.evaluate(() => window.probe ? window.probe.events : []);
    result.events = p.map((e) => ({ ...e, t: e.t - t0 }));
  }
} catch (e) {
  errors.push('harness: ' + (e && e.message ? e.message : String(e)));
  code = 2;
} finally {
  if (browser) await browser.close();
}
// A large line written to a pipe must drain before the process exits.
process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
