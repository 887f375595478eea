// Package relay fans live streams out over WebRTC (WHEP), built for many
// viewers on few cores, in the shape of LiveKit's pkg/sfu:
//
//   - a forwarder per published stream subscribes to the hub once,
//     packetizes RTP once (H.264 packetization-mode 1 with SPS/PPS before
//     each IDR, VP8, Opus passed through), keeps one packet history per
//     track for retransmissions and the start of the current GOP, so a
//     new viewer starts on a keyframe at once;
//   - a down-track per viewer and track only rewrites sequence numbers
//     and timestamps, then hands the packet to pion for SRTP and the send
//     on the one shared UDP socket (internal/rtc);
//   - viewers are sharded over a few sender goroutines (one per core);
//     a shard that falls behind drops and its viewers resume at the next
//     keyframe, and nothing a viewer does can block the forwarder or the
//     other shards;
//   - RTCP from each viewer: NACKs are served from the stream's history,
//     PLI/FIR become a rate-limited keyframe request to the publisher,
//     receiver reports give loss and RTT; kast sends sender reports so
//     browsers sync audio and video.
//
// AAC from RTMP publishers is turned into Opus once per stream, while it
// has WebRTC viewers, by an AudioTranscoder. relay reads the hub like the
// packager does and never imports the packager or web.
package relay
