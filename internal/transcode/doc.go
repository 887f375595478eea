// Package transcode runs the ffmpeg child processes kast needs for WebRTC
// viewers: AAC (what OBS sends over RTMP) to Opus (what browsers take over
// WebRTC), once per stream, and optionally H.264 with B-frames re-encoded
// without them.
//
// A Supervisor runs one child at a time with its stdin and stdout piped,
// keeps the end of its stderr for the logs, restarts it with backoff when it
// dies, gives up with an error after too many exits in a minute, and reads
// its CPU time from /proc for the metrics. On Linux the child is killed by
// the kernel if kast dies.
//
// # AAC to Opus
//
// AACToOpus writes each AAC frame to ffmpeg as ADTS and reads Ogg/Opus
// back (libopus, -application lowdelay, 20 ms frames, one packet per Ogg
// page). ADTS has no timestamps, so the transcoder remembers where each
// written frame starts in ffmpeg's sample count and maps every Opus packet
// back onto the input's clock through its Ogg granule position, minus the
// encoder's pre-skip: packets carry the time of their first sample as
// heard, so audio stays in sync with the stream's video. A tone burst is
// heard at the same time in the AAC and in the Opus (offset 0 in the test,
// which allows one Opus frame).
//
// Latency, measured on 2 shared cores (see docs/benchmarks.md): from Write
// of the AAC frame that completes an Opus packet to that packet on Units(),
// about 21 ms. Nearly all of it is ffmpeg's Ogg muxer, which holds every
// page until the next one is ready (oggenc.c writes a stream's pages only
// when it has two): one Opus frame, 20 ms. Stream analysis would add
// another AAC frame (21 ms) for good; -nofind_stream_info avoids it.
// The Opus framing itself (a 20 ms packet needs 20 ms of input, plus the
// encoder's 2.5 ms look-ahead) comes on top, as with any Opus sender.
package transcode
