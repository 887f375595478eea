package vod_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/recorder"
	"github.com/kastlive/kast/web"
	"github.com/kastlive/kast/web/vod"
)

// TestTalkFilesKeyedByTrack: publishes are named by their start second,
// so two tracks' publishes that began in the same second share a name; a
// talk on air on one, then the other, lists each file under its track,
// and each URI serves that track's bytes.
func TestTalkFilesKeyedByTrack(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	const pub = "20261201T090000Z"
	for _, track := range []string{"main", "side"} {
		d := filepath.Join(dir, "tracks", track, pub)
		os.MkdirAll(d, 0o750)
		initB := []byte("init of " + track)
		os.WriteFile(filepath.Join(d, "init-1.mp4"), initB, 0o640)
		var idx strings.Builder
		enc := json.NewEncoder(&idx)
		enc.Encode(map[string]any{"k": "publish", "track": track, "id": pub, "started": start, "epoch": "e-" + track})
		enc.Encode(map[string]any{"k": "init", "init": 1, "file": "init-1.mp4", "size": len(initB)})
		for i := range 10 {
			b := []byte(fmt.Sprintf("segment %d of %s", i, track))
			os.WriteFile(filepath.Join(d, fmt.Sprintf("seg-%d.m4s", i)), b, 0o640)
			enc.Encode(map[string]any{"k": "seg", "msn": i, "init": 1, "file": fmt.Sprintf("seg-%d.m4s", i), "size": len(b),
				"start_us": int64(i) * 1e6, "dur_us": 1e6, "pdt": start.Add(time.Duration(i) * time.Second)})
		}
		enc.Encode(map[string]any{"k": "end", "at": start.Add(10 * time.Second)})
		os.WriteFile(filepath.Join(d, "index.jsonl"), []byte(idx.String()), 0o640)
	}
	os.MkdirAll(filepath.Join(dir, "talks"), 0o750)
	talk, _ := json.Marshal(map[string]any{"id": 1, "track": "side", "title": "Moved", "spans": []map[string]any{
		{"track": "main", "from": start, "to": start.Add(5 * time.Second)},
		{"track": "side", "from": start.Add(5 * time.Second), "to": start.Add(10 * time.Second)}}})
	os.WriteFile(filepath.Join(dir, "talks", "1.json"), talk, 0o640)
	rec := &recorder.Recorder{Dir: dir, NoSync: true, MinFree: -1}
	if err := rec.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	srv := httptest.NewServer(web.Routes(web.Handlers{VOD: &vod.Handler{Recorder: rec}}))
	defer srv.Close()

	_, _, pl := get(t, srv.URL+"/vod/1/index.m3u8")
	for _, want := range []string{"main/" + pub + "/seg-0.m4s", "side/" + pub + "/seg-9.m4s", `URI="main/` + pub + `/init-1.mp4"`, `URI="side/` + pub + `/init-1.mp4"`} {
		if !strings.Contains(pl, want) {
			t.Fatalf("playlist lacks %q:\n%s", want, pl)
		}
	}
	for uri, want := range map[string]string{
		"main/" + pub + "/seg-2.m4s": "segment 2 of main", "side/" + pub + "/seg-7.m4s": "segment 7 of side",
		"main/" + pub + "/init-1.mp4": "init of main", "side/" + pub + "/init-1.mp4": "init of side",
	} {
		if code, _, body := get(t, srv.URL+"/vod/1/"+uri); code != 200 || body != want {
			t.Errorf("%s: %d %q, want %q", uri, code, body, want)
		}
	}
	// The old form, without the track, finds a file only one track has.
	if code, _, body := get(t, srv.URL+"/vod/1/"+pub+"/seg-2.m4s"); code != 200 || body != "segment 2 of main" {
		t.Errorf("old form: %d %q", code, body)
	}
	// Not listed (main's seg-7 is off the talk), and ambiguous in the old
	// form (both tracks' init-1.mp4).
	for _, uri := range []string{"main/" + pub + "/seg-7.m4s", pub + "/init-1.mp4"} {
		if code, _, _ := get(t, srv.URL+"/vod/1/"+uri); code != 404 {
			t.Errorf("%s: %d, want 404", uri, code)
		}
	}
}
