// Package e2e holds browser tests of the viewer pages: node scripts driving
// Debian's Chromium through playwright-core (play.mjs, screenshot.mjs) and a
// Go test that plays an ffmpeg-made fMP4 HLS stream through the watch page.
// The test skips itself under -short or when ffmpeg, node, chromium,
// node_modules/playwright-core or the embedded hls.js is missing.
//
// players/ holds one test page per third-party player (hls.js, video.js,
// Shaka Player), each creating its player with that player's default
// configuration, and probe.js, which measures it: frames, stalls, latency
// behind the live edge and glass-to-glass from the wall-clock barcode that
// testutil.ClockBarFilter draws into the picture. players.mjs drives a page;
// packager's TestDefaultPlayers and BenchmarkDefaultPlayers run them against
// the packager, serving the players from node_modules (test-only
// devDependencies, never embedded in kast).
//
// ui.mjs drives the conference pages as people use them (a newcomer, a
// second viewer, an organizer, an embedding site, a phone, a gated event)
// against a whole kast; cmd/kast's TestConferencePagesInBrowser runs it with
// ffmpeg publishers and checks what it reports. Its screenshots land in
// web/e2e/screenshots/ (gitignored) for a person to look at.
package e2e
