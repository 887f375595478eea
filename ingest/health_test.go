package ingest

import (
	"strings"
	"testing"
	"time"
)

func TestHealthMonitor(t *testing.T) {
	hub := &Hub{}
	var m HealthMonitor
	m.Attach(hub)
	if _, ok := m.Health("main"); ok {
		t.Fatal("health of a track nobody publishes")
	}
	p, err := hub.Claim("main", "rtmp 192.0.2.7:50000", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Start(Media{Video: &Video{Codec: CodecH264, Width: 1280, Height: 720, SPS: []byte{0x67, 0x64, 0x00, 0x1f}}})
	// 3 s of 30 fps video, a keyframe every 2.5 s, B-frames (PTS != DTS),
	// 1,000 bytes a frame: 240 kbit/s.
	start := time.Now()
	for i := range 90 {
		dts := time.Duration(i) * time.Second / 30
		pts := dts
		if i%3 == 1 {
			pts += 66 * time.Millisecond
		}
		s.Write(&Unit{Kind: KindVideo, DTS: dts, PTS: pts, Key: i%75 == 0, Received: start.Add(dts), NALUs: [][]byte{make([]byte, 1000)}})
		time.Sleep(time.Second / 30)
	}
	time.Sleep(1100 * time.Millisecond)
	h, ok := m.Health("main")
	if !ok {
		t.Fatal("no health while live")
	}
	if h.Protocol != "rtmp" || h.Address != "192.0.2.7:50000" || h.Width != 1280 || h.Codecs[0] != "avc1.64001f" {
		t.Errorf("identity: %+v", h)
	}
	if h.KeyframeInterval != 2500*time.Millisecond {
		t.Errorf("keyframe interval = %v, want 2.5s", h.KeyframeInterval)
	}
	if !h.BFrames {
		t.Error("B-frames not seen")
	}
	warn := h.Warnings(h.LastUnit)
	if len(warn) != 2 || !strings.Contains(warn[0].Message, "Keyframe Interval to 1 s") || !strings.Contains(warn[1].Message, "bframes=0") {
		t.Errorf("warnings = %+v", warn)
	}
	if w := h.Warnings(h.LastUnit.Add(5 * time.Second)); w[len(w)-1].Code != "no_media" {
		t.Errorf("stall not warned: %+v", w)
	}
	p.Close(nil)
	deadline := time.Now().Add(time.Second)
	for {
		if _, ok := m.Health("main"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("health kept after the stream ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHealthBitrate(t *testing.T) {
	hub := &Hub{}
	var m HealthMonitor
	m.Attach(hub)
	p, _ := hub.Claim("t", "whip [2001:db8::1]:4000", nil)
	s := p.Start(Media{Video: &Video{Codec: CodecVP8, Width: 640, Height: 360}})
	stop := time.Now().Add(2500 * time.Millisecond)
	for i := 0; time.Now().Before(stop); i++ {
		d := time.Duration(i) * 40 * time.Millisecond
		s.Write(&Unit{Kind: KindVideo, DTS: d, PTS: d, Key: i%25 == 0, Received: time.Now(), Frame: make([]byte, 2500)})
		time.Sleep(40 * time.Millisecond)
	}
	h, _ := m.Health("t")
	// 25 fps x 2,500 bytes = 500 kbit/s; sleeping overshoots, so allow 20 %.
	if h.Bitrate < 380_000 || h.Bitrate > 520_000 || h.FPS < 19 || h.FPS > 26 {
		t.Errorf("bitrate %d, fps %.1f; want about 500000 and 25", h.Bitrate, h.FPS)
	}
	if h.BFrames || h.KeyframeInterval != time.Second || h.Protocol != "whip" || h.Address != "[2001:db8::1]:4000" {
		t.Errorf("%+v", h)
	}
	if w := h.Warnings(h.LastUnit); len(w) != 0 {
		t.Errorf("warnings for a good stream: %+v", w)
	}
	p.Close(nil)
}
