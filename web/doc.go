// Package web is kast's HTTP surface. Every route is in routes.go; the
// packages below it hold the handlers: api (the JSON API under /api/v1),
// live (the websocket live channel), gate (playback credentials in front
// of the media), webrtc (WHEP and WHIP), vod (recordings), pages (the
// server-rendered pages and embedded assets) and fastpath (the HLS
// requests, on kast's own HTTP/1.1 loop). This package wires them to the
// listeners (HTTP, HTTPS with HTTP/2, metrics) and serves /metrics and
// /healthz. It reaches the conference only through conference's types and
// the store interface it is given.
package web
