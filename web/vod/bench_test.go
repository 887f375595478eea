package vod_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/recorder"
	"github.com/kastlive/kast/store/sqlite"
	"github.com/kastlive/kast/web"
	"github.com/kastlive/kast/web/api"
	"github.com/kastlive/kast/web/vod"
)

// oneHourTalk lays out, in the documented format, a 1-hour talk of 3,600
// one-second segments of 330 kB (2.6 Mbit/s; sparse files, so the disk
// holds next to nothing) and serves it.
func oneHourTalk(tb testing.TB) (string, *recorder.Recorder) {
	return talkFixture(tb, 3600, nil)
}

// talkFixture is oneHourTalk with n segments and a gate.
func talkFixture(tb testing.TB, n int, gate vod.Gate, moreTalks ...map[string]any) (string, *recorder.Recorder) {
	tb.Helper()
	dir := tb.TempDir()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	pub := filepath.Join(dir, "tracks", "main", "20261201T090000Z")
	if err := os.MkdirAll(pub, 0o750); err != nil {
		tb.Fatal(err)
	}
	initBytes := make([]byte, 812) // served as bytes: neither path parses it
	os.WriteFile(filepath.Join(pub, "init-1.mp4"), initBytes, 0o640)
	idx, err := os.Create(filepath.Join(pub, "index.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	enc := json.NewEncoder(idx)
	enc.Encode(map[string]any{"k": "publish", "track": "main", "id": "20261201T090000Z", "started": start, "epoch": "e"})
	enc.Encode(map[string]any{"k": "init", "init": 1, "file": "init-1.mp4", "size": len(initBytes)})
	const segSize = 330_000
	for i := range n {
		name := fmt.Sprintf("seg-%d.m4s", i)
		f, err := os.Create(filepath.Join(pub, name))
		if err != nil {
			tb.Fatal(err)
		}
		f.Truncate(segSize)
		f.Close()
		enc.Encode(map[string]any{"k": "seg", "msn": i, "init": 1, "file": name, "size": segSize,
			"start_us": int64(i) * 1e6, "dur_us": 1e6, "pdt": start.Add(time.Duration(i) * time.Second)})
	}
	enc.Encode(map[string]any{"k": "end", "at": start.Add(time.Duration(n) * time.Second)})
	idx.Close()
	os.MkdirAll(filepath.Join(dir, "talks"), 0o750)
	talk, _ := json.Marshal(map[string]any{"id": 1, "event_id": 1, "track": "main", "title": "One hour",
		"spans": []map[string]any{{"track": "main", "from": start, "to": start.Add(time.Duration(n) * time.Second)}}})
	os.WriteFile(filepath.Join(dir, "talks", "1.json"), talk, 0o640)
	// More talks over the same span, with fields of their own (id, withdrawn, do_not_record...).
	for _, m := range moreTalks {
		t := map[string]any{"event_id": 1, "track": "main", "title": "Another",
			"spans": []map[string]any{{"track": "main", "from": start, "to": start.Add(time.Duration(n) * time.Second)}}}
		for k, v := range m {
			t[k] = v
		}
		b, _ := json.Marshal(t)
		os.WriteFile(filepath.Join(dir, "talks", fmt.Sprint(t["id"])+".json"), b, 0o640)
	}

	rec := &recorder.Recorder{Dir: dir, NoSync: true, MinFree: -1}
	if err := rec.Initialize(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(rec.Close)
	// The admin API sits in the JSON API, behind its admin-token check.
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "kast.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Bootstrap(context.Background(), conference.BootstrapOptions{AdminToken: fixtureAdminToken}); err != nil {
		tb.Fatal(err)
	}
	a := &api.Handler{Store: st}
	a.Initialize()
	srv := httptest.NewServer(web.Routes(web.Handlers{VOD: &vod.Handler{Recorder: rec, Gate: gate}, API: a, RecordingsAdmin: &vod.Admin{Recorder: rec}}))
	tb.Cleanup(srv.Close)
	return srv.URL, rec
}

// fixtureAdminToken is the admin token of talkFixture's server.
const fixtureAdminToken = "fixture-admin-token-0123"

func fetch(tb testing.TB, c *http.Client, url string) int {
	res, err := c.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		tb.Fatalf("GET %s: %d %v", url, res.StatusCode, err)
	}
	return int(n)
}

// BenchmarkVODOneHourTalk: a viewer opening a 1-hour talk's recording
// gets its playlist and its first segment over loopback HTTP (target:
// under 50 ms), warm (the cut cached) and cold.
func BenchmarkVODOneHourTalk(b *testing.B) {
	base, rec := oneHourTalk(b)
	c := &http.Client{}
	for _, bc := range []struct{ name, path string }{
		{"playlist", "/vod/1/index.m3u8"},
		{"first-segment", "/vod/1/20261201T090000Z/seg-0.m4s"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n = fetch(b, c, base+bc.path)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(n), "bytes")
		})
	}
	b.Run("playlist+first-segment", func(b *testing.B) {
		for b.Loop() {
			fetch(b, c, base+"/vod/1/index.m3u8")
			fetch(b, c, base+"/vod/1/20261201T090000Z/init-1.mp4")
			fetch(b, c, base+"/vod/1/20261201T090000Z/seg-0.m4s")
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
	// Cold: the catalog changed (here a trim, in a live event any new
	// segment), so the talk is cut again and its playlist rendered anew.
	b.Run("cold/playlist+first-segment", func(b *testing.B) {
		for b.Loop() {
			if err := rec.Trim(1, 0, 0); err != nil {
				b.Fatal(err)
			}
			fetch(b, c, base+"/vod/1/index.m3u8")
			fetch(b, c, base+"/vod/1/20261201T090000Z/init-1.mp4")
			fetch(b, c, base+"/vod/1/20261201T090000Z/seg-0.m4s")
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	})
}

// TestOneHourTalkServes checks the benchmark's recording is what it
// claims: 3,600 segments, an hour, VOD.
func TestOneHourTalkServes(t *testing.T) {
	base, _ := oneHourTalk(t)
	res, err := http.Get(base + "/vod/1/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	s := string(b)
	if n := countLines(s, "#EXTINF:1.000,"); n != 3600 || !contains(s, "#EXT-X-ENDLIST") {
		t.Fatalf("%d segments:\n%.300s", n, s)
	}
}
