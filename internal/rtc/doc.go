// Package rtc is the pion engine that WHIP ingest and WHEP playback share:
// one webrtc.API per direction over one UDP port (a single-port ICE mux,
// writes optionally batched with sendmmsg), the ICE/NAT settings of a single VM, the
// codec table kast negotiates, and SDP helpers that turn an offer into a
// clear answer or a clear error.
//
// pion stays inside this package, relay and ingest/whip: the hub (ingest)
// never sees it.
package rtc
