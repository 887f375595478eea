package fastpath

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzH2Conn feeds arbitrary frames to an HTTP/2 connection after a valid
// preface: whatever comes, the connection must neither panic nor hang, and
// it must end (with the client's end of the stream) within a bound, its
// handlers with it.
func FuzzH2Conn(f *testing.F) {
	for _, seed := range h2Seeds() {
		f.Add(seed)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	s := &Server{Listener: ln, Prefix: "/hls/", StripPrefix: "/hls", Handler: http.HandlerFunc(fastHandler),
		ReadHeaderTimeout: time.Second, IdleTimeout: time.Second, WriteTimeout: time.Second,
		Fallback: &http.Server{Handler: http.HandlerFunc(fallbackHandler)}}
	if err := s.Initialize(); err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	f.Fuzz(func(t *testing.T, b []byte) {
		client, server := net.Pipe()
		defer client.Close()
		c := newConn(s, server, nil)
		if !s.track(c, true) {
			t.Skip("server closed")
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer c.close()
			c.serveH2(server, nil)
		}()
		go io.Copy(io.Discard, client) // the server's frames
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write(append([]byte(http2.ClientPreface), b...))
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("connection still served 5 s after the client closed: %x", b)
		}
	})
}

// h2Seeds are frame sequences a client sends: requests with and without
// bodies, window updates, resets, pings, settings, header blocks split
// over CONTINUATION frames.
func h2Seeds() [][]byte {
	var out [][]byte
	seed := func(write func(fr *http2.Framer, hdr func(path string, fields ...string) []byte)) {
		var buf bytes.Buffer
		fr := http2.NewFramer(&buf, nil)
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		hdr := func(method string, fields ...string) []byte {
			hb.Reset()
			for _, f := range [][2]string{{":method", method}, {":scheme", "https"}, {":authority", "k"}} {
				enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			for i := 0; i+1 < len(fields); i += 2 {
				enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
			}
			return append([]byte(nil), hb.Bytes()...)
		}
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
		write(fr, hdr)
		out = append(out, buf.Bytes())
	}
	seed(func(fr *http2.Framer, hdr func(string, ...string) []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hdr("GET", ":path", "/hls/big"), EndStream: true, EndHeaders: true})
		fr.WriteWindowUpdate(1, 1000)
		fr.WriteWindowUpdate(0, 1000)
		fr.WritePing(false, [8]byte{1})
	})
	seed(func(fr *http2.Framer, hdr func(string, ...string) []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hdr("POST", ":path", "/api", "content-length", "5"), EndHeaders: true})
		fr.WriteData(1, false, []byte("ab"))
		fr.WriteDataPadded(1, true, []byte("cde"), []byte{0, 0, 0})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hdr("GET", ":path", "/hls/wait"), EndStream: true, EndHeaders: true})
		fr.WriteRSTStream(3, http2.ErrCodeCancel)
	})
	seed(func(fr *http2.Framer, hdr func(string, ...string) []byte) {
		block := hdr("GET", ":path", "/hls/x", "cookie", "a=1", "cookie", "b=2", "x-long", string(bytes.Repeat([]byte("v"), 300)))
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:10], EndStream: true})
		fr.WriteContinuation(1, false, block[10:100])
		fr.WriteContinuation(1, true, block[100:])
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 14})
		fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	})
	seed(func(fr *http2.Framer, hdr func(string, ...string) []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hdr("CONNECT", ":path", "/"), EndStream: true, EndHeaders: true})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: hdr("OPTIONS", ":path", "*"), EndStream: true, EndHeaders: true})
		fr.WritePriority(5, http2.PriorityParam{StreamDep: 5})
		fr.WriteRawFrame(0xfa, 0, 0, []byte("unknown"))
	})
	return out
}
