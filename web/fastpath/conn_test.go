package fastpath

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A request taken back from net/http keeps a live context: net/http
// cancels the one it made when its handler returns.
func TestAdoptedRequestContextStaysLive(t *testing.T) {
	rg := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			io.WriteString(w, "cancelled")
		case <-time.After(100 * time.Millisecond):
			io.WriteString(w, "waited")
		}
	})
	conn, br := rg.raw(t, "GET /watch HTTP/1.1\r\nHost: h\r\n\r\n")
	readResponse(t, br, "GET")
	io.WriteString(conn, "GET /hls/wait HTTP/1.1\r\nHost: h\r\n\r\n")
	if _, body := readResponse(t, br, "GET"); body != "waited" {
		t.Fatalf("adopted request: %q", body)
	}
}

func TestCloseEndsWaitingHandlers(t *testing.T) {
	started := make(chan struct{})
	rg := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	rg.raw(t, "GET /hls/wait HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	done := make(chan struct{})
	go func() { rg.s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close waits for a handler blocked on its request's context")
	}
}

func TestRequestFieldsDoNotCarryOver(t *testing.T) {
	rg := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		body := r.FormValue("a")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	})
	_, br := rg.raw(t, "GET /hls/x?a=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /hls/x?a=2 HTTP/1.1\r\nHost: h\r\n\r\n")
	for _, want := range []string{"1", "2"} {
		if _, body := readResponse(t, br, "GET"); body != want {
			t.Fatalf("FormValue %q, want %q", body, want)
		}
	}
}

func TestHTTP10CloseWins(t *testing.T) {
	rg := newRig(t, nil)
	_, br := rg.raw(t, "GET /hls/a HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n")
	if resp, _ := readResponse(t, br, "GET"); !resp.Close {
		t.Fatal("Connection: close with keep-alive did not close")
	}
}

// A request whose headers came in two reads must not leave its header
// timeout on the next, pipelined request.
func TestPipelinedRequestAfterSlowHandler(t *testing.T) {
	rg := newRig(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(1500 * time.Millisecond) // past ReadHeaderTimeout (1 s)
		}
		echo(w, r)
	})
	conn, br := rg.raw(t, "GET /hls/slow HTTP/1.1\r\n")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(conn, "Host: h\r\n\r\nGET /hls/b HTTP/1.1\r\nHo")
	readResponse(t, br, "GET")
	io.WriteString(conn, "st: h\r\n\r\n")
	if _, body := readResponse(t, br, "GET"); body != "GET /b ? host=h ua= cookie=" {
		t.Fatalf("%q", body)
	}
}

// Connections moved to net/http and back do not pile up wrappers, and
// come back to raw reads and writev.
func TestMovedConnectionsStayRaw(t *testing.T) {
	rg := newRig(t, nil)
	conn, br := rg.raw(t, "")
	for i := range 5 {
		// net/http reads the /hls/ requests pipelined behind the page.
		fmt.Fprintf(conn, "GET /page HTTP/1.1\r\nHost: h\r\n\r\nGET /hls/%d HTTP/1.1\r\nHost: h\r\n\r\nGET /hls/%d/b HTTP/1.1\r\nHost: h\r\n\r\n", i, i)
		for range 3 {
			readResponse(t, br, "GET")
		}
	}
	rg.s.mu.Lock()
	defer rg.s.mu.Unlock()
	if len(rg.s.conns) != 1 {
		t.Fatalf("%d connections on the fast path, want 1", len(rg.s.conns))
	}
	for c := range rg.s.conns {
		if _, wrapped := c.nc.(*prefixConn); wrapped || c.raw == nil {
			t.Fatalf("connection %T, raw %v", c.nc, c.raw != nil)
		}
	}
}

// A request with many header fields does not leave a large cache on an
// idle connection.
func TestLargeHeaderSetNotKept(t *testing.T) {
	var rg *rig
	kept := make(chan int, 1)
	rg = newRig(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/after" {
			// On the connection's goroutine: what the previous request left.
			rg.s.mu.Lock()
			for c := range rg.s.conns {
				kept <- len(c.headers.prev)
			}
			rg.s.mu.Unlock()
		}
		echo(w, r)
	})
	var req strings.Builder
	req.WriteString("GET /hls/a HTTP/1.1\r\nHost: h\r\n")
	for i := range 200 {
		fmt.Fprintf(&req, "X%d: v\r\n", i)
	}
	req.WriteString("\r\nGET /hls/after HTTP/1.1\r\nHost: h\r\n\r\n")
	_, br := rg.raw(t, req.String())
	readResponse(t, br, "GET")
	readResponse(t, br, "GET")
	if n := <-kept; n != 0 {
		t.Fatalf("the connection kept %d header fields of a 200-field request", n)
	}
}
