// Package ingest is the hub between publishers and readers.
//
// Publishers (ingest/rtmp, ingest/whip) claim a track on the Hub, announce
// the codec parameters of a session with Publisher.Start and write access
// units to the Stream it returns. Readers (the HLS packager, the WebRTC
// relay) subscribe to each Stream as it starts and receive the units on a
// buffered channel. A reader that falls behind loses units and resumes at
// the next keyframe; the publisher never waits for a reader.
//
// The hub knows codecs only as parameters and access units (H.264, VP8,
// AAC, Opus); it imports no protocol.
package ingest
