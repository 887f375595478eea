// Package ladder makes lower renditions of every live track for viewers on
// weak networks: for each stream of the hub with H.264 video, one ffmpeg
// child (transcode.Ladder) encodes every rung of the ladder below the
// source's height, and each rendition is handed to the packager
// (packager.Server.AddRendition), which cuts it on the source's segment
// and part boundaries and lists it in the track's multivariant playlist.
// The source is served as before; the renditions carry its audio.
//
// Off unless rungs are configured (kast -renditions 480p,360p).
//
// Why straight to the packager rather than as hub tracks ("main~480p"):
// alignment. A rendition published to the hub would be packaged by a muxer
// of its own, starting its media sequence numbers at its first keyframe
// (later than the source's, by ffmpeg's start) and deciding its own part
// boundaries; making it agree with the source would mean sharing the
// source's decisions anyway. Fed to the packager with the source stream
// it belongs to, a rendition simply replays the source's decisions. It
// also keeps the renditions away from the hub's other readers (the WebRTC
// relay would transcode each one's audio again) and from the hub's
// publisher accounting.
package ladder
