package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// httpConn is one viewer's HTTP/1.1 connection, kept alive across its
// requests as a player's is. It is much lighter than net/http's Transport
// (no reader and writer goroutines per connection, no pool), so that one
// core of load generator can play thousands of viewers; the responses are
// still parsed by net/http (http.ReadResponse).
type httpConn struct {
	timeout time.Duration
	header  string // extra header lines, each ending in CRLF (-header)
	// tls is used for https URLs (HTTP/1.1 over TLS).
	tls *tls.Config
	// h2, when set, carries every request instead (HTTP/2 over TLS, one
	// connection per viewer as a browser has).
	h2 *http.Client

	host   string // host:port the connection goes to
	nc     net.Conn
	br     *bufio.Reader
	stop   func() bool // unregisters the context watch
	reused bool
	wbuf   []byte
}

// get sends a GET for u (absolute http URL with a port) with an optional
// Range value and returns the response with its status unchecked;
// redirects are not followed. The body must be closed; closing it before
// its end costs the connection. The context of the call that opens a
// connection closes it when it ends: all calls of a viewer pass the run's.
func (h *httpConn) get(ctx context.Context, u *url.URL, rangeValue string) (*http.Response, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("bench: only http:// and https:// URLs are supported")
	}
	if h.h2 != nil {
		return h.getH2(ctx, u, rangeValue)
	}
	for attempt := 0; ; attempt++ {
		if err := h.connect(ctx, u); err != nil {
			return nil, err
		}
		reused := h.reused
		resp, err := h.roundTrip(u, rangeValue)
		if err == nil {
			h.reused = true
			return resp, nil
		}
		h.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A kept-alive connection the server closed meanwhile: retry once
		// on a new one, as net/http's Transport does.
		if !reused || attempt > 0 || !(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)) {
			return nil, err
		}
	}
}

func (h *httpConn) connect(ctx context.Context, u *url.URL) error {
	host := u.Host
	if h.nc != nil && h.host == host {
		return nil
	}
	h.close()
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return err
	}
	if u.Scheme == "https" {
		cfg := h.tls.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg.ServerName, cfg.NextProtos = u.Hostname(), []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	h.nc, h.host, h.reused = nc, host, false
	if h.br == nil {
		h.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		h.br.Reset(nc)
	}
	// The end of the run cuts the connection, which ends any read.
	h.stop = context.AfterFunc(ctx, func() { nc.Close() })
	return nil
}

func (h *httpConn) roundTrip(u *url.URL, rangeValue string) (*http.Response, error) {
	var deadline time.Time
	if h.timeout > 0 {
		deadline = time.Now().Add(h.timeout)
	}
	h.nc.SetDeadline(deadline)
	b := append(h.wbuf[:0], "GET "...)
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, u.Host...)
	b = append(b, "\r\nUser-Agent: kast-bench\r\n"...)
	b = append(b, h.header...)
	if rangeValue != "" {
		b = append(b, "Range: "...)
		b = append(b, rangeValue...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	h.wbuf = b
	if _, err := h.nc.Write(b); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		return nil, err
	}
	resp.Body = &connBody{ReadCloser: resp.Body, h: h, closeAfter: resp.Close}
	return resp, nil
}

func (h *httpConn) close() {
	if h.h2 != nil {
		h.h2.CloseIdleConnections()
	}
	if h.nc == nil {
		return
	}
	h.stop()
	h.nc.Close()
	h.nc = nil
}

// connBody keeps the connection only if the body was read to its end.
// net/http's body would read what the caller left on Close, which for a
// streamed part means waiting for the server to finish it; here a body
// that does not end at once is given up with its connection.
type connBody struct {
	io.ReadCloser
	h          *httpConn
	eof        bool
	closeAfter bool
}

func (b *connBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// leftoverWait is how long Close waits for the end of a body the caller
// stopped reading: the end of a complete response is already on its way.
const leftoverWait = 20 * time.Millisecond

func (b *connBody) Close() error {
	if !b.eof && b.h.nc != nil {
		b.h.nc.SetReadDeadline(time.Now().Add(leftoverWait))
	}
	err := b.ReadCloser.Close()
	if err != nil || b.closeAfter {
		b.h.close()
	}
	return err
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// getH2 sends the request over the viewer's HTTP/2 client.
func (h *httpConn) getH2(ctx context.Context, u *url.URL, rangeValue string) (*http.Response, error) {
	if h.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.timeout)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			cancel()
			return nil, err
		}
		resp, err := h.doH2(req, rangeValue)
		if err != nil {
			cancel()
			return nil, err
		}
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		return resp, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	return h.doH2(req, rangeValue)
}

func (h *httpConn) doH2(req *http.Request, rangeValue string) (*http.Response, error) {
	req.Header.Set("User-Agent", "kast-bench")
	if rangeValue != "" {
		req.Header.Set("Range", rangeValue)
	}
	for _, line := range strings.Split(strings.TrimSuffix(h.header, "\r\n"), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return h.h2.Do(req)
}

// cancelBody ends the request's timeout context with the body.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// newH2Client returns an HTTP/2 client with a connection of its own,
// taking frames of the size browsers take and, unless goFlow, giving the
// server its flow-control windows back as a browser does (browserFlow).
func newH2Client(cfg *tls.Config, goFlow bool) *http.Client {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if goFlow {
		t := &http.Transport{TLSClientConfig: cfg.Clone(), ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 1}
		t.Protocols = new(http.Protocols)
		t.Protocols.SetHTTP2(true)
		// Browsers take DATA frames of 16 KB, the protocol's default; Go's
		// client would take 1 MB, which spares the server most of its frames.
		t.HTTP2 = &http.HTTP2Config{MaxReadFrameSize: 16 << 10}
		return &http.Client{Transport: t, CheckRedirect: noRedirect}
	}
	t := &http.Transport{
		MaxIdleConnsPerHost: 1,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			c := cfg.Clone()
			c.ServerName, c.NextProtos = host, []string{"h2"}
			d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: c}
			nc, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if p := nc.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "h2" {
				nc.Close()
				return nil, fmt.Errorf("bench: the server did not take HTTP/2 (ALPN %q)", p)
			}
			return newBrowserFlow(nc), nil
		},
	}
	// net/http takes HTTP/2 from ALPN only on a *tls.Conn; browserFlow sits
	// above TLS, so it is told to speak HTTP/2 from the start (what it calls
	// unencrypted: the TLS is below, where it does not see it).
	t.Protocols = new(http.Protocols)
	t.Protocols.SetUnencryptedHTTP2(true)
	t.HTTP2 = &http.HTTP2Config{MaxReadFrameSize: 16 << 10}
	return &http.Client{Transport: t, CheckRedirect: noRedirect}
}
