package gate

import "strings"

// CookieName is the cookie carrying a playback token, set with
// Path=/hls/<track>/ for each track of the event.
const CookieName = "kast_play"

// QueryParam is the query parameter carrying a playback token.
const QueryParam = "token"

// Where a request carried a candidate token.
type source int

const (
	fromCookie source = iota
	fromHeader
	fromQuery
)

// candidates calls try for each token the request carries (cookies first:
// a page refreshes its cookie while a URL keeps the token it was given),
// until try returns true. It allocates nothing: the tokens are substrings
// of the header and query strings.
func candidates(cookies, auth []string, rawQuery string, try func(tok string, src source) bool) {
	for _, line := range cookies {
		for line != "" {
			var c string
			c, line, _ = strings.Cut(line, ";")
			c = strings.TrimLeft(c, " \t")
			if v, ok := strings.CutPrefix(c, CookieName+"="); ok {
				if try(strings.Trim(strings.TrimRight(v, " \t"), `"`), fromCookie) {
					return
				}
			}
		}
	}
	for _, a := range auth {
		if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			if try(strings.TrimSpace(a[7:]), fromHeader) {
				return
			}
		}
	}
	q := rawQuery
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if v, ok := strings.CutPrefix(kv, QueryParam+"="); ok {
			// base64url needs no unescaping
			if try(v, fromQuery) {
				return
			}
		}
	}
}
