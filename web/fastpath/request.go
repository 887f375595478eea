package fastpath

import (
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// readRequest reads the next request into c.req. It returns errHandoff
// for anything the fast path does not take, leaving the request's bytes
// unread for the fallback server; wantClose is the client's wish to close
// the connection after the response.
func (c *conn) readRequest() (wantClose bool, err error) {
	for {
		if c.start < c.end {
			head, ok := findHead(c.buf[c.start:c.end])
			if ok {
				wantClose, err = c.parse(head)
				if err != nil {
					return false, err
				}
				c.start += len(head)
				c.headerDeadline = false
				c.release(false)
				return wantClose, nil
			}
			if c.end-c.start >= c.s.MaxHeaderBytes {
				// net/http answers 431.
				return false, errHandoff
			}
		}
		if err := c.fill(c.start == c.end); err != nil {
			return false, err
		}
	}
}

// findHead returns the request line and headers up to and including the
// empty line that ends them. Empty lines before the request line (RFC 9112
// section 2.2) are part of it.
func findHead(b []byte) ([]byte, bool) {
	i := 0
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		i++
	}
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return nil, false
		}
		i += j + 1
		if i < len(b) && b[i] == '\n' {
			return b[:i+1], true
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return b[:i+2], true
		}
	}
}

// parse fills c.req from one request head.
func (c *conn) parse(head []byte) (wantClose bool, err error) {
	head = bytes.TrimLeft(head, "\r\n")
	line, rest := cutLine(head)
	method, line, ok1 := bytes.Cut(line, []byte{' '})
	target, proto, ok2 := bytes.Cut(line, []byte{' '})
	if !ok1 || !ok2 {
		return false, errHandoff
	}
	c.req = c.tmpl
	r := &c.req
	switch string(method) {
	case http.MethodGet:
		r.Method = http.MethodGet
	case http.MethodHead:
		r.Method = http.MethodHead
	default:
		return false, errHandoff
	}
	switch string(proto) {
	case "HTTP/1.1":
		r.Proto, r.ProtoMinor = "HTTP/1.1", 1
	case "HTTP/1.0":
		r.Proto, r.ProtoMinor = "HTTP/1.0", 0
	default:
		return false, errHandoff
	}
	r.ProtoMajor = 1
	if len(target) == 0 || target[0] != '/' || !visible(target) {
		return false, errHandoff
	}
	// One string for the target; path and query share it.
	uri := string(target)
	path, query, _ := strings.Cut(uri, "?")
	if !c.s.takes(r.Method, path, "") {
		return false, errHandoff
	}

	host, hasClose, hasKeepAlive := false, false, false
	c.headers.begin()
	for len(rest) > 0 {
		var l []byte
		l, rest = cutLine(rest)
		if len(l) == 0 {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return false, errHandoff // obsolete line folding
		}
		k, v, ok := bytes.Cut(l, []byte{':'})
		if !ok || len(k) == 0 || !validKey(k) || !validValue(v) {
			return false, errHandoff
		}
		v = bytes.Trim(v, " \t")
		switch {
		case equalFold(k, "Host"):
			if host {
				return false, errHandoff
			}
			host = true
			r.Host = c.headers.host(v)
			continue
		case equalFold(k, "Content-Length"):
			if string(v) != "0" {
				return false, errHandoff
			}
		case equalFold(k, "Transfer-Encoding"), equalFold(k, "Upgrade"), equalFold(k, "Expect"):
			return false, errHandoff
		case equalFold(k, "Connection"):
			for _, t := range bytes.Split(v, []byte{','}) {
				t = bytes.Trim(t, " \t")
				hasClose = hasClose || equalFold(t, "close")
				hasKeepAlive = hasKeepAlive || equalFold(t, "keep-alive")
			}
		}
		c.headers.add(k, v)
	}
	if !host && r.ProtoMinor == 1 || host && !validHost(r.Host) {
		return false, errHandoff // net/http answers 400
	}
	// RFC 9112 section 9.3: close wins; HTTP/1.0 closes unless asked not to.
	wantClose = hasClose || r.ProtoMinor == 0 && !hasKeepAlive
	r.Header = c.headers.end()

	c.url = urlFor(c.s.StripPrefix, path, query)
	r.URL = &c.url
	r.RequestURI = uri
	r.Close = wantClose
	return wantClose, nil
}

func cutLine(b []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(b, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'}), rest
}

// visible reports whether a request target has only the characters a URI
// may have (RFC 3986), without a fragment.
func visible(b []byte) bool {
	for _, ch := range b {
		if ch <= ' ' || ch >= 0x7f || ch == '#' {
			return false
		}
	}
	return true
}

// validHost reports whether h has only the characters of a URI's host and
// port (RFC 3986 section 3.2.2), as net/http requires.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		ch := h[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' ||
			strings.IndexByte("-._~!$&'()*+,;=:[]%", ch) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validValue reports whether v has no control characters but tabs
// (RFC 9110 section 5.5).
func validValue(v []byte) bool {
	for _, ch := range v {
		if ch < ' ' && ch != '\t' || ch == 0x7f {
			return false
		}
	}
	return true
}

func validKey(k []byte) bool {
	for _, ch := range k {
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", ch) >= 0 {
			return false
		}
	}
	return true
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if x|0x20 != y|0x20 {
			return false
		}
	}
	return true
}

// headerCache turns header lines into an http.Header, reusing the strings
// and value slices of the previous request on the connection when a line
// is the same: a player sends the same headers every time.
type headerCache struct {
	m     http.Header
	prev  []field
	cur   []field
	hostV string
}

type field struct {
	raw, value string // as received
	key        string // canonical
	vals       []string
}

func (h *headerCache) begin() {
	h.prev, h.cur = h.cur, h.prev[:0]
	clear(h.m)
}

func (h *headerCache) host(v []byte) string {
	if h.hostV != string(v) {
		h.hostV = string(v)
	}
	return h.hostV
}

func (h *headerCache) add(k, v []byte) {
	var f field
	i := len(h.cur)
	if i < len(h.prev) && h.prev[i].raw == string(k) && h.prev[i].value == string(v) &&
		len(h.prev[i].vals) == 1 && h.prev[i].vals[0] == h.prev[i].value {
		f = h.prev[i]
	} else {
		f.raw, f.value = string(k), string(v)
		f.key = textproto.CanonicalMIMEHeaderKey(f.raw)
		f.vals = []string{f.value}
	}
	h.cur = append(h.cur, f)
	if old, ok := h.m[f.key]; ok {
		h.m[f.key] = append(old[:len(old):len(old)], f.value)
		return
	}
	h.m[f.key] = f.vals[:1:1]
}

// maxCached bounds what a connection keeps between requests: a request
// with more header fields gets a map of its own, dropped after it.
const maxCached = 32

func (h *headerCache) end() http.Header {
	m := h.m
	if len(h.cur) > maxCached {
		h.m, h.prev, h.cur = http.Header{}, nil, nil
	}
	return m
}

func urlFor(strip, path, query string) url.URL {
	return url.URL{Path: strings.TrimPrefix(path, strip), RawQuery: query}
}
