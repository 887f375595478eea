// renditions.mjs URL THROTTLE_KBPS [FREE_SECONDS] [THROTTLED_SECONDS] [RESTORED_SECONDS]
//
// Opens web/e2e/abr/hlsjs.html (hls.js with its defaults on a multivariant
// playlist with renditions) in headless Chromium, lets it play unthrottled
// until it plays the highest level (at most FREE_SECONDS, default 20), then
// throttles the page's network with the DevTools protocol
// (Network.emulateNetworkConditions: THROTTLE_KBPS down and up, 40 ms of
// latency) and samples for THROTTLED_SECONDS (default 30): which level
// hls.js plays and loads, its bandwidth estimate, decoded frames. Then, for
// at most RESTORED_SECONDS (default 0: skipped), the throttle is lifted and
// the time hls.js takes to play the highest level again is noted (upAt;
// informational). Prints one JSON line. Exit code 0 if hls.js moved to a lower level under the
// throttle and kept presenting frames there, 1 otherwise, 2 on a harness
// failure.
import { launch } from './browser.mjs';

const url = process.argv[2];
const kbps = Number(process.argv[3]);
const freeS = Number(process.argv[4] || 20);
const throttledS = Number(process.argv[5] || 30);
const restoredS = Number(process.argv[6] || 0);
if (!url || !kbps) {
  console.error('usage: node renditions.mjs URL THROTTLE_KBPS [FREE_SECONDS] [THROTTLED_SECONDS]');
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const result = {
  url, throttleKbps: kbps, version: null, levels: [], firstLevel: null, topLevel: null,
  reachedTop: false, throttledAt: null, downAt: null, downToHeight: null, framesOnLower: 0,
  restoredAt: null, upAt: null,
  samples: [], switches: [], loads: [], errors: [],
};
let browser;
let code = 1;
const t0 = Date.now();
try {
  browser = await launch();
  const { page } = browser;
  page.on('pageerror', (e) => result.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') result.errors.push(m.text()); });
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 30000 });
  const sample = async (phase) => {
    const s = await page.evaluate(() => window.abr.sample());
    s.phase = phase;
    s.at = s.t - t0;
    delete s.t;
    result.samples.push(s);
    return s;
  };
  // Unthrottled: until hls.js plays the highest level.
  let s;
  for (const end = Date.now() + freeS * 1000; Date.now() < end;) {
    s = await sample('free');
    const levels = await page.evaluate(() => window.abr.levels);
    if (levels.length > 1 && s.frames > 0 && s.currentLevel === levels.length - 1) {
      result.reachedTop = true;
      break;
    }
    await sleep(250);
  }
  if (!result.reachedTop) throw new Error('hls.js did not play the highest level unthrottled within ' + freeS + ' s');
  await sleep(2000);
  await sample('free');

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 40,
    downloadThroughput: (kbps * 1000) / 8, uploadThroughput: (kbps * 1000) / 8,
  });
  result.throttledAt = Date.now() - t0;
  let lowerSince = null;
  let framesAtLower = null;
  for (const end = Date.now() + throttledS * 1000; Date.now() < end;) {
    s = await sample('throttled');
    const top = (await page.evaluate(() => window.abr.levels)).length - 1;
    if (s.currentLevel >= 0 && s.currentLevel < top) {
      if (lowerSince === null) {
        lowerSince = s.at;
        framesAtLower = s.frames;
        result.downAt = s.at - result.throttledAt;
        result.downToHeight = s.height;
      }
      result.framesOnLower = s.frames - framesAtLower;
      // Five seconds on a lower level with frames growing: done.
      if (s.at - lowerSince >= 5000 && result.framesOnLower > 60) break;
    } else {
      lowerSince = null;
    }
    await sleep(250);
  }
  if (restoredS > 0 && result.downAt !== null) {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    result.restoredAt = Date.now() - t0;
    const top = (await page.evaluate(() => window.abr.levels)).length - 1;
    for (const end = Date.now() + restoredS * 1000; Date.now() < end;) {
      s = await sample('restored');
      if (s.currentLevel === top) {
        result.upAt = s.at - result.restoredAt;
        break;
      }
      await sleep(250);
    }
  }
  const a = await page.evaluate(() => ({ version: window.abr.version, levels: window.abr.levels, firstLevel: window.abr.firstLevel, switches: window.abr.switches, loads: window.abr.loads, errors: window.abr.errors }));
  result.version = a.version;
  result.levels = a.levels;
  result.firstLevel = a.firstLevel;
  result.topLevel = a.levels.length - 1;
  result.switches = a.switches.map((x) => ({ ...x, t: x.t - t0 }));
  result.loads = a.loads.map((x) => ({ ...x, t: x.t - t0 }));
  result.errors.push(...a.errors.map((x) => ({ ...x, t: x.t - t0 })));
  code = result.downAt !== null && result.framesOnLower > 60 ? 0 : 1;
} catch (e) {
  result.errors.push('harness: ' + (e && e.message ? e.message : String(e)));
  code = 2;
} finally {
  if (browser) await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
