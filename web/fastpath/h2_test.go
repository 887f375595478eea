package fastpath

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/kastlive/kast/internal/testutil"
)

// h2rig is a fast-path server on a TLS listener: /hls/ paths answer from
// fast (or a 200-KB body given as several buffers), others from fallback.
type h2rig struct {
	s      *Server
	addr   string
	cert   testutil.Cert
	client *http.Client
}

func newH2Rig(t *testing.T, fast, fallback http.HandlerFunc, opts ...func(*Server)) *h2rig {
	t.Helper()
	cert := testutil.SelfSignedCert(t, "127.0.0.1")
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := TLSListener(inner, &tls.Config{Certificates: []tls.Certificate{cert.TLS}, NextProtos: []string{"h2", "http/1.1"}})
	s := &Server{Listener: ln, Prefix: "/hls/", StripPrefix: "/hls", Handler: fast, ReadHeaderTimeout: 2 * time.Second,
		WriteTimeout: 2 * time.Second}
	s.Fallback = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.Adopt(w, r) {
			fallback(w, r)
		}
	})}
	for _, o := range opts {
		o(s)
	}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}, ForceAttemptHTTP2: true}
	tr.HTTP2 = &http.HTTP2Config{MaxReadFrameSize: 16 << 10}
	t.Cleanup(tr.CloseIdleConnections)
	return &h2rig{s: s, addr: inner.Addr().String(), cert: cert, client: &http.Client{Transport: tr}}
}

// bigBody is the fast handler's answer on /hls/big: 200 KB in uneven buffers.
var bigBody = func() net.Buffers {
	var bufs net.Buffers
	for i, n := range []int{1000, 70000, 0, 16384, 50000, 63616} {
		bufs = append(bufs, bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	return bufs
}()

func fastHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/big":
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", "201000")
		// A copy of the slice: the handler's buffers must come back unchanged.
		bufs := append(net.Buffers(nil), bigBody...)
		w.(Vectored).WriteVector(bufs)
		for i, b := range bufs {
			if len(b) != len(bigBody[i]) {
				panic("WriteVector changed its buffers")
			}
		}
	case "/wait":
		<-r.Context().Done()
	default:
		body := fmt.Sprintf("fast %s %s proto=%d tls=%v q=%s", r.Method, r.URL.Path, r.ProtoMajor, r.TLS != nil, r.URL.RawQuery)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	}
}

func fallbackHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/hold":
		<-r.Context().Done() // reads none of the body
		return
	case "/api/partial":
		io.WriteString(w, "partial-")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(b)
	w.Header().Set("X-Remote", r.RemoteAddr)
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("Set-Cookie", "b=2")
	fmt.Fprintf(w, "fallback %s %s proto=%d tls=%v len=%d sha=%x cookie=%q", r.Method, r.URL.Path, r.ProtoMajor,
		r.TLS != nil, len(b), sum[:4], r.Header.Get("Cookie"))
}

func sha4(b []byte) string { s := sha256.Sum256(b); return fmt.Sprintf("%x", s[:4]) }

// TestH2 runs Go's HTTP/2 client against both sides of the frame loop:
// fast-path requests, large responses over 16-KB frames, HEAD, request
// bodies larger than the windows passed to the fallback, cookies and
// headers both ways, and many concurrent streams on one connection.
func TestH2(t *testing.T) {
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	base := "https://" + rg.addr
	get := func(method, path string, body []byte) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		if body == nil {
			req.Body = nil
		}
		req.Header.Set("Cookie", "session=s1")
		res, err := rg.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("%s %s: reading: %v", method, path, err)
		}
		if res.ProtoMajor != 2 {
			t.Fatalf("%s %s: HTTP/%d", method, path, res.ProtoMajor)
		}
		return res, string(b)
	}

	res, b := get("GET", "/hls/main/index.m3u8?_HLS_msn=4&_HLS_part=1", nil)
	if want := "fast GET /main/index.m3u8 proto=2 tls=true q=_HLS_msn=4&_HLS_part=1"; b != want {
		t.Errorf("got %q, want %q", b, want)
	}
	if res.Header.Get("Date") == "" {
		t.Error("no Date header")
	}
	res, b = get("GET", "/hls/big", nil)
	if want := bytes.Join(bigBody, nil); b != string(want) || res.ContentLength != int64(len(want)) {
		t.Errorf("big body: %d bytes (length %d), want %d", len(b), res.ContentLength, len(want))
	}
	if res.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("content-type %q", res.Header.Get("Content-Type"))
	}
	res, b = get("HEAD", "/hls/big", nil)
	if b != "" || res.ContentLength != 201000 {
		t.Errorf("HEAD: body %q, length %d", b, res.ContentLength)
	}

	body := bytes.Repeat([]byte("0123456789"), 300_000) // 3 MB: beyond the stream and connection windows
	res, b = get("POST", "/api/upload", body)
	if want := fmt.Sprintf("fallback POST /api/upload proto=2 tls=true len=%d sha=%s cookie=\"session=s1\"", len(body), sha4(body)); b != want {
		t.Errorf("got %q, want %q", b, want)
	}
	if got := res.Header.Values("Set-Cookie"); len(got) != 2 {
		t.Errorf("Set-Cookie %q", got)
	}
	if host, _, _ := net.SplitHostPort(res.Header.Get("X-Remote")); host != "127.0.0.1" {
		t.Errorf("fallback saw RemoteAddr %q", res.Header.Get("X-Remote"))
	}
	if _, b = get("GET", "/hls/a%2Fb", nil); !strings.HasPrefix(b, "fallback GET /hls/a/b") {
		t.Errorf("escaped path: %q", b)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := fmt.Sprintf("/hls/part%d.m4s", i)
			if i%10 == 0 {
				path = "/api/x"
			}
			res, err := rg.client.Get(base + path)
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || !strings.Contains(string(b), strings.TrimPrefix(path, "/hls")) {
				errs <- fmt.Errorf("%s: %q %v", path, b, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := rg.s.Stats(); st.H2Requests != 183 || st.Handoffs != 0 {
		t.Errorf("stats %+v: want the HTTP/2 requests on the fast path and no handoff", st)
	}
}

// rawH2 is a client speaking frames to the rig.
type rawH2 struct {
	t    *testing.T
	nc   net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

func (rg *h2rig) raw(t *testing.T, settings ...http2.Setting) *rawH2 {
	t.Helper()
	nc, err := tls.Dial("tcp", rg.addr, &tls.Config{RootCAs: rg.cert.Pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &rawH2{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.hbuf)
	io.WriteString(nc, http2.ClientPreface)
	c.fr.WriteSettings(settings...)
	return c
}

// headers sends a request's HEADERS; fields are name, value pairs after
// the pseudo-headers.
func (c *rawH2) headers(id uint32, method, path string, end bool, fields ...string) {
	c.t.Helper()
	if err := c.writeHeaders(id, method, path, end, fields...); err != nil {
		c.t.Fatal(err)
	}
}

// writeHeaders is headers for other goroutines than the test's: it
// returns the error.
func (c *rawH2) writeHeaders(id uint32, method, path string, end bool, fields ...string) error {
	c.hbuf.Reset()
	for _, f := range [][2]string{{":method", method}, {":scheme", "https"}, {":authority", "127.0.0.1"}, {":path", path}} {
		c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	for i := 0; i+1 < len(fields); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hbuf.Bytes(), EndStream: end, EndHeaders: true})
}

// until reads frames until match returns true; it fails on a read error.
func (c *rawH2) until(what string, match func(http2.Frame) bool) http2.Frame {
	c.t.Helper()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if testing.Verbose() {
			c.t.Logf("frame %v", f)
		}
		if match(f) {
			return f
		}
	}
}

func (c *rawH2) goAway() *http2.GoAwayFrame {
	c.t.Helper()
	return c.until("GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok }).(*http2.GoAwayFrame)
}

func (c *rawH2) rst(id uint32) *http2.RSTStreamFrame {
	c.t.Helper()
	return c.until("RST_STREAM", func(f http2.Frame) bool {
		r, ok := f.(*http2.RSTStreamFrame)
		return ok && r.StreamID == id
	}).(*http2.RSTStreamFrame)
}

// TestH2FlowControl: a client with a 1,000-byte stream window gets 1,000
// bytes, then what each WINDOW_UPDATE allows of the stream's and the
// connection's windows, in frames no larger than 16 KB, the last one
// ending the stream.
func TestH2FlowControl(t *testing.T) {
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	c := rg.raw(t, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	c.headers(1, "GET", "/hls/big", true)
	var got []byte
	read := func(want int) {
		t.Helper()
		for len(got) < want {
			f := c.until("DATA", func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok }).(*http2.DataFrame)
			if len(f.Data()) > 16<<10 {
				t.Fatalf("DATA frame of %d bytes", len(f.Data()))
			}
			got = append(got, f.Data()...)
			if f.StreamEnded() != (len(got) == 201000) {
				t.Fatalf("END_STREAM %v at %d bytes", f.StreamEnded(), len(got))
			}
		}
		if len(got) != want {
			t.Fatalf("got %d bytes, want %d", len(got), want)
		}
	}
	read(1000)
	// Nothing more comes until the window opens.
	c.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if f, err := c.fr.ReadFrame(); err == nil {
		t.Fatalf("frame past the window: %v", f)
	}
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	c.fr.WriteWindowUpdate(1, 50000)
	read(51000)
	c.fr.WriteWindowUpdate(1, 150000)
	read(65535) // the connection's window, the protocol's default
	c.fr.WriteWindowUpdate(0, 150000)
	read(201000)
	if want := bytes.Join(bigBody, nil); !bytes.Equal(got, want) {
		t.Fatal("body differs")
	}
}

// TestH2ProtocolErrors: what RFC 9113 calls errors gets the error it
// names, and the connection keeps serving where the error is the stream's.
func TestH2ProtocolErrors(t *testing.T) {
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	for _, tc := range []struct {
		name   string
		send   func(c *rawH2)
		stream uint32 // RST_STREAM expected on it; 0: GOAWAY
		code   http2.ErrCode
	}{
		{"connection header", func(c *rawH2) { c.headers(1, "GET", "/hls/x", true, "connection", "keep-alive") }, 1, http2.ErrCodeProtocol},
		{"te other than trailers", func(c *rawH2) { c.headers(1, "GET", "/hls/x", true, "te", "gzip") }, 1, http2.ErrCodeProtocol},
		{"missing :path", func(c *rawH2) {
			c.hbuf.Reset()
			c.enc.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"})
			c.enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: "https"})
			c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.hbuf.Bytes(), EndStream: true, EndHeaders: true})
		}, 1, http2.ErrCodeProtocol},
		{"content-length not matching the body", func(c *rawH2) {
			c.headers(1, "POST", "/api", false, "content-length", "10")
			c.fr.WriteData(1, true, []byte("abc"))
		}, 1, http2.ErrCodeProtocol},
		{"even stream id", func(c *rawH2) { c.headers(2, "GET", "/hls/x", true) }, 0, http2.ErrCodeProtocol},
		{"stream id going back", func(c *rawH2) {
			c.headers(5, "GET", "/hls/x", true)
			c.headers(3, "GET", "/hls/x", true)
		}, 0, http2.ErrCodeProtocol}, // RFC 9113 5.1.1
		{"window update on an idle stream", func(c *rawH2) { c.fr.WriteWindowUpdate(9, 1) }, 0, http2.ErrCodeProtocol},
		{"window overflow", func(c *rawH2) { c.fr.WriteWindowUpdate(0, 1<<31-1) }, 0, http2.ErrCodeFlowControl},
		{"push promise from a client", func(c *rawH2) {
			c.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: []byte{0x82}, EndHeaders: true})
		}, 0, http2.ErrCodeProtocol},
		{"bad setting", func(c *rawH2) { c.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 2}) }, 0, http2.ErrCodeProtocol},
		{"headers too long", func(c *rawH2) {
			// 20 KB of fields, in a HEADERS and a CONTINUATION frame.
			c.hbuf.Reset()
			for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/hls/x"}, {"x-a", strings.Repeat("a", 10<<10)}, {"x-b", strings.Repeat("b", 10<<10)}} {
				c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			block := c.hbuf.Bytes()
			c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:12<<10], EndStream: true})
			c.fr.WriteContinuation(1, true, block[12<<10:])
		}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rg.raw(t)
			tc.send(c)
			switch {
			case tc.name == "headers too long":
				// A block over MAX_HEADER_LIST_SIZE is answered 431.
				f := c.until("HEADERS", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok }).(*http2.MetaHeadersFrame)
				if s := f.PseudoValue("status"); s != "431" {
					t.Fatalf(":status %s, want 431", s)
				}
			case tc.stream != 0:
				if r := c.rst(tc.stream); r.ErrCode != tc.code {
					t.Fatalf("RST_STREAM %v, want %v", r.ErrCode, tc.code)
				}
				// The connection still serves.
				c.headers(11, "GET", "/hls/after", true)
				c.until("response", func(f http2.Frame) bool {
					d, ok := f.(*http2.DataFrame)
					return ok && d.StreamID == 11 && strings.Contains(string(d.Data()), "/after")
				})
			default:
				if g := c.goAway(); g.ErrCode != tc.code {
					t.Fatalf("GOAWAY %v, want %v", g.ErrCode, tc.code)
				}
			}
		})
	}
}

// TestH2PingAndSettings: a PING is answered with its data, SETTINGS are
// acknowledged, and a client that changes its window mid-response gets the
// difference.
func TestH2PingAndSettings(t *testing.T) {
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	c := rg.raw(t)
	c.until("SETTINGS ACK", func(f http2.Frame) bool { s, ok := f.(*http2.SettingsFrame); return ok && s.IsAck() })
	c.fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	p := c.until("PING", func(f http2.Frame) bool { _, ok := f.(*http2.PingFrame); return ok }).(*http2.PingFrame)
	if !p.IsAck() || p.Data != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} {
		t.Fatalf("PING answer %+v", p)
	}
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.headers(1, "GET", "/hls/big", true)
	c.until("HEADERS", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok })
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	c.fr.WriteWindowUpdate(0, 1<<20)
	n := 0
	c.until("the whole body", func(f http2.Frame) bool {
		if d, ok := f.(*http2.DataFrame); ok {
			n += len(d.Data())
			return d.StreamEnded()
		}
		return false
	})
	if n != 201000 {
		t.Fatalf("%d bytes", n)
	}
}

// TestH2ResetCancelsHandler: RST_STREAM from the client ends the handler's
// context (a blocking playlist request gives up), and a client resetting
// streams faster than any player is sent away.
func TestH2ResetCancelsHandler(t *testing.T) {
	done := make(chan struct{}, 1)
	rg := newH2Rig(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		select {
		case done <- struct{}{}:
		default:
		}
	}, fallbackHandler)
	c := rg.raw(t)
	c.headers(1, "GET", "/hls/wait", true)
	time.Sleep(50 * time.Millisecond)
	c.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("handler still waiting after RST_STREAM")
	}

	c = rg.raw(t)
	go func() {
		for id := uint32(1); id < 2000; id += 2 {
			if c.writeHeaders(id, "GET", "/hls/wait", true) != nil || c.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
				return
			}
		}
	}()
	if g := c.goAway(); g.ErrCode != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM", g.ErrCode)
	}
}

// waitFor is a fast handler whose /wait requests answer once release is
// closed, the others at once.
func waitFor(release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			<-release
		}
		w.Write([]byte("ok"))
	}
}

// TestH2StreamLimit: past MAX_CONCURRENT_STREAMS running handlers, a new
// stream is refused, and served again once one ends.
func TestH2StreamLimit(t *testing.T) {
	release := make(chan struct{})
	rg := newH2Rig(t, waitFor(release), fallbackHandler)
	c := rg.raw(t)
	id := uint32(1)
	for range h2MaxStreams {
		c.headers(id, "GET", "/hls/wait", true)
		id += 2
	}
	c.headers(id, "GET", "/hls/one-more", true)
	if r := c.rst(id); r.ErrCode != http2.ErrCodeRefusedStream {
		t.Fatalf("RST_STREAM %v, want REFUSED_STREAM", r.ErrCode)
	}
	close(release)
	c.until("END_STREAM of the first", func(f http2.Frame) bool {
		d, ok := f.(*http2.DataFrame)
		return ok && d.StreamID == 1 && d.StreamEnded()
	})
}

// TestH2IdleAndShutdown: Shutdown sends GOAWAY to every HTTP/2
// connection, closes the idle ones, refuses new streams and lets a running
// one finish.
func TestH2IdleAndShutdown(t *testing.T) {
	release := make(chan struct{})
	rg := newH2Rig(t, waitFor(release), fallbackHandler)
	idle := rg.raw(t)
	idle.until("SETTINGS ACK", func(f http2.Frame) bool { s, ok := f.(*http2.SettingsFrame); return ok && s.IsAck() })
	busy := rg.raw(t)
	busy.headers(1, "GET", "/hls/wait", true)
	time.Sleep(100 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- rg.s.Shutdown(t.Context()) }()
	// Both are told first (RFC 9113 6.8); the idle one is closed then.
	if g := idle.goAway(); g.ErrCode != http2.ErrCodeNo || g.LastStreamID != 0 {
		t.Fatalf("idle connection: GOAWAY %v last %d", g.ErrCode, g.LastStreamID)
	}
	idle.nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		if _, err := idle.fr.ReadFrame(); err != nil {
			if errors.Is(err, io.EOF) || !isTimeout(err) {
				break
			}
			t.Fatal("idle connection kept open during Shutdown")
		}
	}
	if g := busy.goAway(); g.ErrCode != http2.ErrCodeNo || g.LastStreamID != 1 {
		t.Fatalf("busy connection: GOAWAY %v last %d", g.ErrCode, g.LastStreamID)
	}
	// A stream after the GOAWAY is refused; the running one finishes.
	busy.headers(3, "GET", "/hls/late", true)
	if r := busy.rst(3); r.ErrCode != http2.ErrCodeRefusedStream {
		t.Fatalf("stream after GOAWAY: %v", r.ErrCode)
	}
	close(release)
	busy.until("the running stream's end", func(f http2.Frame) bool {
		d, ok := f.(*http2.DataFrame)
		return ok && d.StreamID == 1 && d.StreamEnded()
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestH2ReceiveWindow: DATA beyond what the stream's window grants is a
// stream error, beyond the connection's a connection error; padding counts
// and is given back with the data. (Black-box, the handler's reads race
// with the client's sends and re-open the window.)
func TestH2ReceiveWindow(t *testing.T) {
	var wire bytes.Buffer
	w := http2.NewFramer(&wire, nil)
	for range 4 {
		w.WriteData(1, false, make([]byte, 16<<10)) // the whole 64-KB stream window
	}
	w.WriteDataPadded(3, false, make([]byte, 100), make([]byte, 50))
	w.WriteData(1, false, []byte{1})
	frames := http2.NewFramer(nil, &wire)
	next := func() *http2.DataFrame {
		f, err := frames.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		return f.(*http2.DataFrame)
	}
	s := &Server{ctx: t.Context()}
	h := &h2conn{s: s, streams: map[uint32]*h2stream{}, recvWindow: h2ConnWindow, maxClientID: 3}
	h.cond = sync.NewCond(&h.mu)
	for _, id := range []uint32{1, 3} {
		st := &h2stream{id: id, c: h, recvWindow: h2StreamWindow, declared: -1, cancel: func() {}}
		st.body = newH2Body(st)
		h.streams[id] = st
	}
	for range 4 {
		if err := h.handleData(next()); err != nil {
			t.Fatalf("within the window: %v", err)
		}
	}
	if err := h.handleData(next()); err != nil {
		t.Fatalf("padded frame on stream 3: %v", err)
	}
	if st := h.streams[3]; st.recvWindow != h2StreamWindow-151 || st.body.buffered() != 100 {
		t.Fatalf("stream 3: window %d, %d bytes buffered", st.recvWindow, st.body.buffered())
	}
	var se http2.StreamError
	if err := h.handleData(next()); !errors.As(err, &se) || se.StreamID != 1 || se.Code != http2.ErrCodeFlowControl {
		t.Fatalf("byte past stream 1's window: %v, want a FLOW_CONTROL_ERROR stream error", err)
	}
	h.recvWindow = 10
	w.WriteData(3, false, make([]byte, 11))
	var ce http2.ConnectionError
	if err := h.handleData(next()); !errors.As(err, &ce) || http2.ErrCode(ce) != http2.ErrCodeFlowControl {
		t.Fatalf("past the connection's window: %v, want a FLOW_CONTROL_ERROR connection error", err)
	}
}

// TestH2ConnWindowRefunded: request bodies nobody reads, on streams the
// client then resets, give the connection's window back: a client that
// keeps to the windows can go on uploading for ever.
func TestH2ConnWindowRefunded(t *testing.T) {
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	c := rg.raw(t)
	window := int64(h2DefaultWindow)
	chunk := make([]byte, 15<<10)
	for i := range 40 { // 40 x 60 KB: more than twice the 1-MB window
		id := uint32(2*i + 1)
		for window < 4*int64(len(chunk)) {
			f := c.until("a connection WINDOW_UPDATE", func(f http2.Frame) bool {
				u, ok := f.(*http2.WindowUpdateFrame)
				return ok && u.StreamID == 0
			}).(*http2.WindowUpdateFrame)
			window += int64(f.Increment)
		}
		c.headers(id, "POST", "/api/hold", false)
		for range 4 {
			c.fr.WriteData(id, false, chunk)
			window -= int64(len(chunk))
		}
		c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
	}
}

// TestH2StreamsEndOnError: a stream that cannot end whole is reset, never
// left open nor ended as if complete: a client that keeps its window shut
// past WriteTimeout, and a fallback response cut by its handler.
func TestH2StreamsEndOnError(t *testing.T) {
	rg := newH2Rig(t, fastHandler, fallbackHandler)
	c := rg.raw(t, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	c.headers(1, "GET", "/hls/big", true)
	if r := c.rst(1); r.ErrCode != http2.ErrCodeInternal {
		t.Fatalf("window shut: RST_STREAM %v", r.ErrCode)
	}
	res, err := rg.client.Get("https://" + rg.addr + "/api/partial")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err == nil {
		t.Fatalf("cut fallback response read as whole: %q", b)
	}
}

// TestH2IdleTimeout: a connection without streams is sent away after the
// idle timeout; one whose stream runs longer than that, with a client that
// sends nothing meanwhile, is not.
func TestH2IdleTimeout(t *testing.T) {
	rg := newH2Rig(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(1500 * time.Millisecond)
		}
		w.Write([]byte("ok"))
	}, fallbackHandler, func(s *Server) { s.IdleTimeout = 400 * time.Millisecond })
	busy := rg.raw(t)
	busy.fr.WriteWindowUpdate(0, 1<<20)
	busy.headers(1, "GET", "/hls/slow", true)
	idle := rg.raw(t)
	start := time.Now()
	if g := idle.goAway(); g.ErrCode != http2.ErrCodeNo || time.Since(start) > 5*time.Second {
		t.Fatalf("idle connection: GOAWAY %v after %v", g.ErrCode, time.Since(start))
	}
	busy.until("the slow stream's end", func(f http2.Frame) bool {
		if _, ok := f.(*http2.GoAwayFrame); ok {
			t.Fatal("GOAWAY while a stream ran")
		}
		d, ok := f.(*http2.DataFrame)
		return ok && d.StreamID == 1 && d.StreamEnded()
	})
}

// TestH2ReusedResponses: a response's headers, kept for the next stream,
// never reach it, and a request's header values, which share one array,
// stay apart.
func TestH2ReusedResponses(t *testing.T) {
	fast := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			w.Header().Set("X-Once", "1")
		}
		a := r.Header["X-A"]
		r.Header["X-B"] = append(r.Header["X-B"], "added") // must not touch X-A's values
		fmt.Fprintf(w, "a=%q b=%q c=%q", a, r.Header["X-B"], r.Header["X-C"])
	}
	rg := newH2Rig(t, fast, fallbackHandler)
	for i := 0; i < 20; i++ {
		path := "/hls/set"
		if i%2 == 1 {
			path = "/hls/plain"
		}
		req, _ := http.NewRequest("GET", "https://"+rg.addr+path, nil)
		req.Header["X-A"] = []string{"a1"}
		req.Header["X-B"] = []string{"b1"}
		req.Header["X-C"] = []string{"c1", "c2"}
		res, err := rg.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := res.Header.Get("X-Once"); (got == "1") != (path == "/hls/set") {
			t.Errorf("%s: X-Once %q", path, got)
		}
		if want := `a=["a1"] b=["b1" "added"] c=["c1" "c2"]`; string(b) != want {
			t.Errorf("%s: %s, want %s", path, b, want)
		}
	}
}

// TestH2HeaderTimeout: a header block left unfinished (HEADERS without
// END_HEADERS, then nothing) ends the connection after ReadHeaderTimeout,
// not after the idle timeout; one finished in time is served.
func TestH2HeaderTimeout(t *testing.T) {
	rg := newH2Rig(t, fastHandler, fallbackHandler, func(s *Server) {
		s.ReadHeaderTimeout = 300 * time.Millisecond
		s.IdleTimeout = time.Minute
	})
	block := func(c *rawH2) []byte {
		c.hbuf.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "127.0.0.1"}, {":path", "/hls/main/index.m3u8"}} {
			c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return c.hbuf.Bytes()
	}

	late := rg.raw(t)
	b := block(late)
	start := time.Now()
	late.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:2], EndStream: true})
	for {
		if _, err := late.fr.ReadFrame(); err != nil {
			break // GOAWAY read, then the connection closed
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("an unfinished header block held the connection %v", d)
	}

	ok := rg.raw(t)
	b = block(ok)
	ok.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:2], EndStream: true})
	time.Sleep(100 * time.Millisecond)
	ok.fr.WriteContinuation(1, true, b[2:])
	ok.until("the response", func(f http2.Frame) bool {
		d, isData := f.(*http2.DataFrame)
		return isData && d.StreamID == 1 && d.StreamEnded()
	})
}
