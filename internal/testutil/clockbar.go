package testutil

// ClockBarFilter is an ffmpeg video filter (for -vf) that draws this
// machine's wall clock into each picture as it is made, for glass-to-glass
// measurements in a browser (web/e2e/players/probe.js reads it back).
//
// The clock is the frame's RTCTIME (microseconds since the epoch when the
// frame passes the filter; with -re that is when the source produced it),
// carried as the frame's timestamp through a 512x32 crop of the picture
// where geq draws it: the milliseconds modulo 2^32 as 32 cells of 16x16
// pixels, bit i at x = 16i, white for 1, and below them the same bits
// inverted so that a reader can tell a clean picture from a damaged one.
// Cells on macroblock boundaries and full-range black and white survive
// H.264 at any bitrate the tests use. Drawing only the strip keeps geq's
// per-pixel cost to 16,384 pixels a frame. The timestamps are put back to
// frame counts afterwards, so the encoder sees an ordinary stream.
const ClockBarFilter = "settb=1/1000000,setpts=RTCTIME,split[kastclk0][kastclk1];" +
	"[kastclk1]crop=512:32:0:0,geq=lum='if(eq(mod(floor(floor(T*1000)/pow(2,floor(X/16))),2),lt(Y,16)),235,16)':cb=128:cr=128[kastclk2];" +
	"[kastclk0][kastclk2]overlay=0:0,settb=AVTB,setpts=N/FRAME_RATE/TB"

// ClockBarArgs returns ffmpeg arguments drawing ClockBarFilter, for
// Publish.Extra.
func ClockBarArgs() []string { return []string{"-vf", ClockBarFilter} }
