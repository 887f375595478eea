package packager

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"github.com/kastlive/kast/ingest"
)

// copyFeed is a stand-in for the ladder: it makes a rendition of a stream
// by copying its pictures (so the rendition's media must equal the
// source's), after a delay, losing the pictures lose says to, and ending
// after endAfter pictures (0: with the stream).
type copyFeed struct {
	delay    time.Duration
	lose     func(i int) bool
	endAfter int
	// reorder holds this many pictures to put them in presentation order,
	// as a decoder of a stream with B-frames does.
	reorder int
	// stallAt pictures, the feed stops for stall (an encoder short of
	// CPU), then catches up.
	stallAt int
	stall   time.Duration
}

func (c copyFeed) run(r *ingest.Reader, out chan<- *ingest.Unit) {
	defer close(out)
	i := 0
	var held []*ingest.Unit
	send := func(u *ingest.Unit) {
		time.Sleep(time.Until(u.Received.Add(c.delay)))
		out <- &ingest.Unit{Kind: ingest.KindVideo, DTS: u.PTS, PTS: u.PTS, Received: time.Now(), Key: u.Key, NALUs: u.NALUs}
	}
	for u := range r.Units() {
		if u.Kind != ingest.KindVideo {
			continue
		}
		n := i
		i++
		if c.endAfter > 0 && n == c.endAfter {
			r.Close()
			return
		}
		if c.lose != nil && c.lose(n) {
			continue
		}
		if c.stall > 0 && n == c.stallAt {
			time.Sleep(c.stall)
		}
		held = append(held, u)
		for len(held) > c.reorder {
			i := 0
			for j, h := range held {
				if h.PTS < held[i].PTS {
					i = j
				}
			}
			send(held[i])
			held = slices.Delete(held, i, i+1)
		}
	}
}

type renditionRig struct {
	t *testing.T
	f *fixture
	// bframes gives the source's pictures the timestamps of a stream with
	// two B-frames between P-frames (decode order I P B B P B B ...).
	bframes bool
	hub     *ingest.Hub
	srv     *Server
	http    *httptest.Server
}

func newRenditionRig(t *testing.T, feed copyFeed) *renditionRig {
	rr := &renditionRig{t: t, f: loadFixture(t), hub: &ingest.Hub{}}
	rr.srv = &Server{Hub: rr.hub, Logger: discard}
	if err := rr.srv.Initialize(); err != nil {
		t.Fatal(err)
	}
	rr.hub.OnStream(func(st *ingest.Stream) {
		r := st.Subscribe(0)
		out := make(chan *ingest.Unit, 256)
		if err := rr.srv.AddRendition(st, "copy", out); err != nil {
			t.Error(err)
		}
		go feed.run(r, out)
	})
	rr.http = httptest.NewServer(rr.srv)
	t.Cleanup(func() {
		rr.http.Close()
		rr.srv.Close()
	})
	return rr
}

// publish sends d of the fixture in real time as one stream.
func (rr *renditionRig) publish(d time.Duration) {
	p, err := rr.hub.Claim("main", "test", nil)
	if err != nil {
		rr.t.Error(err)
		return
	}
	defer p.Close(nil)
	st := p.Start(rr.f.media)
	start := time.Now()
	frame := time.Second * 1024 / time.Duration(rr.f.media.Audio.SampleRate)
	for vi, ai := 0, 0; ; {
		vt, at := time.Duration(vi)*time.Second/30, time.Duration(ai)*frame
		next := min(vt, at)
		if next >= d {
			return
		}
		time.Sleep(time.Until(start.Add(next)))
		if at < vt {
			st.Write(&ingest.Unit{Kind: ingest.KindAudio, DTS: at, PTS: at, Received: time.Now(), Key: true, Frame: rr.f.audio[ai%len(rr.f.audio)]})
			ai++
			continue
		}
		au := rr.f.video[vi%len(rr.f.video)]
		dts, pts := vt, vt
		if rr.bframes {
			dts, pts = bframeTimes(vi)
		}
		st.Write(&ingest.Unit{Kind: ingest.KindVideo, DTS: dts, PTS: pts, Received: time.Now(), Key: h264.IsRandomAccess(au), NALUs: au})
		vi++
	}
}

// bframeTimes returns the DTS and PTS of picture k (in decode order) of a
// 30 fps stream with a keyframe every 30 pictures and two B-frames after
// each P-frame: decode order I0 P3 B1 B2 P6 B4 B5 ..., DTS one frame
// before the picture's index so that no PTS precedes its DTS.
func bframeTimes(k int) (dts, pts time.Duration) {
	frame := time.Second / 30
	gop, i := k/30, k%30
	p := i
	if i > 0 {
		g, pos := (i-1)/3, (i-1)%3
		if base := 1 + 3*g; base+2 < 30 {
			p = [3]int{base + 2, base, base + 1}[pos]
		}
	}
	return time.Duration(30*gop+i-1) * frame, time.Duration(30*gop+p) * frame
}

func (rr *renditionRig) get(path string) (int, []byte) {
	rr.t.Helper()
	res, err := http.Get(rr.http.URL + "/main/" + path)
	if err != nil {
		rr.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		rr.t.Fatal(err)
	}
	return res.StatusCode, b
}

func (rr *renditionRig) media(path string) *playlist.Media {
	rr.t.Helper()
	code, b := rr.get(path)
	if code != 200 {
		rr.t.Fatalf("%s: %d %s", path, code, b)
	}
	var m playlist.Media
	if err := m.Unmarshal(b); err != nil {
		rr.t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return &m
}

func (rr *renditionRig) waitReady(path string) {
	rr.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := rr.get(path); code == 200 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	rr.t.Fatalf("%s not served after 10 s", path)
}

// both returns the source's and the rendition's media playlists holding
// the same last complete segment.
func (rr *renditionRig) both() (src, ren *playlist.Media) {
	rr.t.Helper()
	src = rr.media("media.m3u8")
	next := src.MediaSequence + len(src.Segments)
	q := fmt.Sprintf("?_HLS_msn=%d", next)
	src = rr.media("media.m3u8" + q)
	ren = rr.media("copy/media.m3u8" + q)
	return src, ren
}

// parts parses a segment or part file.
func parseParts(t *testing.T, b []byte) fmp4.Parts {
	t.Helper()
	var ps fmp4.Parts
	if err := ps.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	return ps
}

// checkAligned compares the segments the two playlists share: same media
// sequence numbers, durations, dates, discontinuities and parts.
func checkAligned(t *testing.T, src, ren *playlist.Media) (common []int) {
	t.Helper()
	if src.TargetDuration != ren.TargetDuration || src.PartInf.PartTarget != ren.PartInf.PartTarget {
		t.Fatalf("target durations %d/%v vs %d/%v", src.TargetDuration, src.PartInf.PartTarget, ren.TargetDuration, ren.PartInf.PartTarget)
	}
	for i, rs := range ren.Segments {
		msn := ren.MediaSequence + i
		j := msn - src.MediaSequence
		if j < 0 || j >= len(src.Segments) {
			continue
		}
		ss := src.Segments[j]
		if ss.Duration != rs.Duration || !ss.DateTime.Equal(*rs.DateTime) || ss.Discontinuity != rs.Discontinuity {
			t.Fatalf("segment %d: source %v %v disc %v, rendition %v %v disc %v", msn,
				ss.Duration, ss.DateTime, ss.Discontinuity, rs.Duration, rs.DateTime, rs.Discontinuity)
		}
		if len(ss.Parts) != len(rs.Parts) {
			t.Fatalf("segment %d: %d parts listed in the source, %d in the rendition", msn, len(ss.Parts), len(rs.Parts))
		}
		for k := range ss.Parts {
			if ss.Parts[k].Duration != rs.Parts[k].Duration || ss.Parts[k].Independent != rs.Parts[k].Independent {
				t.Fatalf("segment %d part %d: source %+v, rendition %+v", msn, k, ss.Parts[k], rs.Parts[k])
			}
		}
		common = append(common, msn)
	}
	// Discontinuity sequence numbers agree for the same media sequence number.
	dsn := func(m *playlist.Media, msn int) int {
		d := 0
		if m.DiscontinuitySequence != nil {
			d = *m.DiscontinuitySequence
		}
		for i := 0; i <= msn-m.MediaSequence; i++ {
			if m.Segments[i].Discontinuity {
				d++
			}
		}
		return d
	}
	for _, msn := range common {
		if a, b := dsn(src, msn), dsn(ren, msn); a != b {
			t.Fatalf("segment %d: discontinuity sequence %d in the source, %d in the rendition", msn, a, b)
		}
	}
	if len(common) < 3 {
		t.Fatalf("only %d segments in common:\nsource from %d, %d segments; rendition from %d, %d", len(common),
			src.MediaSequence, len(src.Segments), ren.MediaSequence, len(ren.Segments))
	}
	return common
}

// segmentOf returns the file of segment msn.
func segmentOf(m *playlist.Media, msn int) string { return m.Segments[msn-m.MediaSequence].URI }

// The rendition of a copy feed is the source again: its multivariant
// entry has every attribute, its playlist lists the same segments and
// parts, and its segments hold the same samples at the same times.
func TestRenditionFollowsSource(t *testing.T) {
	t.Parallel()
	rr := newRenditionRig(t, copyFeed{delay: 40 * time.Millisecond})
	go rr.publish(9 * time.Second)
	rr.waitReady("index.m3u8")
	time.Sleep(3 * time.Second)

	_, b := rr.get("index.m3u8")
	var mv playlist.Multivariant
	if err := mv.Unmarshal(b); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	t.Logf("multivariant:\n%s", b)
	if len(mv.Variants) != 2 || mv.Variants[0].URI != "media.m3u8" || mv.Variants[1].URI != "copy/media.m3u8" {
		t.Fatalf("variants:\n%s", b)
	}
	for _, v := range mv.Variants {
		if v.Bandwidth < 2_000_000 || v.AverageBandwidth == nil || *v.AverageBandwidth > v.Bandwidth ||
			v.Resolution != "1280x720" || v.FrameRate == nil || *v.FrameRate != 30 ||
			!slices.Equal(v.Codecs, []string{rr.f.media.Video.CodecString(), "mp4a.40.2"}) {
			t.Fatalf("variant %+v:\n%s", v, b)
		}
	}

	src, ren := rr.both()
	common := checkAligned(t, src, ren)
	for _, msn := range common[len(common)-2:] {
		_, sb := rr.get(segmentOf(src, msn))
		_, rb := rr.get("copy/" + segmentOf(ren, msn))
		sp, rp := parseParts(t, sb), parseParts(t, rb)
		if len(sp) != len(rp) {
			t.Fatalf("segment %d: %d chunks in the source, %d in the rendition", msn, len(sp), len(rp))
		}
		for i := range sp {
			if len(sp[i].Tracks) != len(rp[i].Tracks) {
				t.Fatalf("segment %d chunk %d: tracks differ", msn, i)
			}
			for k, st := range sp[i].Tracks {
				rt := rp[i].Tracks[k]
				if st.ID != rt.ID || st.BaseTime != rt.BaseTime || len(st.Samples) != len(rt.Samples) {
					t.Fatalf("segment %d chunk %d track %d: source %d@%d (%d samples), rendition %d@%d (%d)", msn, i, k,
						st.ID, st.BaseTime, len(st.Samples), rt.ID, rt.BaseTime, len(rt.Samples))
				}
				for j := range st.Samples {
					a, b := st.Samples[j], rt.Samples[j]
					if a.Duration != b.Duration || a.PTSOffset != b.PTSOffset || a.IsNonSyncSample != b.IsNonSyncSample || !bytes.Equal(a.Payload, b.Payload) {
						t.Fatalf("segment %d chunk %d track %d sample %d differs", msn, i, st.ID, j)
					}
				}
			}
		}
	}
	// The init segment: the same tracks.
	_, si := rr.get(src.Map.URI)
	_, ri := rr.get("copy/" + ren.Map.URI)
	var sInit, rInit fmp4.Init
	if err := sInit.Unmarshal(bytes.NewReader(si)); err != nil {
		t.Fatal(err)
	}
	if err := rInit.Unmarshal(bytes.NewReader(ri)); err != nil {
		t.Fatal(err)
	}
	if len(sInit.Tracks) != 2 || len(rInit.Tracks) != 2 {
		t.Fatalf("init tracks: %d and %d", len(sInit.Tracks), len(rInit.Tracks))
	}
	// Nothing else is served under the rendition.
	for _, p := range []string{"copy/index.m3u8", "nope/media.m3u8", "copy/x/media.m3u8"} {
		if code, _ := rr.get(p); code != 404 {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
}

// Pictures lost on the way to the rendition leave its parts where the
// source's are, without video from the loss to the next keyframe.
func TestRenditionLosesPictures(t *testing.T) {
	t.Parallel()
	// The fixture has a keyframe every 30 pictures.
	rr := newRenditionRig(t, copyFeed{delay: 20 * time.Millisecond, lose: func(i int) bool { return i >= 100 && i < 104 }})
	go rr.publish(9 * time.Second)
	rr.waitReady("index.m3u8")
	time.Sleep(3 * time.Second)
	src, ren := rr.both()
	common := checkAligned(t, src, ren)
	pictures := func(b []byte) (n int) {
		for _, p := range parseParts(t, b) {
			for _, tr := range p.Tracks {
				if tr.ID == videoTrackID {
					n += len(tr.Samples)
				}
			}
		}
		return n
	}
	var counts []int
	for _, msn := range common {
		_, sb := rr.get(segmentOf(src, msn))
		_, rb := rr.get("copy/" + segmentOf(ren, msn))
		s, r := pictures(sb), pictures(rb)
		counts = append(counts, s-r)
	}
	// Pictures 100-103 are lost and 104-119 depend on them: 20 pictures
	// missing in the segment of pictures 90-119, none elsewhere.
	missing := slices.DeleteFunc(slices.Clone(counts), func(n int) bool { return n == 0 })
	if !slices.Equal(missing, []int{20}) {
		t.Fatalf("pictures missing per segment %v (segments %v)", counts, common)
	}
}

// A rendition whose feed stops while the stream goes on leaves the
// multivariant playlist, and its files are gone.
func TestRenditionFeedFails(t *testing.T) {
	t.Parallel()
	rr := newRenditionRig(t, copyFeed{endAfter: 150})
	go rr.publish(9 * time.Second)
	rr.waitReady("index.m3u8")
	if _, b := rr.get("index.m3u8"); !bytes.Contains(b, []byte("copy/media.m3u8")) {
		t.Fatalf("no rendition at first:\n%s", b)
	}
	time.Sleep(3 * time.Second) // past picture 150 (5 s)
	if _, b := rr.get("index.m3u8"); bytes.Contains(b, []byte("copy/")) {
		t.Fatalf("the failed rendition is still listed:\n%s", b)
	}
	if code, _ := rr.get("copy/media.m3u8"); code != 404 {
		t.Fatalf("the failed rendition's playlist answers %d", code)
	}
	if code, _ := rr.get("media.m3u8"); code != 200 {
		t.Fatalf("the source's playlist answers %d", code)
	}
}

// After the publisher reconnects, the rendition goes on with the source,
// its discontinuity at the same segment.
func TestRenditionAcrossReconnect(t *testing.T) {
	t.Parallel()
	rr := newRenditionRig(t, copyFeed{delay: 30 * time.Millisecond})
	rr.publish(5 * time.Second)
	go rr.publish(6 * time.Second)
	time.Sleep(4500 * time.Millisecond)
	src, ren := rr.both()
	common := checkAligned(t, src, ren)
	disc := 0
	for _, msn := range common {
		if ren.Segments[msn-ren.MediaSequence].Discontinuity {
			disc++
		}
	}
	if disc != 1 {
		t.Fatalf("%d discontinuities in the segments in common %v:\nsource %+v", disc, common, src)
	}
	if !strings.Contains(string(mustGet(rr, "index.m3u8")), "copy/media.m3u8") {
		t.Fatal("rendition not listed after the reconnect")
	}
}

// A source with B-frames: the rendition (without) decodes on the source's
// decode times, presents every picture at its source time, and its parts
// and segments are the source's.
func TestRenditionBFrames(t *testing.T) {
	t.Parallel()
	rr := newRenditionRig(t, copyFeed{delay: 30 * time.Millisecond, reorder: 2})
	rr.bframes = true
	go rr.publish(9 * time.Second)
	rr.waitReady("index.m3u8")
	time.Sleep(3 * time.Second)
	src, ren := rr.both()
	common := checkAligned(t, src, ren)
	// presentation times of the video samples, and of the sync ones
	times := func(b []byte) (all, sync []int64) {
		for _, p := range parseParts(t, b) {
			for _, tr := range p.Tracks {
				if tr.ID != videoTrackID {
					continue
				}
				dts := int64(tr.BaseTime)
				for _, s := range tr.Samples {
					all = append(all, dts+int64(s.PTSOffset))
					if !s.IsNonSyncSample {
						sync = append(sync, dts+int64(s.PTSOffset))
					}
					dts += int64(s.Duration)
				}
			}
		}
		slices.Sort(all)
		return all, sync
	}
	for _, msn := range common {
		_, sb := rr.get(segmentOf(src, msn))
		_, rb := rr.get("copy/" + segmentOf(ren, msn))
		sa, ss := times(sb)
		ra, rs := times(rb)
		if !slices.Equal(sa, ra) || !slices.Equal(ss, rs) || len(ss) != 1 {
			t.Fatalf("segment %d: source presents %v (sync %v), rendition %v (sync %v)", msn, sa, ss, ra, rs)
		}
		ps := parseParts(t, rb)
		if first := ps[0].Tracks[0]; first.Samples[0].IsNonSyncSample || first.Samples[0].PTSOffset < 0 {
			t.Fatalf("segment %d does not start with a keyframe: %+v", msn, first.Samples[0])
		}
	}
}

// A rendition that falls more than maxRenditionLag behind is started over:
// out of the multivariant playlist, then back, aligned, with a later first
// segment and new names.
func TestRenditionLagsAndRestarts(t *testing.T) {
	t.Parallel()
	rr := newRenditionRig(t, copyFeed{delay: 20 * time.Millisecond, stallAt: 120, stall: maxRenditionLag + 500*time.Millisecond})
	go rr.publish(16 * time.Second)
	rr.waitReady("index.m3u8")
	before := rr.media("copy/media.m3u8")
	// Picture 120 is due at 4 s and comes at 7.5 s: the rendition gives up
	// on it at 7 s, about 4 s from now.
	time.Sleep(4 * time.Second)
	var gone bool
	for range 40 {
		if code, _ := rr.get("copy/media.m3u8"); code == 404 {
			gone = true
			if bytes.Contains(mustGet(rr, "index.m3u8"), []byte("copy/")) {
				t.Fatal("the lagging rendition is still listed")
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !gone {
		t.Fatal("the lagging rendition's playlist is still served")
	}
	deadline := time.Now().Add(8 * time.Second)
	for !bytes.Contains(mustGet(rr, "index.m3u8"), []byte("copy/")) {
		if time.Now().After(deadline) {
			t.Fatal("the rendition did not come back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	src, ren := rr.both()
	checkAligned(t, src, ren)
	if ren.MediaSequence <= before.MediaSequence || ren.Map.URI == before.Map.URI {
		t.Fatalf("the restarted rendition starts at %d (%s), as before (%d, %s)", ren.MediaSequence, ren.Map.URI, before.MediaSequence, before.Map.URI)
	}
}

func mustGet(rr *renditionRig, path string) []byte {
	_, b := rr.get(path)
	return b
}

func TestRenditionNames(t *testing.T) {
	for _, n := range []string{"480p", "360p-low", "a.b_c"} {
		if err := checkRenditionName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "-x", "480P", "a/b", "..", strings.Repeat("a", 33), "é"} {
		if err := checkRenditionName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestFrameRate(t *testing.T) {
	for _, c := range []struct {
		durs []uint32
		want float64
	}{
		{[]uint32{2970, 3060, 2970}, 30},       // 33, 34, 33 ms in 90 kHz
		{[]uint32{3003}, 30000.0 / 1001},       // 29.97
		{[]uint32{3600}, 25},                   // 25
		{[]uint32{1500}, 60},                   // 60
		{[]uint32{4500}, 20},                   // not a usual rate: as measured
		{[]uint32{3000, 3000, 3000, 3000}, 30}, // exactly 30
	} {
		var r frameRate
		for i := range 40 {
			r.add(c.durs[i%len(c.durs)])
		}
		if got := r.value(); got != c.want {
			t.Errorf("%v: %v, want %v", c.durs, got, c.want)
		}
	}
	var r frameRate
	if r.value() != 0 {
		t.Error("a rate without samples")
	}
}
