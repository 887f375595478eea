package packager

import (
	"bytes"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
)

// FuzzFollower feeds a source and a rendition of it through a muxer, the
// rendition's pictures lost, held back and let through as the input says,
// and checks that nothing panics, that the source's playlist is byte for
// byte what a muxer without renditions makes of the same input, and that
// every segment the rendition lists is the source's (same number,
// duration, date, parts and part durations).
//
// Input: byte 0 bit 0 gives the source B-frame timestamps (bframeTimes);
// then one byte per rendition picture: 0-4 delivered at once (after any
// held ones), 5 lost, 6-7 held back until the next delivery.
func FuzzFollower(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{1})
	f.Add(append([]byte{0}, bytes.Repeat([]byte{6}, 20)...))
	f.Add([]byte{0, 0, 0, 5, 5, 0, 6, 6, 6, 0, 5})
	f.Add([]byte{1, 6, 0, 5, 0, 6, 7, 0, 0, 5, 5, 5, 5, 0})
	f.Fuzz(fuzzOne)
}

var fuzzFixture *fixture

func fuzzOne(t *testing.T, in []byte) {
	if fuzzFixture == nil {
		fuzzFixture = loadFixture(t)
	}
	fx := fuzzFixture
	{
		if len(in) == 0 {
			return
		}
		bframes := in[0]&1 == 1
		in = in[1:]

		hub := &ingest.Hub{}
		p, err := hub.Claim("t", "fuzz", nil)
		if err != nil {
			t.Fatal(err)
		}
		st := p.Start(fx.media)
		cfg := Config{}
		if err := cfg.setDefaults(); err != nil {
			t.Fatal(err)
		}
		mk := func() *muxer {
			m := newMuxer("t", cfg, discard, &Metrics{}, func(*muxer) {}, func(*muxer) bool { return true })
			m.epoch = "e"
			m.rend.stream = st.ID
			if err := m.tl.startSession(fx.media); err != nil {
				t.Fatal(err)
			}
			return m
		}
		with, plain := mk(), mk()
		rs := with.rend
		fd := &feed{name: "r", src: st}
		rs.pending = []*feed{fd}
		rs.npending.Store(1)

		const pictures = 12 * 30
		frame := time.Second * 1024 / time.Duration(fx.media.Audio.SampleRate)
		base := time.Unix(1_700_000_000, 0)
		var queue []*ingest.Unit // source pictures the rendition has yet to make, in presentation order
		var held []*ingest.Unit
		ri := 0
		deliver := func(u *ingest.Unit) {
			rs.receive(renditionMsg{f: fd, u: u})
		}
		for vi, ai := 0, 0; vi < pictures; {
			vt, at := time.Duration(vi)*time.Second/30, time.Duration(ai)*frame
			var u *ingest.Unit
			if at < vt {
				u = &ingest.Unit{Kind: ingest.KindAudio, DTS: at, PTS: at, Received: base.Add(at), Key: true, Frame: fx.audio[ai%len(fx.audio)]}
				ai++
			} else {
				au := fx.video[vi%len(fx.video)]
				dts, pts := vt, vt
				if bframes {
					dts, pts = bframeTimes(vi)
				}
				u = &ingest.Unit{Kind: ingest.KindVideo, DTS: dts, PTS: pts, Received: base.Add(vt), Key: vi%30 == 0, NALUs: au}
				vi++
				queue = append(queue, u)
			}
			for _, m := range []*muxer{with, plain} {
				if m == with && rs.npending.Load() > 0 {
					rs.attachPending()
				}
				m.tl.push(u)
				if len(m.rend.followers) > 0 {
					m.rend.advance()
				}
			}
			// The rendition makes a picture once the source has the next
			// two (a decoder's reorder delay), in presentation order.
			for len(queue) > 2 {
				k := 0
				for j, q := range queue {
					if q.PTS < queue[k].PTS {
						k = j
					}
				}
				src := queue[k]
				queue = append(queue[:k], queue[k+1:]...)
				r := &ingest.Unit{Kind: ingest.KindVideo, DTS: src.PTS, PTS: src.PTS, Key: src.Key, NALUs: src.NALUs}
				op := byte(0)
				if ri < len(in) {
					op = in[ri] % 8
				}
				ri++
				switch {
				case op == 5:
				case op >= 6:
					held = append(held, r)
				default:
					for _, h := range held {
						deliver(h)
					}
					held = held[:0]
					deliver(r)
				}
			}
		}
		for _, h := range held {
			deliver(h)
		}

		// The source is untouched.
		a, b := with.cur.Load(), plain.cur.Load()
		if !bytes.Equal(a.playlist, b.playlist) || !bytes.Equal(a.delta, b.delta) {
			t.Fatalf("the source's playlist differs with renditions:\n%s\nwithout:\n%s", a.playlist, b.playlist)
		}
		// The rendition is the source's structure.
		fl := rs.lookup("r")
		clean := true
		for _, op := range in {
			clean = clean && op%8 < 5
		}
		if clean && (fl == nil || len(fl.tl.segments) < 8) {
			t.Fatalf("with every picture delivered, the rendition has not followed: %+v", fl)
		}
		if fl == nil {
			return // reset or failed: nothing listed to compare
		}
		src := with.tl
		byMSN := map[int]*segment{}
		for _, s := range src.segments {
			byMSN[s.msn] = s
		}
		if src.open != nil {
			byMSN[src.open.msn] = src.open
		}
		prev := -1
		for _, s := range fl.tl.segments {
			if prev >= 0 && s.msn != prev+1 {
				t.Fatalf("rendition segments %d then %d", prev, s.msn)
			}
			prev = s.msn
			ss := byMSN[s.msn]
			if ss == nil {
				continue // left the source's window
			}
			if s.start != ss.start || s.duration != ss.duration || !s.pdt.Equal(ss.pdt) || s.discontinuity != ss.discontinuity || len(s.parts) != len(ss.parts) {
				t.Fatalf("segment %d: rendition %v+%v %d parts, source %v+%v %d parts", s.msn, s.start, s.duration, len(s.parts), ss.start, ss.duration, len(ss.parts))
			}
			for i := range s.parts {
				if s.parts[i].n != ss.parts[i].n || s.parts[i].duration != ss.parts[i].duration {
					t.Fatalf("segment %d part %d: rendition %d %v, source %d %v", s.msn, i, s.parts[i].n, s.parts[i].duration, ss.parts[i].n, ss.parts[i].duration)
				}
			}
		}
		p.Close(nil)
	}
}
