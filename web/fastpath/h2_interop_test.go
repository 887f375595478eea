package fastpath

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// The tests here drive the HTTP/2 frame loop with clients not written in
// Go, each with its own defaults: curl (libnghttp2) as a download tool,
// nghttp with its PRIORITY frames on idle streams, small windows and
// padding, and h2load's many streams over a few connections.

// interopTimeout bounds each run of a client.
const interopTimeout = time.Minute

// runClient runs bin with args to completion and returns its standard
// output; a failure or a run past interopTimeout fails the test with what
// the client printed.
func runClient(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), interopTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", filepath.Base(bin), strings.Join(args, " "), err,
			lastBytes(stdout.String(), 4<<10), lastBytes(stderr.String(), 4<<10))
	}
	return stdout.String()
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// interopBody is the rig's answer to a request without cookies: target is
// a path with an optional query.
func interopBody(method, target string, body []byte) []byte {
	path, query, _ := strings.Cut(target, "?")
	switch {
	case path == "/hls/big" && method == "GET":
		return bytes.Join(bigBody, nil)
	case strings.HasPrefix(path, "/hls/") && body == nil:
		return fmt.Appendf(nil, "fast %s %s proto=2 tls=true q=%s", method, strings.TrimPrefix(path, "/hls"), query)
	default:
		return fmt.Appendf(nil, "fallback %s %s proto=2 tls=true len=%d sha=%s cookie=\"\"", method, path, len(body), sha4(body))
	}
}

// sameBody fails the test unless got is want, comparing digests so that a
// difference in 200 KB does not fill the log.
func sameBody(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Errorf("%s: %d bytes (%q...), want %d bytes (%q...)", what, len(got), got[:min(len(got), 80)], len(want), want[:min(len(want), 80)])
	}
}

// uploadFile writes 3 MB of random bytes, beyond the frame loop's stream
// and connection windows, to a file and returns its name and contents.
func uploadFile(t *testing.T) (string, []byte) {
	t.Helper()
	data := make([]byte, 3_000_000)
	rand.NewChaCha8([32]byte{1}).Read(data)
	name := filepath.Join(t.TempDir(), "upload.bin")
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return name, data
}

// TestH2InteropCurl: curl over HTTP/2 (libnghttp2, verifying the
// certificate) gets the 200-KB body the fast handler gives as several
// buffers byte for byte, a query string, HEAD's headers without a body,
// and has a 3-MB upload reach the fallback whole.
func TestH2InteropCurl(t *testing.T) {
	curl := testutil.RequireTool(t, "curl")
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	upload, data := uploadFile(t)
	for _, tc := range []struct {
		name   string
		args   []string
		target string
		check  func(t *testing.T, out []byte)
	}{
		{"GET of a body in buffers", nil, "/hls/big", func(t *testing.T, out []byte) {
			sameBody(t, "body", out, bytes.Join(bigBody, nil))
		}},
		{"GET with a query", nil, "/hls/main/index.m3u8?_HLS_msn=4&_HLS_part=1", func(t *testing.T, out []byte) {
			sameBody(t, "body", out, interopBody("GET", "/hls/main/index.m3u8?_HLS_msn=4&_HLS_part=1", nil))
		}},
		{"HEAD", []string{"-I"}, "/hls/big", func(t *testing.T, out []byte) {
			head := strings.ToLower(string(out))
			for _, want := range []string{"http/2 200 \r\n", "\r\ncontent-length: 201000\r\n", "\r\ncontent-type: video/mp4\r\n"} {
				if !strings.Contains(head, want) {
					t.Errorf("no %q in %q", want, out)
				}
			}
			if !strings.HasSuffix(head, "\r\n\r\n") {
				t.Errorf("not only headers: %q", out)
			}
		}},
		{"POST of 3 MB to the fallback", []string{"--data-binary", "@" + upload}, "/api/upload", func(t *testing.T, out []byte) {
			sameBody(t, "answer", out, interopBody("POST", "/api/upload", data))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outFile := filepath.Join(t.TempDir(), "out")
			args := append([]string{"--http2", "--cacert", rg.cert.CertFile, "-sS", "--max-time", "30",
				"-o", outFile, "-w", "%{http_version} %{response_code}"}, tc.args...)
			got := runClient(t, curl, append(args, "https://"+rg.addr+tc.target)...)
			if got != "2 200" {
				t.Errorf("curl -w '%%{http_version} %%{response_code}': %q, want \"2 200\"", got)
			}
			out, err := os.ReadFile(outFile)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
		})
	}
}

// TestH2InteropCurlParallel: curl --parallel multiplexes 100 transfers, 50
// at a time, over one connection; each gets its own answer whole, fast
// path and fallback mixed, and the fast path's requests stay on it.
func TestH2InteropCurlParallel(t *testing.T) {
	curl := testutil.RequireTool(t, "curl")
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	dir := t.TempDir()
	args := []string{"--http2", "--parallel", "--parallel-max", "50", "--cacert", rg.cert.CertFile, "-sS", "--max-time", "30",
		"-w", "%{http_version} %{response_code} %{num_connects} %{url_effective}\n"}
	var targets []string
	fast := 0
	for i := range 100 {
		target := fmt.Sprintf("/hls/part%d.m4s", i)
		switch i % 10 {
		case 0:
			target = fmt.Sprintf("/hls/big?n=%d", i)
		case 5:
			target = fmt.Sprintf("/api/x%d", i)
		}
		if strings.HasPrefix(target, "/hls/") {
			fast++
		}
		targets = append(targets, target)
		args = append(args, "-o", filepath.Join(dir, strconv.Itoa(i)), "https://"+rg.addr+target)
	}
	out := runClient(t, curl, args...)

	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(targets) {
		t.Fatalf("%d transfers reported, want %d:\n%s", len(lines), len(targets), out)
	}
	connects := 0
	for _, line := range lines {
		var version, url string
		var code, n int
		if _, err := fmt.Sscan(line, &version, &code, &n, &url); err != nil || version != "2" || code != 200 {
			t.Errorf("transfer %q: want HTTP/2 and 200 (%v)", line, err)
		}
		connects += n
	}
	if connects != 1 {
		t.Errorf("%d connections made, want 1 for all transfers", connects)
	}
	for i, target := range targets {
		got, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		sameBody(t, target, got, interopBody("GET", target, nil))
	}
	if st := rg.s.Stats(); st.H2Requests != uint64(fast) || st.Handoffs != 0 {
		t.Errorf("stats %+v: want %d HTTP/2 requests on the fast path and no handoff", st, fast)
	}
}

// nghttpStream is one stream of an nghttp -v run.
type nghttpStream struct {
	path, status string
	data         int // DATA payload received
	maxFrame     int // the largest DATA frame's length
}

var (
	nghttpSendHeaders = regexp.MustCompile(`^\[[ 0-9.]+\] send HEADERS frame <length=\d+, flags=0x[0-9a-f]+, stream_id=(\d+)>`)
	nghttpPath        = regexp.MustCompile(`^\s+:path: (\S+)$`)
	nghttpStatus      = regexp.MustCompile(`^\[[ 0-9.]+\] recv \(stream_id=(\d+)\) :status: (\d+)$`)
	nghttpData        = regexp.MustCompile(`^\[[ 0-9.]+\] recv DATA frame <length=(\d+), flags=0x[0-9a-f]+, stream_id=(\d+)>`)
	nghttpTrouble     = regexp.MustCompile(`recv (RST_STREAM|GOAWAY) frame|Some requests were not processed`)
)

// parseNghttp reads the frames nghttp -v printed into its streams; a
// RST_STREAM or GOAWAY from the server, or a request left undone (which
// nghttp reports but still exits 0 on), is an error.
func parseNghttp(out string) (map[string]*nghttpStream, error) {
	streams := map[string]*nghttpStream{}
	stream := func(id string) *nghttpStream {
		if streams[id] == nil {
			streams[id] = &nghttpStream{}
		}
		return streams[id]
	}
	sending := "" // the stream whose request headers follow
	for line := range strings.SplitSeq(out, "\n") {
		if nghttpTrouble.MatchString(line) {
			return nil, fmt.Errorf("nghttp: %s", line)
		}
		if strings.HasPrefix(line, "[") {
			sending = ""
		}
		if m := nghttpSendHeaders.FindStringSubmatch(line); m != nil {
			sending = m[1]
		} else if m := nghttpPath.FindStringSubmatch(line); m != nil && sending != "" {
			stream(sending).path = m[1]
		} else if m := nghttpStatus.FindStringSubmatch(line); m != nil {
			stream(m[1]).status = m[2]
		} else if m := nghttpData.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			s := stream(m[2])
			s.data += n
			s.maxFrame = max(s.maxFrame, n)
		}
	}
	return streams, nil
}

// TestH2InteropNghttp: nghttp fetches fast-path and fallback URLs at once
// on one connection, opening with its PRIORITY frames on idle streams
// (RFC 7540 priorities); every stream ends 200 with its whole body, also
// under 1,023-byte stream and connection windows, where no DATA frame
// exceeds the window, and with padded HEADERS frames.
func TestH2InteropNghttp(t *testing.T) {
	nghttp := testutil.RequireTool(t, "nghttp")
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	targets := []string{"/hls/big", "/hls/big?2", "/hls/a", "/hls/b?x=1", "/api/c", "/api/d"}
	for _, tc := range []struct {
		name     string
		args     []string
		times    int // each URL's requests
		maxFrame int // the client's window, 0 if not below a frame's size
	}{
		{"defaults", nil, 1, 0},
		{"1-KB windows", []string{"-w", "10", "-W", "10"}, 1, 1<<10 - 1},
		{"1-KB windows, each URL 4 times", []string{"-w", "10", "-W", "10", "-m", "4"}, 4, 1<<10 - 1},
		{"padded HEADERS", []string{"-b", "255"}, 1, 0},
		{"no priorities", []string{"--no-dep", "--no-rfc7540-pri"}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-n", "-v", "-y", "-t", "30s"}, tc.args...)
			for _, target := range targets {
				args = append(args, "https://"+rg.addr+target)
			}
			out := runClient(t, nghttp, args...)
			streams, err := parseNghttp(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, lastBytes(out, 4<<10))
			}
			seen := map[string]int{}
			for id, s := range streams {
				if s.path == "" {
					continue // a PRIORITY-only stream, or the connection
				}
				seen[s.path]++
				if want := len(interopBody("GET", s.path, nil)); s.status != "200" || s.data != want {
					t.Errorf("stream %s %s: status %q, %d bytes, want 200 and %d", id, s.path, s.status, s.data, want)
				}
				if tc.maxFrame > 0 && s.maxFrame > tc.maxFrame {
					t.Errorf("stream %s %s: a DATA frame of %d bytes, over the window of %d", id, s.path, s.maxFrame, tc.maxFrame)
				}
			}
			for _, target := range targets {
				if seen[target] != tc.times {
					t.Errorf("%s: %d streams, want %d", target, seen[target], tc.times)
				}
			}
		})
	}
}

// TestH2InteropNghttpUpload: nghttp's 3-MB POST reaches the fallback whole
// through the frame loop's receive windows: with a content-length, without
// one, in padded DATA frames (padding counts against the windows), and
// after an Expect: 100-continue, which is answered with a 100 (Continue).
func TestH2InteropNghttpUpload(t *testing.T) {
	nghttp := testutil.RequireTool(t, "nghttp")
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	upload, data := uploadFile(t)
	want := interopBody("POST", "/api/upload", data)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"content-length", nil},
		{"no content-length", []string{"--no-content-length"}},
		{"padded DATA", []string{"-b", "255"}},
		{"expect 100-continue", []string{"--expect-continue"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-y", "-t", "30s", "-d", upload}, tc.args...)
			got := runClient(t, nghttp, append(args, "https://"+rg.addr+"/api/upload")...)
			sameBody(t, "answer", []byte(got), want)
		})
	}
	// The client that asks gets its 100 (Continue) before the final status,
	// rather than sending the body after a wait of its own.
	frames := runClient(t, nghttp, "-nv", "-y", "-t", "30s", "--expect-continue", "-d", upload, "https://"+rg.addr+"/api/upload")
	cont, final := strings.Index(frames, ":status: 100"), strings.Index(frames, ":status: 200")
	if cont < 0 || final < cont {
		t.Errorf("no 100 (Continue) before the 200:\n%s", frames)
	}
}

var h2loadRequests = regexp.MustCompile(`(?m)^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout$`)

// TestH2InteropH2load: h2load's streams, up to 50 at a time on each of a
// few connections, all succeed with 2xx and the bytes they should carry,
// on the fast path (counted there) and through the fallback.
func TestH2InteropH2load(t *testing.T) {
	h2load := testutil.RequireTool(t, "h2load")
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	for _, tc := range []struct {
		target   string
		n, c, m  int // requests, connections, streams at a time on each
		fastPath bool
	}{
		{"/hls/x", 3000, 4, 50, true},
		{"/hls/big", 200, 2, 10, true},
		{"/api/x", 300, 2, 20, false},
	} {
		t.Run(strings.TrimPrefix(tc.target, "/"), func(t *testing.T) {
			before := rg.s.Stats().H2Requests
			out := runClient(t, h2load, "-n", strconv.Itoa(tc.n), "-c", strconv.Itoa(tc.c), "-m", strconv.Itoa(tc.m),
				"https://"+rg.addr+tc.target)
			if !strings.Contains(out, "\nApplication protocol: h2\n") {
				t.Errorf("not HTTP/2:\n%s", out)
			}
			m := h2loadRequests.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no requests line:\n%s", out)
			}
			n := strconv.Itoa(tc.n)
			if m[1] != n || m[2] != n || m[3] != n || m[4] != n || m[5] != "0" || m[6] != "0" || m[7] != "0" {
				t.Errorf("%s, want %s total, started, done and succeeded, none failed, errored or timed out", m[0], n)
			}
			if want := fmt.Sprintf("\nstatus codes: %d 2xx, 0 3xx, 0 4xx, 0 5xx\n", tc.n); !strings.Contains(out, want) {
				t.Errorf("want %q in:\n%s", want[1:], out)
			}
			if want := fmt.Sprintf("(%d) data\n", tc.n*len(interopBody("GET", tc.target, nil))); !strings.Contains(out, want) {
				t.Errorf("want %q in the traffic line:\n%s", want, out)
			}
			want := uint64(0)
			if tc.fastPath {
				want = uint64(tc.n)
			}
			if fast := rg.s.Stats().H2Requests - before; fast != want {
				t.Errorf("%d HTTP/2 requests on the fast path, want %d", fast, want)
			}
		})
	}
}
