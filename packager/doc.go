// Package packager turns live streams into Low-Latency HLS served from
// memory.
//
// One muxer per track reads the access units of the track's current stream,
// cuts them into fMP4 parts (moof+mdat, marshalled once into immutable
// buffers) and segments (lists of parts), and after each part renders the
// media playlist once and publishes it with an atomic pointer swap. HTTP
// requests never take a lock: a blocking playlist request waits on the
// channel of the snapshot it read, which is closed when the next part is
// published.
package packager
