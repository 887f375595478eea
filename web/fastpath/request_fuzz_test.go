package fastpath

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"testing"
)

// FuzzParse checks the request parser against net/http's: whatever the
// fast path takes, net/http must read as the same request (method, path,
// query, Host, every header value), so that no request means one thing to
// one of them and another to the other.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"GET /hls/main/index.m3u8?_HLS_msn=12&_HLS_part=3&_HLS_skip=YES HTTP/1.1\r\nHost: kast\r\nUser-Agent: hls.js\r\nAccept: */*\r\n\r\n",
		"HEAD /hls/main/part-1-7.m4s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET /hls/a HTTP/1.1\nHost: h\nCookie: a=1\nCookie: b=2\n\n",
		"\r\nGET /hls/a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close, x\r\n\r\n",
		"GET /hls/../x HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /hls/a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /hls/a HTTP/1.1\r\nHost: h\r\nX:  spaced \t\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	s := &Server{Prefix: "/hls/", StripPrefix: "/hls", MaxHeaderBytes: defaultMaxHeaderBytes}
	f.Fuzz(func(t *testing.T, b []byte) {
		head, ok := findHead(b)
		if !ok {
			return
		}
		c := &conn{s: s}
		c.headers.m = http.Header{}
		wantClose, err := c.parse(head)
		if err != nil {
			return
		}
		// RFC 9112 section 2.2 lets a server skip empty lines before a
		// request; net/http does so only after a POST.
		ref, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(bytes.TrimLeft(head, "\r\n"))))
		if err != nil {
			t.Fatalf("fast path took a request net/http refuses (%v): %q", err, head)
		}
		r := &c.req
		if r.Method != ref.Method || s.StripPrefix+r.URL.Path != ref.URL.Path || r.URL.RawQuery != ref.URL.RawQuery ||
			r.Host != ref.Host || r.ProtoMinor != ref.ProtoMinor || wantClose != ref.Close {
			t.Fatalf("fast path read %s %s%s ?%s host %q close %v; net/http %s %s ?%s host %q close %v: %q",
				r.Method, s.StripPrefix, r.URL.Path, r.URL.RawQuery, r.Host, wantClose,
				ref.Method, ref.URL.Path, ref.URL.RawQuery, ref.Host, ref.Close, head)
		}
		if ref.ContentLength > 0 || len(ref.TransferEncoding) > 0 {
			t.Fatalf("fast path took a request with a body: %q", head)
		}
		for k, v := range ref.Header {
			if k == "Connection" && r.ProtoMinor == 0 {
				continue // net/http drops it for HTTP/1.0 keep-alive handling
			}
			if !slices.Equal(r.Header[k], v) {
				t.Fatalf("header %s: fast %q, net/http %q: %q", k, r.Header[k], v, head)
			}
		}
	})
}
