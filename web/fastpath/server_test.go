package fastpath

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rig is a fast-path server on 127.0.0.1 whose handler echoes what it was
// asked, and whose fallback says it is the fallback.
type rig struct {
	s    *Server
	addr string
}

func newRig(t *testing.T, h http.HandlerFunc) *rig {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = echo
	}
	s := &Server{Listener: ln, Prefix: "/hls/", StripPrefix: "/hls", Handler: h,
		ReadHeaderTimeout: time.Second, MaxHeaderBytes: 4096}
	s.Fallback = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.Adopt(w, r) {
				return
			}
			w.Header().Set("X-Served-By", "fallback")
			fmt.Fprintf(w, "fallback %s %s", r.Method, r.URL.Path)
		}),
		MaxHeaderBytes: 4096,
	}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &rig{s: s, addr: ln.Addr().String()}
}

func echo(w http.ResponseWriter, r *http.Request) {
	body := fmt.Sprintf("%s %s ?%s host=%s ua=%s cookie=%s", r.Method, r.URL.Path, r.URL.RawQuery,
		r.Host, r.Header.Get("User-Agent"), r.Header.Get("Cookie"))
	w.Header()["X-Served-By"] = []string{"fast"}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	io.WriteString(w, body)
}

// raw sends req on a new connection and returns the connection and a
// reader of its responses.
func (rg *rig) raw(t *testing.T, req string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", rg.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if req != "" {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
	}
	return c, bufio.NewReader(c)
}

func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestKeepAliveRequestsOnOneConnection(t *testing.T) {
	rg := newRig(t, nil)
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for i := range 5 {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/hls/main/index.m3u8?_HLS_msn=%d", rg.addr, i), nil)
		req.Header.Set("User-Agent", "ua")
		req.Header.Set("Cookie", fmt.Sprintf("n=%d", i%2)) // changes between requests
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("GET /main/index.m3u8 ?_HLS_msn=%d host=%s ua=ua cookie=n=%d", i, rg.addr, i%2)
		if string(b) != want || resp.Header.Get("X-Served-By") != "fast" {
			t.Fatalf("request %d: %q (%s), want %q", i, b, resp.Header.Get("X-Served-By"), want)
		}
		if resp.Header.Get("Date") == "" || resp.ContentLength != int64(len(want)) {
			t.Fatalf("headers %v", resp.Header)
		}
	}
	if n := connCount(rg.s); n != 1 {
		t.Fatalf("%d connections, want 1 reused", n)
	}
}

func connCount(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func TestHead(t *testing.T) {
	rg := newRig(t, nil)
	_, br := rg.raw(t, "HEAD /hls/a/b HTTP/1.1\r\nHost: x\r\n\r\nGET /hls/a/c HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := readResponse(t, br, "HEAD")
	if resp.StatusCode != 200 || body != "" || resp.ContentLength != int64(len("HEAD /a/b ? host=x ua= cookie=")) {
		t.Fatalf("HEAD: %d %q %d", resp.StatusCode, body, resp.ContentLength)
	}
	_, body = readResponse(t, br, "GET")
	if body != "GET /a/c ? host=x ua= cookie=" {
		t.Fatalf("pipelined GET after HEAD: %q", body)
	}
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	rg := newRig(t, nil)
	var req strings.Builder
	for i := range 20 {
		fmt.Fprintf(&req, "GET /hls/t/%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
	}
	_, br := rg.raw(t, req.String())
	for i := range 20 {
		_, body := readResponse(t, br, "GET")
		if want := fmt.Sprintf("GET /t/%d ? host=h ua= cookie=", i); body != want {
			t.Fatalf("response %d: %q, want %q", i, body, want)
		}
	}
}

func TestHTTP10(t *testing.T) {
	rg := newRig(t, nil)
	c, br := rg.raw(t, "GET /hls/a HTTP/1.0\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	if !resp.Close || body != "GET /a ? host= ua= cookie=" {
		t.Fatalf("HTTP/1.0: close=%v %q", resp.Close, body)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed after an HTTP/1.0 response: %v", err)
	}
	c.Close()

	// keep-alive asked for
	_, br = rg.raw(t, "GET /hls/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hls/b HTTP/1.0\r\n\r\n")
	resp, _ = readResponse(t, br, "GET")
	if resp.Close || resp.Header.Get("Connection") != "keep-alive" {
		t.Fatalf("HTTP/1.0 keep-alive: close=%v %v", resp.Close, resp.Header)
	}
	if _, body = readResponse(t, br, "GET"); body != "GET /b ? host= ua= cookie=" {
		t.Fatalf("second request: %q", body)
	}
}

func TestConnectionClose(t *testing.T) {
	rg := newRig(t, nil)
	_, br := rg.raw(t, "GET /hls/a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /hls/b HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, _ := readResponse(t, br, "GET")
	if !resp.Close {
		t.Fatal("no Connection: close in the response")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("the request after Connection: close was answered: %v", err)
	}
}

func TestStreamedResponseIsChunkedAndFlushed(t *testing.T) {
	release := make(chan struct{})
	rg := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/iso.segment")
		w.WriteHeader(200)
		http.NewResponseController(w).Flush()
		io.WriteString(w, "first")
		<-release
		w.(Vectored).WriteVector(net.Buffers{[]byte("sec"), []byte("ond")})
	})
	resp, err := http.Get("http://" + rg.addr + "/hls/x/part.m4s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("transfer encoding %v", resp.TransferEncoding)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("first chunk before the handler finished: %q %v", buf, err)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second" {
		t.Fatalf("rest %q %v", rest, err)
	}
}

func TestAbortedResponseResetsConnection(t *testing.T) {
	rg := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		io.WriteString(w, "partial")
		panic(http.ErrAbortHandler)
	})
	resp, err := http.Get("http://" + rg.addr + "/hls/x/part.m4s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("an aborted chunked response read as complete")
	}
}

func TestBodyNotMatchingContentLength(t *testing.T) {
	rg := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345")
		if r.URL.Path == "/long" {
			if _, err := io.WriteString(w, "123456"); err != http.ErrContentLength {
				panic("writing past Content-Length did not fail")
			}
		}
	})
	// Too short: the client sees the connection close early.
	_, br := rg.raw(t, "GET /hls/short HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err != io.ErrUnexpectedEOF {
		t.Fatalf("short body: %v, want unexpected EOF", err)
	}
	// Too long: what was announced is sent, the rest refused.
	_, br = rg.raw(t, "GET /hls/long HTTP/1.1\r\nHost: h\r\n\r\n")
	if _, body := readResponse(t, br, "GET"); body != "1234512345" {
		t.Fatalf("long body: %q", body)
	}
}

func TestEmptyResponse(t *testing.T) {
	rg := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/nocontent" {
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
				panic("body on 204")
			}
		}
	})
	_, br := rg.raw(t, "GET /hls/empty HTTP/1.1\r\nHost: h\r\n\r\nGET /hls/nocontent HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || resp.ContentLength != 0 || body != "" {
		t.Fatalf("empty handler: %d %d %q", resp.StatusCode, resp.ContentLength, body)
	}
	resp, _ = readResponse(t, br, "GET")
	if resp.StatusCode != 204 {
		t.Fatalf("204: %d", resp.StatusCode)
	}
}

func TestOtherRequestsGoToFallback(t *testing.T) {
	rg := newRig(t, nil)
	for _, tc := range []struct{ req, want string }{
		{"GET /watch/main HTTP/1.1\r\nHost: h\r\n\r\n", "fallback GET /watch/main"},
		{"POST /hls/a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi", "fallback POST /hls/a"},
		{"GET /hls/a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n", "fallback GET /hls/a/b"},
		{"GET /hls/a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "fallback GET /hls/a"},
		{"GET /hls/a HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", "fallback GET /hls/a"},
	} {
		_, br := rg.raw(t, tc.req)
		resp, body := readResponse(t, br, "GET")
		if body != tc.want || resp.Header.Get("X-Served-By") != "fallback" {
			t.Errorf("%q: %q by %s, want %q", tc.req, body, resp.Header.Get("X-Served-By"), tc.want)
		}
	}
}

// A connection handed to net/http comes back for the next /hls/ request,
// and goes to net/http again for a page.
func TestConnectionMovesBetweenPaths(t *testing.T) {
	rg := newRig(t, nil)
	conn, br := rg.raw(t, "GET /watch HTTP/1.1\r\nHost: h\r\n\r\n")
	steps := []struct{ path, by string }{{"/watch", "fallback"}, {"/hls/a", "fast"}, {"/hls/b", "fast"}, {"/page", "fallback"}, {"/hls/c", "fast"}}
	for i, st := range steps {
		if i > 0 {
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", st.path)
		}
		resp, _ := readResponse(t, br, "GET")
		if by := resp.Header.Get("X-Served-By"); by != st.by {
			t.Fatalf("step %d %s served by %s, want %s", i, st.path, by, st.by)
		}
	}
}

func TestMalformedRequestsGetNetHTTPAnswers(t *testing.T) {
	rg := newRig(t, nil)
	for _, tc := range []struct {
		req    string
		status int
	}{
		{"GET /hls/a HTTP/1.1\r\n\r\n", 400},                                                     // no Host
		{"GET /hls/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},                               // two Hosts
		{"GET /hls/a HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},                               // obs-fold
		{"GET /hls/a HTTP/1.1\r\nHost: a\r\nBad Key: v\r\n\r\n", 400},                            // space in name
		{"GET /hls/a HTTP/9.9\r\nHost: a\r\n\r\n", 505},                                          // version
		{"GET /hls/a HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 10000) + "\r\n\r\n", 431}, // too large
	} {
		_, br := rg.raw(t, tc.req)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Errorf("%.40q: %v", tc.req, err)
			continue
		}
		if resp.StatusCode != tc.status {
			t.Errorf("%.40q: status %d, want %d", tc.req, resp.StatusCode, tc.status)
		}
	}
}

func TestBareLineFeeds(t *testing.T) {
	rg := newRig(t, nil)
	_, br := rg.raw(t, "\r\nGET /hls/a?x=1 HTTP/1.1\nHost: h\nUser-Agent: u\n\n")
	_, body := readResponse(t, br, "GET")
	if body != "GET /a ?x=1 host=h ua=u cookie=" {
		t.Fatalf("%q", body)
	}
}

func TestPartialRequestTimesOut(t *testing.T) {
	rg := newRig(t, nil)
	c, _ := rg.raw(t, "GET /hls/a HTTP/1.1\r\nHost:")
	start := time.Now()
	buf := make([]byte, 1)
	if _, err := c.Read(buf); err == nil {
		t.Fatal("a response to half a request")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v, ReadHeaderTimeout is 1s", d)
	}
}

func TestShutdownClosesIdleAndFinishesActive(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	rg := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		echo(w, r)
	})
	idle, idleBR := rg.raw(t, "GET /hls/a HTTP/1.1\r\nHost: h\r\n\r\n")
	readResponse(t, idleBR, "GET")
	_, busyBR := rg.raw(t, "GET /hls/slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	done := make(chan error)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- rg.s.Shutdown(ctx)
	}()
	if _, err := idleBR.ReadByte(); err == nil {
		t.Fatal("idle connection got bytes during shutdown")
	}
	idle.Close()
	close(release)
	resp, body := readResponse(t, busyBR, "GET")
	if body != "GET /slow ? host=h ua= cookie=" || !resp.Close {
		t.Fatalf("active request during shutdown: %q close=%v", body, resp.Close)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", rg.addr); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}
