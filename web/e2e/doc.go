// Package e2e holds browser tests of the viewer pages: node scripts driving
// Debian's Chromium through playwright-core (play.mjs, screenshot.mjs) and a
// Go test that plays an ffmpeg-made fMP4 HLS stream through the watch page.
// The test skips itself under -short or when ffmpeg, node, chromium,
// node_modules/playwright-core or the embedded hls.js is missing.
package e2e
