// ui.mjs CONFIG_JSON
//
// Drives kast's conference pages in headless Chromium like people would:
// a newcomer registers, logs in, watches a track and chats; a second
// viewer sees the chat and the questions; an organizer switches what is on
// air, imports a timetable, reads the ingest health and rotates a key;
// the embeddable player plays inside an iframe of another origin; a gated
// event asks for a login, then plays. Writes screenshots into
// CONFIG.screenshots. Prints one JSON line of what it measured and exits 0
// when every step passed, 1 when one failed (result.failed says which),
// 2 on a harness error.
//
// CONFIG: {base, adminToken, event, track, sideTrack, gatedEvent,
// gatedTrack, gatedEmail, gatedPassword, timetableFile, importedTitle,
// switchTalkId, switchTalkTitle, screenshots}
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromiumArgs } from './browser.mjs';

const cfg = JSON.parse(process.argv[2] || '{}');
const base = cfg.base;
const result = { steps: {}, errors: [], failed: null };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
mkdirSync(cfg.screenshots, { recursive: true });
const shot = (page, name, opts = {}) => page.screenshot({ path: join(cfg.screenshots, name + '.png'), ...opts });

// until polls f (async, truthy when done) every 50 ms for up to ms.
async function until(what, f, ms = 20000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await f();
      if (last) return last;
    } catch (e) { last = e; }
    await sleep(50);
  }
  throw new Error('timed out: ' + what + (last instanceof Error ? ' (' + last.message + ')' : ''));
}

// frames is the decoded video frame count of the page's (or frame's) player.
const frames = (target) => target.evaluate(() => {
  const v = document.querySelector('video');
  return v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
});

// plays waits for playback and checks that decoded frames keep growing.
async function plays(target, label) {
  const t0 = Date.now();
  await until(label + ' starts playing', async () => (await frames(target)) > 0, 30000);
  const startMs = Date.now() - t0;
  // Then a second's worth of new frames (30 fps), within 10 s: a shared
  // machine may stall the decoder a moment, a player that stops never
  // gets there.
  const a = await frames(target);
  const t1 = Date.now();
  let b = a;
  await until(label + ' keeps decoding (' + a + ' frames at start)', async () => (b = await frames(target)) >= a + 30, 10000);
  const mode = await target.evaluate(() => (window.kast && window.kast.mode) || null);
  return { startMs, framesStart: a, framesEnd: b, growMs: Date.now() - t1, mode };
}

async function step(name, f) {
  if (result.failed) return;
  const t0 = Date.now();
  try {
    const v = await f();
    result.steps[name] = Object.assign({ ok: true, ms: Date.now() - t0 }, v || {});
  } catch (e) {
    result.steps[name] = { ok: false, error: String(e && e.message || e) };
    result.failed = name;
  }
}

let browser;
let code = 1;
try {
  browser = await chromium.launch({ headless: true, executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: chromiumArgs });
  const newPage = async (opts = {}) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => result.errors.push(String(e)));
    page.on('dialog', (d) => d.accept());
    return page;
  };
  const ev = cfg.event, tr = cfg.track;
  const v1 = await newPage(), v2 = await newPage(), org = await newPage();
  const email1 = 'newcomer-' + Date.now() + '@example.org', pass1 = 'correct horse battery';

  await step('home', async () => {
    await v1.goto(base + '/e/' + ev);
    await until('track cards', () => v1.locator('.track-card').count());
    const grid = await v1.locator('.slot').count();
    if (!grid) throw new Error('no timetable grid');
    if (!(await v1.locator('.slot.now').count())) throw new Error('no talk marked now');
    await shot(v1, 'event-home', { fullPage: true });
    return { slots: grid, ics: await v1.locator('a[href$="timetable.ics"]').count() };
  });

  await step('register', async () => {
    await v1.click('a[href^="/register/"]');
    await v1.waitForURL('**/register/' + ev + '**');
    await v1.fill('#name', 'New <Comer>');
    await v1.fill('#email', email1);
    await v1.fill('#password', 'short');
    await v1.check('#consent_terms');
    await v1.check('input[name=participation][value=offline]');
    await v1.click('#register-form [type=submit]');
    // The server's rule, shown beside the field.
    const msg = await until('password error', async () => (await v1.textContent('#password-error')).trim());
    await v1.fill('#password', pass1);
    await v1.click('#register-form [type=submit]');
    await v1.waitForURL(base + '/e/' + ev);
    return { validation: msg };
  });

  await step('logout-login', async () => {
    await v1.click('[data-logout]');
    await until('logged out', async () => (await v1.locator('.top a[href^="/login"]').count()) > 0);
    await v1.goto(base + '/login?next=/e/' + ev + '/' + tr);
    await v1.fill('#email', email1);
    await v1.fill('#password', 'wrong password');
    await v1.click('#login-form [type=submit]');
    const wrong = await until('login error', async () => (await v1.textContent('#form-error')).trim());
    await v1.fill('#password', pass1);
    await v1.click('#login-form [type=submit]');
    await v1.waitForURL(base + '/e/' + ev + '/' + tr);
    return { wrong };
  });

  await step('plays', async () => plays(v1, 'track page'));

  await step('ticket', async () => {
    const p = await v1.context().newPage();
    await p.goto(base + '/me');
    const ticket = (await p.textContent('.ticket-code')).trim();
    const ok = await p.evaluate(() => { const i = document.querySelector('.ticket img'); return i.complete && i.naturalWidth > 0; });
    if (!ok) throw new Error('QR code image did not load');
    // The test decodes this picture with zbarimg: the QR code must scan.
    await p.locator('.ticket img').screenshot({ path: join(cfg.screenshots, 'ticket-qr.png') });
    await p.close();
    result.ticket = ticket;
    return { ticket };
  });

  await step('second-viewer', async () => {
    await v2.goto(base + '/register/' + ev + '?next=/e/' + ev + '/' + tr);
    await v2.fill('#name', 'Second Viewer');
    await v2.fill('#email', 'second-' + Date.now() + '@example.org');
    await v2.fill('#password', 'another long password');
    await v2.check('#consent_terms');
    await v2.click('#register-form [type=submit]');
    await v2.waitForURL(base + '/e/' + ev + '/' + tr);
    await until('second viewer plays', async () => (await frames(v2)) > 0, 30000);
    // The count the live channel pushes follows the two players.
    const n = await until('viewer count', async () => {
      const c = +(await v1.textContent('#viewers'));
      return c >= 2 ? c : null;
    }, 20000);
    return { viewers: n };
  });

  await step('organizer-login', async () => {
    await org.goto(base + '/admin');
    await org.fill('#token', 'not the token');
    await org.click('#admin-login [type=submit]');
    await until('token error', async () => (await org.textContent('#token-error')).trim());
    await org.fill('#token', cfg.adminToken);
    await org.click('#admin-login [type=submit]');
    await until('organizer pages open', () => org.locator('#events-h').count());
    await org.goto(base + '/admin/e/' + ev);
    await until('organizer tracks', () => org.locator('.admin-track').count());
  });

  await step('on-air-switch', async () => {
    const card = org.locator('.admin-track[data-track="' + tr + '"]');
    const t0 = Date.now();
    await card.locator('.switch[data-talk="' + cfg.switchTalkId + '"]').click();
    await until('viewer sees the switch', async () => (await v1.textContent('#onair-title')).trim() === cfg.switchTalkTitle, 5000);
    const ms = Date.now() - t0;
    if (ms > 2000) throw new Error('on-air switch took ' + ms + ' ms to reach the viewer');
    const mode = await v1.evaluate(() => window.kast.live.mode);
    const reloaded = await v1.evaluate(() => performance.getEntriesByType('navigation').length);
    return { switchMs: ms, channel: mode, navigations: reloaded };
  });

  await step('chat', async () => {
    const text = 'hello <b>world</b> & all';
    await v1.fill('#chat-body', text);
    await v1.press('#chat-body', 'Enter');
    const t0 = Date.now();
    await until('second viewer sees the message', async () => {
      const bodies = await v2.locator('#messages .body').allTextContents();
      return bodies.includes(text);
    }, 5000);
    const ms = Date.now() - t0;
    const bold = await v2.locator('#messages b').count();
    if (bold) throw new Error('chat message was rendered as HTML');
    return { ms };
  });

  await step('questions', async () => {
    await v1.click('#qa-tab');
    await v2.click('#qa-tab');
    for (const q of ['What is the latency?', 'Does it work on a phone?']) {
      await v1.fill('#qa-body', q);
      await v1.press('#qa-body', 'Enter');
      await sleep(150);
    }
    const order = () => v2.locator('#questions .question .body').allTextContents();
    await until('second viewer sees both questions', async () => (await order()).length === 2, 5000);
    const before = await order();
    await v2.locator('#questions .question', { hasText: 'phone' }).locator('button.vote').click();
    const t0 = Date.now();
    await until('the vote reorders the first viewer\'s list', async () => {
      const l = await v1.locator('#questions .question .body').allTextContents();
      return l[0] === 'Does it work on a phone?';
    }, 5000);
    const after = await v1.locator('#questions .question .body').allTextContents();
    await shot(v2, 'track-page');
    await v2.click('#chat-tab');
    await shot(v2, 'chat', { clip: await v2.locator('.side').boundingBox() });
    await v2.click('#qa-tab');
    await shot(v1, 'questions', { clip: await v1.locator('.side').boundingBox() });
    return { before, after, ms: Date.now() - t0 };
  });

  await step('waiting', async () => {
    // Nobody publishes the workshop yet: the page waits, then starts by
    // itself when the speaker goes live and the talk is put on air.
    await v2.goto(base + '/e/' + ev + '/' + cfg.waitTrack);
    await until('waiting screen', async () => await v2.isVisible('#waiting'), 10000);
    await shot(v2, 'track-waiting');
    const ff = spawn(cfg.ffmpeg, cfg.publishArgs, { stdio: 'ignore' });
    result.cleanup = () => ff.kill('SIGKILL');
    const t0 = Date.now();
    await org.goto(base + '/admin/e/' + ev);
    await org.locator('.admin-track[data-track="' + cfg.waitTrack + '"] .switch[data-talk="' + cfg.waitTalkId + '"]').click();
    await until('the waiting page plays', async () => (await frames(v2)) > 0, 30000);
    const ms = Date.now() - t0;
    const hidden = await v2.isHidden('#waiting');
    const live = await v2.evaluate(() => ({ mode: window.kast.live.mode, switches: window.kast.live.switches }));
    ff.kill('SIGKILL');
    if (!hidden) throw new Error('the waiting screen stayed up');
    await v2.goto(base + '/e/' + ev + '/' + tr);
    return Object.assign({ startedMs: ms }, live);
  });

  await step('moderate', async () => {
    // The organizer hides the message and marks the top question answered
    // from the track page; both viewers see it at once.
    const page = await org.context().newPage();
    const t0 = Date.now(), at = {};
    await page.goto(base + '/e/' + ev + '/' + tr);
    at.loaded = Date.now() - t0;
    await until('moderation buttons', () => page.locator('#messages .msg button.mod').count());
    at.buttons = Date.now() - t0;
    await page.locator('#messages .msg button.mod').first().click();
    await until('message gone for the second viewer', async () => (await v2.locator('#messages .msg').count()) === 0, 5000);
    at.hidden = Date.now() - t0;
    await page.click('#qa-tab');
    await page.locator('#questions .question', { hasText: 'phone' }).locator('button.mod', { hasText: 'Answered' }).click();
    const order = await until('answered question moves down', async () => {
      const l = await v1.locator('#questions .question .body').allTextContents();
      const tagged = await v1.locator('#questions .question.answered').count();
      return l[l.length - 1] === 'Does it work on a phone?' && tagged === 1 ? l : null;
    }, 5000);
    at.answered = Date.now() - t0;
    at.mode = await page.evaluate(() => window.kast.live.mode);
    await page.close();
    return { order, at };
  });

  await step('import', async () => {
    await org.setInputFiles('#tt-file', cfg.timetableFile);
    await org.click('#import-form [type=submit]');
    await until('preview', async () => await org.isVisible('#import-preview'));
    const diff = await org.textContent('#import-diff');
    if (!diff.includes(cfg.importedTitle)) throw new Error('preview lacks the new talk: ' + diff);
    await org.click('#import-apply');
    await until('imported talk in the on-air list', async () => (await org.locator('.switch', { hasText: cfg.importedTitle }).count()) > 0, 10000);
    return { diff: diff.slice(0, 300) };
  });

  await step('health', async () => {
    const card = org.locator('.admin-track[data-track="' + cfg.sideTrack + '"]');
    const bitrate = await until('bitrate', async () => {
      const t = await card.locator('[data-h=bitrate]').textContent();
      return /bit\/s/.test(t) && !/^0 kbit/.test(t) ? t : null;
    }, 20000);
    const warning = await until('B-frame warning', async () => {
      const w = card.locator('.warning[data-code=b_frames]');
      return (await w.count()) ? w.textContent() : null;
    }, 20000);
    await shot(org, 'organizer-dashboard', { fullPage: true });
    return { bitrate, warning, publisher: await card.locator('[data-h=publisher]').textContent() };
  });

  await step('rotate', async () => {
    const card = org.locator('.admin-track[data-track="' + cfg.sideTrack + '"]');
    await card.locator('[data-rotate]').click();
    const key = await until('new key shown', async () => {
      const k = (await card.locator('[data-key]').textContent()).trim();
      return k.length >= 20 && !k.includes(' ') ? k : null;
    });
    const msg = await card.locator('[data-rotate-msg]').textContent();
    result.newKey = key;
    return { key, msg };
  });

  await step('check-in', async () => {
    await org.goto(base + '/admin/e/' + ev + '/check-in');
    await org.fill('#ticket', result.ticket.toLowerCase().replace(/-/g, ' '));
    await org.press('#ticket', 'Enter');
    const ok = await until('checked in', async () => { const t = await org.textContent('#checkin-result'); return /checked in/.test(t) && t; });
    await org.fill('#ticket', result.ticket);
    await org.press('#ticket', 'Enter');
    const again = await until('second check-in refused', async () => { const t = await org.textContent('#checkin-result'); return /Already/.test(t) && t; });
    return { ok, again };
  });

  await step('embed', async () => {
    const html = '<!doctype html><title>Organizer site</title><h1>Our conference</h1>' +
      '<iframe src="' + base + '/embed/' + ev + '/' + tr + '" width="640" height="400" allow="autoplay; fullscreen" title="Live"></iframe>';
    const srv = createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end(html); });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const other = 'http://127.0.0.1:' + srv.address().port + '/';
    try {
      const p = await newPage();
      await p.goto(other);
      const frame = await until('embed frame', async () => p.frames().find((f) => f.url().includes('/embed/')));
      const r = await plays(frame, 'embedded player');
      await shot(p, 'embed');
      await p.context().close();
      return Object.assign({ origin: other }, r);
    } finally {
      srv.close();
    }
  });

  await step('phone', async () => {
    const p = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    // hls.js on this one (the mode switch's ?playback=hls): both players
    // of the track page are driven.
    await p.goto(base + '/e/' + ev + '/' + tr + '?playback=hls');
    const r = await plays(p, 'phone (hls.js)');
    if (r.mode !== 'hls.js') throw new Error('phone played with ' + r.mode + ', not hls.js');
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await shot(p, 'track-phone', { fullPage: true });
    await p.goto(base + '/e/' + ev);
    await shot(p, 'event-home-phone', { fullPage: true });
    await p.context().close();
    if (overflow > 0) throw new Error('the phone page scrolls sideways by ' + overflow + ' px');
    return r;
  });

  await step('dark', async () => {
    const p = await newPage({ colorScheme: 'dark' });
    await p.goto(base + '/e/' + ev);
    const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await shot(p, 'event-home-dark', { fullPage: true });
    await p.goto(base + '/e/' + ev + '/' + tr);
    await until('dark page plays', async () => (await frames(p)) > 0, 30000);
    await shot(p, 'track-page-dark');
    await p.context().close();
    if (bg === 'rgb(250, 250, 250)') throw new Error('dark color scheme ignored');
    return { background: bg };
  });

  await step('gated', async () => {
    const p = await newPage();
    await p.goto(base + '/e/' + cfg.gatedEvent + '/' + cfg.gatedTrack);
    const gate = (await p.textContent('#gate')).trim();
    if (!/Log in to watch/.test(gate)) throw new Error('gate says: ' + gate);
    if (await p.locator('video').count()) throw new Error('a player on a gated page before login');
    await p.click('#gate a.primary');
    await p.waitForURL('**/login?next=**');
    await p.fill('#email', cfg.gatedEmail);
    await p.fill('#password', cfg.gatedPassword);
    await p.click('#login-form [type=submit]');
    await p.waitForURL(base + '/e/' + cfg.gatedEvent + '/' + cfg.gatedTrack);
    const r = await plays(p, 'gated track');
    await p.context().close();
    return Object.assign({ gate }, r);
  });

  code = result.failed ? 1 : 0;
} catch (e) {
  result.errors.push('harness: ' + (e && e.message ? e.message : String(e)));
  code = 2;
} finally {
  if (browser) await browser.close().catch(() => {});
}
console.log(JSON.stringify(result));
process.exit(code);
