package fastpath

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strconv"
	"testing"
)

// BenchmarkServe sends keep-alive requests one after the other over
// loopback, as a player does, to the fast path and to net/http serving
// the same handler: a playlist-sized and a part-sized body. The client is
// the same minimal one for both, so the difference is the server's.
func BenchmarkServe(b *testing.B) {
	for _, size := range []int{2 << 10, 62 << 10} {
		body := bytes.Repeat([]byte{'x'}, size)
		length := []string{strconv.Itoa(size)}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hd := w.Header()
			hd["Content-Type"] = []string{"video/iso.segment"}
			hd["Content-Length"] = length
			w.Write(body)
		})
		name := strconv.Itoa(size>>10) + "KB"
		b.Run(name+"/fastpath", func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			s := &Server{Listener: ln, Prefix: "/hls/", StripPrefix: "/hls", Handler: h, Fallback: &http.Server{}}
			if err := s.Initialize(); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchClient(b, ln.Addr().String(), size)
		})
		b.Run(name+"/net-http", func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: h}
			go srv.Serve(ln)
			defer srv.Close()
			benchClient(b, ln.Addr().String(), size)
		})
	}
}

func benchClient(b *testing.B, addr string, size int) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /hls/main/part-1-1.m4s HTTP/1.1\r\nHost: kast\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReaderSize(c, 64<<10)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := -1
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if len(line) <= 2 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
		}
		if n != size {
			b.Fatalf("Content-Length %d, want %d", n, size)
		}
		if _, err := br.Discard(n); err != nil {
			b.Fatal(err)
		}
	}
}
