package whip

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

// TestPionPublishes has a stock pion peer publish H.264 and Opus: the hub
// gets a stream with both, starting at a keyframe with its parameter
// sets, in real time, the two tracks on one clock; DELETE ends it and
// leaves nothing in the UDP mux.
func TestPionPublishes(t *testing.T) {
	c := testutil.LoadClip(t, 30)
	r := newRig(t, nil)
	p := testutil.NewPublisher(t, true, true)
	sess := r.publish(p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Send(ctx, c, false)

	st := r.stream(0, 10*time.Second)
	m := st.Media
	if m.Video == nil || m.Video.Codec != ingest.CodecH264 || m.Video.Width != 320 || m.Video.Height != 240 ||
		m.Audio == nil || m.Audio.Codec != ingest.CodecOpus || m.Audio.SampleRate != 48000 {
		t.Fatalf("media %s", m)
	}
	if got := strings.Join(m.Codecs(), ","); !strings.HasPrefix(got, "avc1.") || !strings.HasSuffix(got, ",opus") {
		t.Fatalf("codecs %s", got)
	}
	// 3 s of media (given more time: on a loaded machine the test
	// publisher's pacing falls behind).
	var video, audio []*ingest.Unit
	waitFor(t, 10*time.Second, "3 s of media", func() bool {
		video, audio = nil, nil
		for _, u := range r.unitsOf(st) {
			if u.Kind == ingest.KindVideo {
				video = append(video, u)
			} else {
				audio = append(audio, u)
			}
		}
		return len(video) >= 90 && len(audio) >= 150
	})
	if !video[0].Key || len(video[0].NALUs) < 3 {
		t.Fatalf("first picture key=%v with %d NAL units", video[0].Key, len(video[0].NALUs))
	}
	for i, u := range video {
		if i > 0 && u.DTS <= video[i-1].DTS {
			t.Fatalf("video DTS not increasing at %d: %v after %v", i, u.DTS, video[i-1].DTS)
		}
		if i > 0 && i < 60 {
			if d := u.DTS - video[i-1].DTS; d < 33*time.Millisecond || d > 34*time.Millisecond {
				t.Fatalf("picture %d lasts %v, want 1/30 s from the RTP clock", i, d)
			}
		}
	}
	// 20 ms each, but for a correction by the sender reports.
	odd := 0
	for i := 1; i < len(audio); i++ {
		if d := audio[i].DTS - audio[i-1].DTS; d != 20*time.Millisecond {
			odd++
			if d < 10*time.Millisecond {
				t.Fatalf("audio frame %d lasts %v: frames overlap", i, d)
			}
		}
	}
	if odd > 2 {
		t.Fatalf("%d audio frames not 20 ms long", odd)
	}
	// Both tracks were sent on one clock: the same lag from DTS to arrival.
	lag := func(us []*ingest.Unit) time.Duration {
		var l []time.Duration
		for _, u := range us[len(us)/2:] {
			l = append(l, u.Received.Sub(sess.clock.origin)-u.DTS)
		}
		slices.Sort(l)
		return l[len(l)/2]
	}
	// (40 ms on an idle machine; the test publisher's pacing of its two
	// tracks wanders on a loaded one.)
	d := lag(video) - lag(audio)
	t.Logf("video lags %v behind audio", d)
	if d > 150*time.Millisecond || d < -150*time.Millisecond {
		t.Fatalf("video lags %v behind audio", d)
	}

	sess.Delete()
	select {
	case <-st.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("stream still live after DELETE")
	}
	if r.hub.Live("main") != nil || r.hub.Stats().Publishers != 0 {
		t.Fatal("track still claimed")
	}
	waitFor(t, 2*time.Second, "mux state released", func() bool { return r.engine.MuxSessions() == 0 })
	if !strings.Contains(r.logs.String(), "publish ended") || !strings.Contains(r.logs.String(), "DELETE") {
		t.Fatalf("no end logged:\n%s", r.logs.String())
	}
}

// TestLossAsksForKeyframe drops video packets for good (never
// retransmitted): the damaged pictures never reach the hub, kast asks for
// a keyframe, and the stream resumes on one.
func TestLossAsksForKeyframe(t *testing.T) {
	c := testutil.LoadClip(t, 120) // a keyframe every 4 s: recovery must come from the PLI
	r := newRig(t, func(s *Server) { s.KeyframeInterval = -1 })
	p := testutil.NewPublisher(t, true, false)
	// After 1.5 s, three packets are dropped, once. (Only the sending
	// goroutine calls drop.)
	dropStart := time.Now()
	dropFrom := -1
	p.Drop = func(seq uint16) bool {
		if dropFrom < 0 && time.Since(dropStart) > 1500*time.Millisecond {
			dropFrom = int(seq)
		}
		return dropFrom >= 0 && int(seq-uint16(dropFrom)) < 3
	}
	r.publish(p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Send(ctx, c, true)
	st := r.stream(0, 10*time.Second)
	time.Sleep(3500 * time.Millisecond)
	units := r.unitsOf(st)
	if p.KeyframeRequests() < 1 { // for the loss
		t.Fatalf("%d keyframe requests", p.KeyframeRequests())
	}
	stats := r.srv.Stats()
	if stats.Lost < 3 || stats.Damaged < 1 {
		t.Fatalf("stats %+v", stats)
	}
	// Find the gap: the pictures resume with a keyframe.
	keys, resume := 0, 0
	var gap time.Duration
	for i := 1; i < len(units); i++ {
		if units[i].Key {
			keys++
		}
		if d := units[i].DTS - units[i-1].DTS; d > gap {
			gap, resume = d, i
		}
	}
	if !units[resume].Key {
		t.Fatalf("pictures resume at %v with a non-keyframe", units[resume].DTS)
	}
	if keys < 1 || gap < 60*time.Millisecond || gap > 900*time.Millisecond {
		t.Fatalf("%d keyframes after the first, longest gap %v (want one recovery within 0.9 s)", keys, gap)
	}
	t.Logf("recovered after %v; stats %+v", gap, stats)
}

// TestPeriodicKeyframes checks that a publisher sending no keyframes of
// its own (a browser) is asked for one every KeyframeInterval.
func TestPeriodicKeyframes(t *testing.T) {
	c := testutil.LoadClip(t, 120)
	r := newRig(t, func(s *Server) { s.KeyframeInterval = time.Second })
	p := testutil.NewPublisher(t, true, true)
	r.publish(p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Send(ctx, c, true)
	st := r.stream(0, 10*time.Second)
	time.Sleep(3500 * time.Millisecond)
	var keyAt []time.Duration
	for _, u := range r.unitsOf(st) {
		if u.Kind == ingest.KindVideo && u.Key {
			keyAt = append(keyAt, u.DTS)
		}
	}
	if len(keyAt) < 3 {
		t.Fatalf("%d keyframes in 3.5 s: %v", len(keyAt), keyAt)
	}
	// The clip has a keyframe every 4 s: these came because kast asked,
	// about every second. (The request goes out once a second has passed
	// by arrival time and the answer's timestamp is the encoder's, so on
	// a loaded machine the spacing wanders; sooner still after a loss.)
	for i := 1; i < len(keyAt); i++ {
		d := keyAt[i] - keyAt[i-1]
		if d > 1800*time.Millisecond || (d < 800*time.Millisecond && r.srv.Stats().Damaged == 0) {
			t.Fatalf("keyframes %v apart, want just over 1 s: %v (stats %+v)", d, keyAt, r.srv.Stats())
		}
	}
}

// TestUnfinishedSessionsAreDropped: offers whose ICE never completes are
// dropped after ConnectTimeout and release the track; past MaxPending the
// oldest goes first; a new offer for the track replaces an unconnected one.
func TestUnfinishedSessionsAreDropped(t *testing.T) {
	r := newRig(t, func(s *Server) {
		s.ConnectTimeout = 1500 * time.Millisecond
		s.MaxPending = 2
		s.Authorize = func(_ context.Context, key string) (string, error) {
			if strings.HasPrefix(key, "key-") {
				return strings.TrimPrefix(key, "key-"), nil
			}
			return "", ingest.ErrUnknownKey
		}
	})
	// Offers made up front, so that publishing them takes little time
	// against the timeout.
	var offers [][]byte
	for range 4 {
		offers = append(offers, testutil.NewPublisher(t, true, true).Offer())
	}
	offer := func(track string) *Session {
		s, err := r.srv.Publish(context.Background(), Request{StreamKey: "key-" + track, Offer: offers[0], Remote: "127.0.0.1:2"})
		if err != nil {
			t.Fatal(err)
		}
		offers = offers[1:]
		return s // the answer is never applied: ICE never starts
	}
	a := offer("a")
	b := offer("b")
	c := offer("c") // the third pending one: a is dropped
	select {
	case <-a.Done():
	case <-time.After(time.Second):
		t.Fatal("oldest pending session not dropped")
	}
	b2 := offer("b") // replaces b
	select {
	case <-b.Done():
	case <-time.After(time.Second):
		t.Fatal("pending session of the same track not replaced")
	}
	for _, s := range []*Session{c, b2} {
		select {
		case <-s.Done():
		case <-time.After(3 * time.Second):
			t.Fatal("unconnected session not dropped after ConnectTimeout")
		}
	}
	if st := r.srv.Stats(); st.Sessions != 0 || st.ConnectFailed != 2 || st.Dropped != 1 {
		t.Fatalf("stats %+v", st)
	}
	if r.hub.Stats().Publishers != 0 {
		t.Fatal("tracks still claimed")
	}
	waitFor(t, 2*time.Second, "mux state released", func() bool { return r.engine.MuxSessions() == 0 })
	if !strings.Contains(r.logs.String(), "ICE/DTLS did not complete") {
		t.Fatalf("no log of the timeout:\n%s", r.logs.String())
	}
}

// TestSilentPublisherEnds: a connected publisher that stops sending is
// ended after ReadTimeout with a log line.
func TestSilentPublisherEnds(t *testing.T) {
	c := testutil.LoadClip(t, 30)
	r := newRig(t, func(s *Server) { s.ReadTimeout = time.Second })
	p := testutil.NewPublisher(t, true, true)
	sess := r.publish(p)
	ctx, cancel := context.WithCancel(context.Background())
	go p.Send(ctx, c, false)
	r.stream(0, 10*time.Second)
	cancel() // the peer stays connected but sends nothing
	select {
	case <-sess.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("silent publisher not ended")
	}
	if !strings.Contains(r.logs.String(), "no data from publisher (timeout)") {
		t.Fatalf("no log line:\n%s", r.logs.String())
	}
}

func TestPublishRefusals(t *testing.T) {
	r := newRig(t, nil)
	p := testutil.NewPublisher(t, true, true)
	offer := p.Offer()
	for _, tc := range []struct {
		name string
		req  Request
		want func(error) bool
	}{
		{"unknown key", Request{StreamKey: "nope", Offer: offer}, func(err error) bool { return errors.Is(err, ingest.ErrUnknownKey) }},
		{"other track", Request{StreamKey: testKey, Track: "other", Offer: offer}, func(err error) bool {
			var w *WrongTrackError
			return errors.As(err, &w) && w.KeyTrack == "main"
		}},
	} {
		if _, err := r.srv.Publish(context.Background(), tc.req); !tc.want(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// A track already live: 409 unless its publisher has been silent.
	pub, err := r.hub.Claim("main", "rtmp test", func() {})
	if err != nil {
		t.Fatal(err)
	}
	st := pub.Start(ingest.Media{Audio: ingest.NewOpus(2)})
	st.Write(&ingest.Unit{Kind: ingest.KindAudio, Received: time.Now(), Key: true, Frame: []byte{1}})
	if _, err := r.srv.Publish(context.Background(), Request{StreamKey: testKey, Offer: offer}); !errors.Is(err, ingest.ErrTrackBusy) {
		t.Fatalf("live track: %v", err)
	}
	pub.Close(nil)
}

// TestSessionsLeaveNothingBehind publishes and deletes sessions one after
// another: no goroutine, no UDP mux state, no claimed track stays.
func TestSessionsLeaveNothingBehind(t *testing.T) {
	c := testutil.LoadClip(t, 30)
	r := newRig(t, nil)
	base := runtime.NumGoroutine()
	for i := range 10 {
		p := testutil.NewPublisher(t, true, true)
		sess := r.publish(p)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Send(ctx, c, true); close(done) }()
		r.stream(i, 10*time.Second)
		sess.Delete()
		cancel()
		<-done
		p.PC.Close()
	}
	waitFor(t, 5*time.Second, "goroutines back to where they were", func() bool { return runtime.NumGoroutine() <= base+2 })
	if n := r.engine.MuxSessions(); n != 0 || r.hub.Stats().Publishers != 0 || r.srv.Stats().Sessions != 0 {
		t.Fatalf("left behind: %d mux sessions, hub %+v, server %+v", n, r.hub.Stats(), r.srv.Stats())
	}
}

// TestHubKeyframeRequestReachesPublisher: a reader of the stream (the
// WebRTC relay, for a viewer that joins or loses packets) asks through
// the hub, and the publisher gets a PLI.
func TestHubKeyframeRequestReachesPublisher(t *testing.T) {
	c := testutil.LoadClip(t, 120)
	r := newRig(t, func(s *Server) { s.KeyframeInterval = -1 })
	p := testutil.NewPublisher(t, true, false)
	r.publish(p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Send(ctx, c, true)
	st := r.stream(0, 10*time.Second)
	time.Sleep(MinKeyframeInterval)
	before := p.KeyframeRequests()
	if !st.RequestKeyframe() {
		t.Fatal("the stream has no keyframe requester")
	}
	waitFor(t, 2*time.Second, "PLI at the publisher", func() bool { return p.KeyframeRequests() > before })
	waitFor(t, 2*time.Second, "a keyframe in the hub", func() bool {
		n := 0
		for _, u := range r.unitsOf(st) {
			if u.Key {
				n++
			}
		}
		return n >= 2
	})
}
