// Package recorder keeps every publish of every track on disk as the fMP4
// init sections and segments the packager already made (no re-encode, no
// second muxer), cuts them into per-talk recordings from the on-air
// switches of conference.Feed, and renders what the VOD endpoints serve:
// HLS VOD playlists and one progressive MP4 per recording.
//
// # Layout
//
// Under Dir (kast puts it at <data-dir>/recordings):
//
//	tracks/<track>/<publish>/index.jsonl   append-only index, one JSON object a line
//	tracks/<track>/<publish>/init-<n>.mp4  init section (ftyp+moov) of timeline n
//	tracks/<track>/<publish>/seg-<msn>.m4s one segment (moof+mdat fragments)
//	tracks/<track>/<publish>/poster-<msn>.jpg a poster taken from segment msn (cache)
//	talks/<talk-id>.json                   a talk's on-air spans and trim
//
// A publish is one publisher connection; its id is its UTC start time
// (20261201T093000Z, with -2, -3... when two start in the same second).
// Segment numbers are the live playlist's media sequence numbers. Files
// never change once their index line is written, and the index only grows,
// so rsync or rclone can copy the tree at any time (a copy taken while a
// publish is live may end with a segment its index does not list yet;
// the next copy completes it).
//
// The index lines are, in order:
//
//	{"k":"publish","track":"main","id":"…","started":"…","source":"…","epoch":"…","event_id":1}
//	{"k":"init","init":1,"file":"init-1.mp4","size":812}
//	{"k":"seg","msn":0,"init":1,"file":"seg-0.m4s","size":345678,"start_us":0,"dur_us":1000000,"pdt":"…","disc":false}
//	{"k":"end","at":"…"}
//
// # Durability
//
// Each segment file is written whole and fdatasync'd before its index line
// is appended, and the index is fdatasync'd after each line. A kill -9
// (or a crash of kast) can therefore only leave a segment file that the
// index does not list yet; an OS crash or a power cut can also lose the
// newest directory entries. Initialize repairs both: it keeps the index
// lines whose files exist with the listed size, up to the first that does
// not, deletes files no line lists, rewrites the index from what remains
// and closes it with an end line. So a crash loses at most the segment
// that was being written. Two fdatasyncs a second per track are nothing to
// a disk, and they happen in the track's writer goroutine, never in the
// live path.
//
// # Live path
//
// The packager hands each segment to SegmentCompleted from its muxer
// goroutine; the recorder queues it for the track's writer goroutine and
// returns. A full queue (a disk that cannot keep up) drops the segment,
// counts it and logs it; a full disk or a spent budget stops recording
// (a gauge, a log line) until space is free again. Neither ever slows the
// live stream.
package recorder
