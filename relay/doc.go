// Package relay will fan live streams out over WebRTC (WHEP): RTP
// packetized once per stream, a down-track per viewer with its own SRTP
// session, sharded senders, keyframe gating, and AAC transcoded to Opus
// for RTMP sources. It reads the ingest hub like the packager does and
// never imports the packager or web. It is built by the WebRTC issue; the
// UDP address it will use is reserved by kast's -webrtc-udp-addr flag.
package relay
