package live

import (
	"encoding/json"
	"time"

	"github.com/kastlive/kast/conference"
)

// Message types (docs/api.md).
const (
	typeHello   = "hello"
	typeOnAir   = "on_air"
	typeViewers = "viewers"
)

// helloMsg is the first message on every connection.
type helloMsg struct {
	Type             string       `json:"type"`
	Event            string       `json:"event"`
	MaxSwitchDelayMS int64        `json:"max_switch_delay_ms"`
	Viewers          []TrackCount `json:"viewers"`
}

// onAirMsg reports the talk now on air on a track.
type onAirMsg struct {
	Type          string    `json:"type"`
	Event         string    `json:"event"`
	Track         string    `json:"track"`
	At            time.Time `json:"at"`
	SwitchDelayMS int64     `json:"switch_delay_ms"`
	Talk          *talkJSON `json:"talk"`
}

type talkJSON struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	Kind     string    `json:"kind,omitempty"`
	Language string    `json:"language,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Speakers []string  `json:"speakers"`
}

// viewersMsg carries the viewer counts of every track of the event.
type viewersMsg struct {
	Type   string       `json:"type"`
	Event  string       `json:"event"`
	At     time.Time    `json:"at"`
	Tracks []TrackCount `json:"tracks"`
}

// TrackCount is one track's viewers, by protocol.
type TrackCount struct {
	Track   string `json:"track"`
	Viewers int    `json:"viewers"`
	HLS     int    `json:"hls"`
	WebRTC  int    `json:"webrtc"`
}

func talkOf(t *conference.Talk) *talkJSON {
	if t == nil {
		return nil
	}
	j := &talkJSON{ID: t.ID, Title: t.Title, Kind: string(t.Kind), Language: t.Language, Start: t.Start, End: t.End, Speakers: []string{}}
	for _, s := range t.Speakers {
		j.Speakers = append(j.Speakers, s.Name)
	}
	return j
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types, which always marshal
	}
	return b
}
