package conference

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Slugify turns a name ("Saal 1 / Großer Saal") into a slug
// ("saal-1-grosser-saal"): accents dropped, other characters folded to
// hyphens, a leading letter guaranteed ("1a" -> "room-1a"), at most
// MaxSlugLen long. An empty result is "room".
func Slugify(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFKD.String(strings.ToLower(name)) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		case r == 'ß':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteString("ss")
		case unicode.Is(unicode.Mn, r): // combining accent of a decomposed letter
		default:
			hyphen = true
		}
	}
	s := b.String()
	if s == "" {
		return "room"
	}
	if s[0] < 'a' || s[0] > 'z' {
		s = "room-" + s
	}
	if len(s) > MaxSlugLen {
		s = strings.TrimRight(s[:MaxSlugLen], "-")
	}
	return s
}
