// Package whip takes WebRTC publishers (WHIP, RFC 9725: OBS 30+, a
// browser tab, any WebRTC stack) into the hub.
//
// A Server turns an authorized SDP offer into a Session: a pion
// PeerConnection on the shared engine (internal/rtc) that receives one
// video track (H.264 in packetization mode 1, or VP8) and one audio track
// (Opus). Each track's packets are put back in order (a bounded reorder
// buffer that waits for NACKed retransmissions), depacketized into whole
// access units, placed on one clock for both tracks (RTP timestamps, RTCP
// sender reports for lip sync) and written to the hub like an RTMP
// publisher's. A picture damaged by loss is never passed on: the session
// asks for a keyframe (PLI, rate limited) and resumes there. The HTTP side
// (status codes, CORS, PATCH) is web/webrtc's.
package whip
