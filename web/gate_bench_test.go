package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kastlive/kast/web/fastpath"
	"github.com/kastlive/kast/web/gate"
)

type benchAccess struct{ registered bool }

func (a benchAccess) TrackAccess(context.Context) ([]gate.TrackAccess, error) {
	return []gate.TrackAccess{{Track: "main", TrackID: 1, EventID: 1, Event: "devconf", Registered: a.registered}}, nil
}

// benchPlaylist is a media playlist of kast's shape: 12 segments, the
// parts of the last three target durations.
func benchPlaylist() []byte {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=0.600,HOLD-BACK=3.000\n#EXT-X-PART-INF:PART-TARGET=0.200\n#EXT-X-MEDIA-SEQUENCE:100\n#EXT-X-MAP:URI=\"init-mx4w-1.mp4\"\n")
	for s := 100; s < 112; s++ {
		fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:2026-12-01T16:00:%02d.000Z\n", s-100)
		if s >= 109 {
			for p := range 5 {
				fmt.Fprintf(&b, "#EXT-X-PART:DURATION=0.200,URI=\"part-mx4w-%d.m4s\"\n", s*5+p)
			}
		}
		fmt.Fprintf(&b, "#EXTINF:1.000,\nseg-mx4w-%d.m4s\n", s)
	}
	b.WriteString("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-mx4w-560.m4s\"\n")
	return b.Bytes()
}

// BenchmarkHLSGate serves the same bodies over the fast path, keep-alive,
// one request after the other, without the gate and through it: a public
// event (a track lookup), a registered event with the token in a cookie
// (the lookup, the cookie scan, an HMAC-SHA256), and a playlist asked for
// with the token in the query and no cookie (rewritten for the player).
// Every request carries the same headers, cookie included, so only the
// server's work differs.
func BenchmarkHLSGate(b *testing.B) {
	pl := benchPlaylist()
	part := bytes.Repeat([]byte{'x'}, 62<<10)
	signer, err := gate.NewSigner(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	tok := signer.Issue(gate.Claims{EventID: 1, Expires: time.Now().Add(time.Hour)})
	for _, f := range []struct {
		name, path string
		body       []byte
	}{{"playlist", "/hls/main/media.m3u8", pl}, {"part", "/hls/main/part-mx4w-555.m4s", part}} {
		length := []string{strconv.Itoa(len(f.body))}
		files := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hd := w.Header()
			hd["Content-Type"] = []string{"video/iso.segment"}
			hd["Content-Length"] = length
			w.Write(f.body)
		})
		for _, m := range []struct {
			name       string
			gated      bool
			registered bool
			query      bool
		}{{"open", false, false, false}, {"gate-public", true, false, false}, {"gate-cookie", true, true, false}, {"gate-query-rewrite", true, true, true}} {
			if m.query && f.name != "playlist" {
				continue
			}
			b.Run(f.name+"/"+m.name, func(b *testing.B) {
				var h http.Handler = files
				if m.gated {
					d := &gate.Directory{Source: benchAccess{m.registered}}
					if err := d.Initialize(context.Background()); err != nil {
						b.Fatal(err)
					}
					defer d.Close()
					h = &gate.Gate{Signer: signer, Directory: d, Prefix: "/hls/", Next: files}
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				s := &fastpath.Server{Listener: ln, Prefix: "/hls/", Handler: h, Fallback: &http.Server{}}
				if err := s.Initialize(); err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				target, cookie := f.path, "Cookie: kast_play="+tok+"\r\n"
				if m.query {
					target, cookie = f.path+"?token="+tok, "Cookie: other=1\r\n"
				}
				gateBenchClient(b, ln.Addr().String(), target, cookie)
			})
		}
	}
}

// processCPU returns the CPU time this process has used, user and
// system, in nanoseconds: on a shared machine the CPU a request costs is
// steadier than the time it takes.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func gateBenchClient(b *testing.B, addr, target, cookie string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET " + target + " HTTP/1.1\r\nHost: kast\r\nUser-Agent: bench\r\nAccept: */*\r\n" + cookie + "\r\n")
	br := bufio.NewReaderSize(c, 64<<10)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	defer func() { b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := -1
		status := ""
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if status == "" {
				status = string(line)
			}
			if len(line) <= 2 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		if n < 0 || status[9:12] != "200" {
			b.Fatalf("response %q, Content-Length %d", status, n)
		}
		if _, err := br.Discard(n); err != nil {
			b.Fatal(err)
		}
	}
}
