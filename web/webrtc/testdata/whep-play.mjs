// whep-play.mjs PAGE_URL [SECONDS]
//
// Opens the WHEP test player (or kast's watch page, which exposes its
// session as window.kast.rtc) in headless Chromium and samples getStats()
// for SECONDS (default 6). Prints one JSON line:
//   {status, firstFrameMs, framesDecoded: [..], audioEnergy: [..] (getStats'
//    totalAudioEnergy, 0 where nothing plays out), audioRMS: [..] (WebAudio),
//    audioPackets, latencyMs, errors}
// Exit 0 when frames were decoded and kept growing, 1 otherwise, 2 on a
// harness failure.
import { chromium } from 'playwright-core';
import { chromiumArgs } from '../../e2e/browser.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const url = process.argv[2];
const seconds = Number(process.argv[3] || 6);
const dir = mkdtempSync(join(tmpdir(), 'kast-whep-'));
const out = { status: null, firstFrameMs: null, framesDecoded: [], audioEnergy: [], audioRMS: [], audioPackets: 0, latencyMs: null, errors: [] };
let code = 1;
let context;
try {
  context = await chromium.launchPersistentContext(dir, {
    headless: true,
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [...chromiumArgs, '--allow-loopback-in-peer-connection'],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(m.text()); });
  page.on('pageerror', (e) => out.errors.push(String(e)));
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 15000 });
  const stats = () => page.evaluate(async () => {
    const k = window.kast;
    const s = { status: k.status, state: k.state, errors: k.errors || [], firstFrameMs: k.firstFrameMs ?? null, rms: k.audioRMS ? k.audioRMS() : 0,
      mode: k.mode || null, latency: typeof k.latency === 'number' ? k.latency : null, fallback: k.fallback || null,
      latencyText: (document.getElementById('latency') || {}).textContent || null };
    const pc = k.pc || (k.rtc && k.rtc.pc);
    if (!pc) return s;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        s.frames = r.framesDecoded || 0;
        if (r.jitterBufferEmittedCount) s.jitterMs = 1000 * r.jitterBufferDelay / r.jitterBufferEmittedCount;
      }
      if (r.type === 'inbound-rtp' && r.kind === 'audio') { s.audioPackets = r.packetsReceived || 0; s.audioEnergy = r.totalAudioEnergy || 0; }
      if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime !== undefined) s.rttMs = 1000 * r.currentRoundTripTime;
    });
    return s;
  });
  const t0 = Date.now();
  // Up to 15 s for the first decoded frame.
  let s = await stats();
  while (Date.now() - t0 < 15000 && !(s.frames > 0) && s.state !== 'error') {
    await new Promise((r) => setTimeout(r, 100));
    s = await stats();
  }
  for (let i = 0; i < seconds * 4; i++) {
    s = await stats();
    out.framesDecoded.push(s.frames || 0);
    out.audioEnergy.push(Number((s.audioEnergy || 0).toFixed(6)));
    out.audioRMS.push(Number((s.rms || 0).toFixed(4)));
    if (s.state === 'error') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  out.status = s.status;
  out.mode = s.mode;
  out.pageLatency = s.latency;
  out.latencyText = s.latencyText;
  out.fallback = s.fallback;
  out.firstFrameMs = s.firstFrameMs !== null ? Math.round(s.firstFrameMs) : null;
  out.audioPackets = s.audioPackets || 0;
  // What the browser adds to the network: its jitter buffer, plus half the RTT.
  if (s.jitterMs !== undefined) out.latencyMs = Math.round(s.jitterMs + (s.rttMs || 0) / 2);
  out.errors.push(...(s.errors || []));
  const f = out.framesDecoded;
  code = f.length > 1 && f[f.length - 1] > f[0] && f[0] > 0 ? 0 : 1;
} catch (e) {
  out.errors.push(String(e));
  code = 2;
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
process.exit(code);
