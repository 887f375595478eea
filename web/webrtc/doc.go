// Package webrtc serves WebRTC signalling over HTTP: WHEP playback
// (draft-ietf-wish-whep) now, WHIP publishing (RFC 9725) beside it. The
// session resources (Location, ETag, PATCH with trickle-ice-sdpfrag,
// DELETE), CORS and the Link headers naming STUN/TURN servers are shared
// by both directions.
package webrtc
