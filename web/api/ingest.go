package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/kastlive/kast/ingest"
)

// HealthSource gives the ingest health of a live track
// (*ingest.HealthMonitor).
type HealthSource interface {
	Health(track string) (ingest.Health, bool)
}

type warningView struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type samplePoint struct {
	At      string `json:"at"`
	Viewers int    `json:"viewers"`
}

type ingestView struct {
	Track            string        `json:"track"`
	Live             bool          `json:"live"`
	Protocol         string        `json:"protocol,omitempty"`
	Address          string        `json:"address,omitempty"`
	Since            string        `json:"since,omitempty"`
	Codecs           []string      `json:"codecs"`
	Video            string        `json:"video,omitempty"`
	Audio            string        `json:"audio,omitempty"`
	Width            int           `json:"width,omitempty"`
	Height           int           `json:"height,omitempty"`
	Bitrate          int64         `json:"bitrate"`
	FPS              float64       `json:"fps"`
	KeyframeInterval float64       `json:"keyframe_interval"`
	BFrames          bool          `json:"b_frames"`
	LastUnit         string        `json:"last_unit,omitempty"`
	Warnings         []warningView `json:"warnings"`
	Viewers          int           `json:"viewers"`
	ViewersHistory   []samplePoint `json:"viewers_history"`
}

// Ingest answers GET /tracks/{track}/ingest (organizer): the publisher's
// health and the viewers over the last hour.
func (h *Handler) Ingest(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.track(w, r)
	if !ok {
		return
	}
	v := ingestView{Track: t.Slug, Codecs: []string{}, Warnings: []warningView{}, Viewers: h.viewers(t.Slug), ViewersHistory: []samplePoint{}}
	if h.Health != nil {
		if s, ok := h.Health.Health(t.Slug); ok {
			v.Live = true
			v.Protocol, v.Address, v.Since = s.Protocol, s.Address, s.Since.UTC().Format(time.RFC3339)
			v.Codecs, v.Video, v.Audio, v.Width, v.Height = append(v.Codecs, s.Codecs...), s.Video, s.Audio, s.Width, s.Height
			v.Bitrate, v.FPS, v.KeyframeInterval, v.BFrames = s.Bitrate, s.FPS, s.KeyframeInterval.Seconds(), s.BFrames
			if !s.LastUnit.IsZero() {
				v.LastUnit = s.LastUnit.UTC().Format(time.RFC3339Nano)
			}
			for _, w := range s.Warnings(h.now()) {
				v.Warnings = append(v.Warnings, warningView{Code: w.Code, Message: w.Message})
			}
		}
	}
	if !v.Live {
		v.Live = h.live(t.Slug)
	}
	if h.History != nil {
		for _, p := range h.History.Samples(t.Slug) {
			v.ViewersHistory = append(v.ViewersHistory, samplePoint{At: p.At.UTC().Format(time.RFC3339), Viewers: p.Viewers})
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// ViewerSample is one track's viewer count at a time.
type ViewerSample struct {
	At      time.Time
	Viewers int
}

// ViewerHistory samples every track's viewer count at an interval and
// keeps the last Window of samples per track, in memory: the organizer
// page's chart of the last hour.
type ViewerHistory struct {
	// Tracks lists the slugs to sample.
	Tracks func(ctx context.Context) ([]string, error)
	// Count is a track's viewers now.
	Count func(track string) int
	// Interval between samples (default 15 s) and Window kept (default 1 h).
	Interval time.Duration
	Window   time.Duration

	mu      sync.Mutex
	samples map[string][]ViewerSample
}

func (v *ViewerHistory) interval() time.Duration {
	if v.Interval <= 0 {
		return 15 * time.Second
	}
	return v.Interval
}

// Run samples until ctx ends, the first time at once.
func (v *ViewerHistory) Run(ctx context.Context) {
	t := time.NewTicker(v.interval())
	defer t.Stop()
	for {
		v.Sample(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample records every track's count at now.
func (v *ViewerHistory) Sample(ctx context.Context, now time.Time) {
	tracks, err := v.Tracks(ctx)
	if err != nil {
		return
	}
	window := v.Window
	if window <= 0 {
		window = time.Hour
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.samples == nil {
		v.samples = map[string][]ViewerSample{}
	}
	keep := map[string]bool{}
	for _, tr := range tracks {
		keep[tr] = true
		s := append(v.samples[tr], ViewerSample{At: now, Viewers: v.Count(tr)})
		i := 0
		for i < len(s) && now.Sub(s[i].At) > window {
			i++
		}
		v.samples[tr] = s[i:]
	}
	for tr := range v.samples {
		if !keep[tr] {
			delete(v.samples, tr)
		}
	}
}

// Samples returns a copy of the track's samples, oldest first.
func (v *ViewerHistory) Samples(track string) []ViewerSample {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]ViewerSample(nil), v.samples[track]...)
}

// ViewerCount is a track's viewers now (0 without a ViewerCounter).
func (h *Handler) ViewerCount(track string) int { return h.viewers(track) }
