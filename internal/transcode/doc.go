// Package transcode runs the ffmpeg child processes kast needs for WebRTC
// viewers: AAC (what OBS sends over RTMP) to Opus (what browsers take over
// WebRTC), once per stream; and, as an option, H.264 with B-frames
// re-encoded without them, because Chromium cannot play B-frames over
// WebRTC.
//
// A Supervisor runs one child at a time with its stdin and stdout piped,
// keeps the end of its stderr for the logs, restarts it with backoff when it
// dies, gives up with an error after too many exits in a minute, and reads
// its CPU time from /proc for the metrics. On Linux the child is killed by
// the kernel if kast dies. Available reports whether ffmpeg is on PATH;
// without it the transcoders' Initialize returns an error wrapping
// ErrUnavailable and their Stats say StateUnavailable.
//
// # AAC to Opus
//
// AACToOpus writes each AAC frame to ffmpeg as ADTS and reads Ogg/Opus
// back (libopus, -application lowdelay, 20 ms frames, 96 kbit/s, one packet
// per Ogg page). ADTS has no timestamps, so the transcoder remembers where
// each written frame starts in ffmpeg's sample count and maps every Opus
// packet back onto the input's clock through its Ogg granule position
// minus the encoder's pre-skip (120 samples, 2.5 ms, in low-delay mode):
// a packet carries the time of its first sample as heard, and audio stays
// in sync with the stream's video. In the test a tone burst decodes at the
// same time in the AAC and in the Opus (offset 0; one Opus frame allowed).
//
// Measured on the project's 2-vCPU machine (docs/benchmarks.md): from
// Write of the AAC frame that completes an Opus packet to that packet on
// Output(), 22 ms (p50 and p99 alike when ffmpeg gets the CPU); from the
// frame holding the packet's first sample, 43 ms; ffmpeg uses 2.4-2.9 % of
// one core per stream. Nearly all of the 22 ms is ffmpeg's Ogg muxer, which
// writes a stream's page only once the next one exists (oggenc.c), so one
// 20 ms packet always waits. Stream analysis would add one AAC frame
// (21 ms) for good; -nofind_stream_info removes it (43 -> 22 ms measured).
// The Opus framing itself (20 ms of input per packet, 2.5 ms look-ahead)
// comes on top, as with any Opus sender.
//
// # B-frames and WebRTC
//
// RTP carries one timestamp per picture, its presentation time, and no
// composition offset; a receiver decodes pictures in the order they arrive.
// Chromium 156 (Debian, software H.264 decoding) was sent x264 720p30 with
// bframes=2 (OBS's default) through pion, RTP timestamps = PTS: of 240
// pictures received in 8 s it decoded 20 (about 2.5 per second: the IDR of
// each 1 s GOP and one or two pictures after it), sent 38 PLIs, and
// getStats showed framesPerSecond 1-4 and no freezeCount (the picture is a
// slide show, not a stall). Its log says why: at the first reordered
// picture FFmpeg's decoder holds the picture back to reorder and
// avcodec_receive_frame returns EAGAIN ("h264_decoder_impl.cc:
// avcodec_receive_frame error: -11"), WebRTC counts that as a failed
// decode ("Failed to decode frame. Return code: -1"), then treats every
// following picture as undecodable ("No decodable frame in 200 ms
// requesting keyframe", every 200 ms) until the next IDR. RTP timestamps =
// DTS change nothing (20 of 240, 40 PLIs). The same clip without B-frames:
// 235 of 240 decoded, no PLI. Through VideoReencoder: 223 of 229, no PLI.
// ReorderDepth tells from the SPS whether a stream has B-frames.
//
// # Video without B-frames
//
// VideoReencoder feeds the stream to ffmpeg as Annex-B and reads libx264
// (-preset veryfast -tune zerolatency -bf 0) back from FLV, keyframes
// forced where the input has them, at the input's bitrate. Each picture is
// tagged with an SEI sequence number that survives ffmpeg (-udu_sei), so
// every output picture takes its input's PTS exactly. For 720p30 at
// 2.5 Mbit/s ffmpeg uses 25-28 % of one core (decoding and encoding); a
// picture leaves 6.5 ms after it was written when the input has no
// B-frames, 41 ms (p50; 142 ms p99) with bframes=2, the decoder's reorder
// delay that any player of the original stream has too.
package transcode
