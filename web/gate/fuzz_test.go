package gate

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzCredentials feeds arbitrary Cookie, Authorization and query values
// to the gate: it must answer 200, 401 or 403 and never panic.
func FuzzCredentials(f *testing.F) {
	g := &Gate{Signer: testSigner(f), Prefix: "/hls/", Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	d := &Directory{Source: testTracks}
	if err := d.Initialize(f.Context()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(d.Close)
	g.Directory = d
	tok := g.Signer.Issue(Claims{EventID: 1, Expires: time.Now().Add(time.Hour)})
	f.Add("kast_play="+tok, "", "")
	f.Add("a=b; kast_play=\""+tok+"\"", "Bearer "+tok, "token="+tok+"&_HLS_msn=3")
	f.Add(";;kast_play=;kast_play", "bearer", "token=&token")
	f.Fuzz(func(t *testing.T, cookie, auth, query string) {
		r := httptest.NewRequest("GET", "/hls/main/media.m3u8", nil)
		r.URL.RawQuery = query
		r.Header["Cookie"] = []string{cookie}
		r.Header["Authorization"] = []string{auth}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if w.Code != 200 && w.Code != 401 && w.Code != 403 {
			t.Fatalf("status %d", w.Code)
		}
	})
}

// FuzzAppendRewritten: taking the added token out of a rewritten
// playlist gives back the original.
func FuzzAppendRewritten(f *testing.F) {
	f.Add([]byte(testPlaylist))
	f.Add([]byte("#EXTM3U\r\nmedia.m3u8?a=1\r\n#X:URI=\"\",URI=\"b\"\n"))
	f.Fuzz(func(t *testing.T, pl []byte) {
		const tok = "TOK"
		if bytes.Contains(pl, []byte("token=")) {
			return
		}
		out := string(AppendRewritten(nil, pl, tok))
		back := strings.NewReplacer("?token="+tok, "", "&token="+tok, "").Replace(out)
		if back != string(pl) {
			t.Fatalf("rewrite of %q is %q", pl, out)
		}
	})
}
