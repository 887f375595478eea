package gate

import (
	"bytes"
	"net/http"
	"strconv"
)

// serveRewritten serves a playlist with the token added to every URI in
// it, for players that authenticate with the query parameter only.
func (g *Gate) serveRewritten(w http.ResponseWriter, r *http.Request, tok string) {
	bw := &bufferedWriter{w: w, status: http.StatusOK}
	g.Next.ServeHTTP(bw, r)
	body := bw.body
	if bw.status == http.StatusOK {
		body = AppendRewritten(nil, bw.body, tok)
		w.Header()["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(bw.status)
	w.Write(body)
}

// bufferedWriter holds a response until the handler returns. Playlists are
// written with one Write of bytes rendered beforehand, so nothing streams.
type bufferedWriter struct {
	w      http.ResponseWriter
	status int
	body   []byte
}

func (b *bufferedWriter) Header() http.Header  { return b.w.Header() }
func (b *bufferedWriter) WriteHeader(code int) { b.status = code }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.body = append(b.body, p...)
	return len(p), nil
}

// AppendRewritten appends playlist pl to dst with ?token=tok (or &token=)
// added to every URI: the URI lines and the URI="..." attributes
// (EXT-X-MAP, EXT-X-PART, EXT-X-PRELOAD-HINT, EXT-X-MEDIA, ...).
func AppendRewritten(dst, pl []byte, tok string) []byte {
	for len(pl) > 0 {
		line := pl
		if i := bytes.IndexByte(pl, '\n'); i >= 0 {
			line, pl = pl[:i+1], pl[i+1:]
		} else {
			pl = nil
		}
		content := bytes.TrimRight(line, "\r\n")
		eol := line[len(content):]
		switch {
		case len(content) == 0:
			dst = append(dst, line...)
		case content[0] != '#':
			dst = appendWithToken(dst, content, tok)
			dst = append(dst, eol...)
		default:
			for {
				i := bytes.Index(content, []byte(`URI="`))
				if i < 0 {
					break
				}
				i += len(`URI="`)
				j := bytes.IndexByte(content[i:], '"')
				if j < 0 {
					break
				}
				dst = append(dst, content[:i]...)
				dst = appendWithToken(dst, content[i:i+j], tok)
				content = content[i+j:]
			}
			dst = append(dst, content...)
			dst = append(dst, eol...)
		}
	}
	return dst
}

func appendWithToken(dst, uri []byte, tok string) []byte {
	dst = append(dst, uri...)
	if bytes.IndexByte(uri, '?') >= 0 {
		dst = append(dst, '&')
	} else {
		dst = append(dst, '?')
	}
	dst = append(dst, QueryParam+"="...)
	return append(dst, tok...)
}
