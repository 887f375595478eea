package ingest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Health is a snapshot of how a live track's publisher is doing, computed
// from the units it sends (whatever the protocol): what the organizer
// page shows next to the OBS settings.
type Health struct {
	Track    string
	Protocol string // "rtmp", "rtmps", "whip": the first word of Stream.Source
	Address  string // the publisher's address
	Since    time.Time
	// Codecs are RFC 6381 strings ("avc1.64001f", "mp4a.40.2"); Video
	// and Audio name them for people ("H.264 1280x720", "AAC 48000 Hz 2 ch").
	Codecs       []string
	Video, Audio string
	Width        int
	Height       int
	// Bitrate of video and audio together, bits per second, and video
	// frames per second, over the last second.
	Bitrate int64
	FPS     float64
	// KeyframeInterval is the time between the last two video keyframes
	// (0 until two were seen).
	KeyframeInterval time.Duration
	// BFrames: a video picture out of display order (PTS != DTS) was seen
	// in the last BFrameMemory.
	BFrames bool
	// LastUnit is when the last unit arrived.
	LastUnit time.Time
	// Dropped counts units the monitor lost by falling behind.
	Dropped uint64
}

// HealthWarning is something the publisher should change, with where.
type HealthWarning struct {
	Code    string // "keyframe_interval", "b_frames", "no_media"
	Message string
}

// MaxKeyframeInterval is the longest keyframe interval without a
// warning: segments end on keyframes, so a longer one makes players
// start further behind.
const MaxKeyframeInterval = 2 * time.Second

// BFrameMemory is how long a B-frame keeps the warning on.
const BFrameMemory = 10 * time.Second

// Warnings says what to change in OBS, for each problem the snapshot shows.
func (h Health) Warnings(now time.Time) []HealthWarning {
	var out []HealthWarning
	if h.KeyframeInterval > MaxKeyframeInterval {
		out = append(out, HealthWarning{Code: "keyframe_interval", Message: fmt.Sprintf(
			"Keyframe interval is %.1f s (at most 2 s, 1 s is best): in OBS, Settings > Output > Output Mode Advanced > Streaming, set Keyframe Interval to 1 s.",
			h.KeyframeInterval.Seconds())})
	}
	if h.BFrames {
		out = append(out, HealthWarning{Code: "b_frames", Message: "The video has B-frames, which delay every frame: in OBS, Settings > Output > Streaming, " +
			"with x264 put bframes=0 in x264 Options (or set Tune to zerolatency); with NVENC or QuickSync set Max B-frames (B-Frames) to 0."})
	}
	if !h.LastUnit.IsZero() && now.Sub(h.LastUnit) > 3*time.Second {
		out = append(out, HealthWarning{Code: "no_media", Message: fmt.Sprintf(
			"Nothing received for %.0f s: the encoder or its network has stalled.", now.Sub(h.LastUnit).Seconds())})
	}
	return out
}

// HealthMonitor keeps a Health snapshot of every live stream of a hub.
// Each stream gets a reader and a goroutine that fold its units into
// counters and publish a new snapshot once a second (an atomic pointer:
// reading one never waits for the publisher).
type HealthMonitor struct {
	mu      sync.Mutex
	streams map[string]*healthState
}

// healthState is one stream's monitor.
type healthState struct {
	snap atomic.Pointer[Health]
}

// Attach makes the monitor follow every stream the hub starts. Call it
// before publishers connect.
func (m *HealthMonitor) Attach(h *Hub) { h.OnStream(m.watch) }

// Health returns the latest snapshot of the track's stream, false when
// nobody publishes it.
func (m *HealthMonitor) Health(track string) (Health, bool) {
	m.mu.Lock()
	st := m.streams[track]
	m.mu.Unlock()
	if st == nil {
		return Health{}, false
	}
	return *st.snap.Load(), true
}

func (m *HealthMonitor) watch(s *Stream) {
	st := &healthState{}
	proto, addr, _ := strings.Cut(s.Source, " ")
	base := Health{Track: s.Track, Protocol: proto, Address: addr, Since: s.Started, Codecs: s.Media.Codecs()}
	if v := s.Media.Video; v != nil {
		base.Video, base.Width, base.Height = fmt.Sprintf("%s %dx%d", v.Codec, v.Width, v.Height), v.Width, v.Height
	}
	if a := s.Media.Audio; a != nil {
		base.Audio = fmt.Sprintf("%s %d Hz %d ch", a.Codec, a.SampleRate, a.Channels)
	}
	first := base
	st.snap.Store(&first)
	m.mu.Lock()
	if m.streams == nil {
		m.streams = map[string]*healthState{}
	}
	m.streams[s.Track] = st
	m.mu.Unlock()
	r := s.Subscribe(256)
	go func() {
		st.run(r, base)
		m.mu.Lock()
		if m.streams[s.Track] == st {
			delete(m.streams, s.Track)
		}
		m.mu.Unlock()
	}()
}

// run folds the reader's units into snapshots until the stream ends.
func (st *healthState) run(r *Reader, base Health) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var (
		bytes, frames int64
		windowStart   = time.Now()
		lastKey       time.Duration
		haveKey       bool
		lastB         time.Time
		cur           = base
	)
	publish := func(now time.Time) {
		el := now.Sub(windowStart).Seconds()
		if el <= 0 {
			return
		}
		cur.Bitrate = int64(float64(bytes*8) / el)
		cur.FPS = float64(frames) / el
		cur.BFrames = !lastB.IsZero() && now.Sub(lastB) < BFrameMemory
		cur.Dropped = r.Dropped()
		snap := cur
		st.snap.Store(&snap)
		bytes, frames, windowStart = 0, 0, now
	}
	for {
		select {
		case u, ok := <-r.Units():
			if !ok {
				return
			}
			bytes += int64(u.Size())
			cur.LastUnit = u.Received
			if u.Kind != KindVideo {
				continue
			}
			frames++
			if u.PTS != u.DTS {
				lastB = u.Received
			}
			if u.Key {
				if haveKey && u.DTS > lastKey {
					cur.KeyframeInterval = u.DTS - lastKey
				}
				lastKey, haveKey = u.DTS, true
			}
		case now := <-tick.C:
			publish(now)
		}
	}
}
