// publish.mjs PAGE_URL STREAM_KEY [HOLD_SECONDS] [SOURCE]
//
// Opens kast's publishing page (/publish/<track>) in headless Chromium with
// a fake camera and microphone (Chromium's test pattern and beep), types
// the stream key, picks SOURCE ("camera", default, or "screen"), presses
// "Go live" and waits up to 20 s for the page to say it is live. It then
// keeps publishing for HOLD_SECONDS (default 10), presses "Stop" and checks
// that the page is no longer live.
//
// Prints JSON lines: {"event":"live", ...} as soon as the page is live (a
// test starts reading the track then), and {"event":"done", ...} at the end:
//   {live, liveMs, state, error, codec, framesEncoded, bitrate, width,
//    height, audioBytes, keyInURL, stoppedState, errors}
// Exit 0 when it went live, sent frames and stopped cleanly; 1 otherwise;
// 2 on a harness failure.
import { chromium } from 'playwright-core';
import { chromiumArgs } from './browser.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, key, holdArg = '10', sourceArg = 'camera'] = process.argv.slice(2);
if (!url || !key) {
  console.error('usage: node publish.mjs PAGE_URL STREAM_KEY [HOLD_SECONDS] [camera|screen]');
  process.exit(2);
}
const holdS = Number(holdArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const snapshot = () => page.evaluate(() => {
  const p = window.kastPublish;
  return {
    state: p.state, error: p.error, codec: p.codec, framesEncoded: p.framesEncoded,
    bitrate: p.bitrate, width: p.width, height: p.height, audioBytes: p.audioBytes, limitation: p.limitation,
    session: p.session !== null, url: location.href,
  };
});

const out = { event: 'done', live: false, liveMs: null, errors: [], keyInURL: false };
const dir = mkdtempSync(join(tmpdir(), 'kast-publish-'));
let context, page;
let code = 1;
try {
  context = await chromium.launchPersistentContext(dir, {
    headless: true,
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      ...chromiumArgs,
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--auto-select-desktop-capture-source=Entire screen',
      '--allow-loopback-in-peer-connection',
    ],
  });
  page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(m.text()); });
  page.on('pageerror', (e) => out.errors.push(String(e)));
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 15000 });
  await page.fill('#stream-key', key);
  if (sourceArg === 'screen') await page.check('#source-screen');
  const t0 = Date.now();
  await page.click('#start');
  let s = await snapshot();
  while (Date.now() - t0 < 20000 && s.state !== 'live' && s.state !== 'error') {
    await sleep(100);
    s = await snapshot();
  }
  Object.assign(out, s);
  if (s.state === 'live') {
    out.live = true;
    out.liveMs = Date.now() - t0;
    console.log(JSON.stringify({ event: 'live', liveMs: out.liveMs }));
    const end = Date.now() + holdS * 1000;
    while (Date.now() < end) {
      await sleep(500);
      s = await snapshot();
      if (s.state !== 'live') break;
    }
    Object.assign(out, s);
    out.keyInURL = s.url.includes(key);
    await page.click('#stop');
    let after = await snapshot();
    for (let i = 0; i < 30 && after.state !== 'idle'; i++) {
      await sleep(100);
      after = await snapshot();
    }
    out.stoppedState = after.state;
    out.stoppedSession = after.session;
    code = out.state === 'live' && out.framesEncoded > 0 && after.state === 'idle' && !after.session && !out.keyInURL ? 0 : 1;
  }
} catch (e) {
  out.errors.push('harness: ' + (e && e.message ? e.message : String(e)));
  code = 2;
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
process.exit(code);
