// Shared Chromium launcher for the e2e scripts: Debian's chromium driven by
// playwright-core, headless, with a fresh profile that is removed on close.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

// launch returns {context, page, close}; close() also deletes the profile dir.
export async function launch({ viewport = { width: 1280, height: 800 } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kast-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    headless: true,
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: chromiumArgs,
    viewport,
    // Tests serving HTTPS with a certificate they made set KAST_E2E_TLS_ANY=1.
    ignoreHTTPSErrors: process.env.KAST_E2E_TLS_ANY === '1',
  });
  const page = context.pages()[0] || (await context.newPage());
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  return { context, page, close };
}
