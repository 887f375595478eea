// screenshot.mjs URL OUT.png [WAIT_SECONDS]
//
// Opens URL in headless Chromium, waits WAIT_SECONDS (default 2) for the page
// to settle, and saves a screenshot of the viewport to OUT.png.
import { launch } from './browser.mjs';

const [url, out, wait = '2'] = process.argv.slice(2);
if (!url || !out) {
  console.error('usage: node screenshot.mjs URL OUT.png [WAIT_SECONDS]');
  process.exit(2);
}
const browser = await launch();
try {
  await browser.page.goto(url, { waitUntil: 'domcontentloaded', timeout: 30000 });
  await new Promise((r) => setTimeout(r, Number(wait) * 1000));
  await browser.page.screenshot({ path: out });
  console.log(out);
} finally {
  await browser.close();
}
