package conference

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits of text fields, in characters (runes).
const (
	MaxNameLen     = 200
	MaxSlugLen     = 63
	MaxAbstractLen = 20000
	MaxBioLen      = 10000
	MaxGUIDLen     = 200
	MaxLanguageLen = 35
	MaxSpeakers    = 50
	MaxEmailLen    = 254
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

// slugRE: a lowercase letter first (so a slug never looks like a numeric
// id), then lowercase letters, digits and single hyphens.
var slugRE = regexp.MustCompile(`^[a-z](?:[a-z0-9]|-[a-z0-9])*$`)

// ValidSlug reports whether s can name an event or a track in URLs.
func ValidSlug(s string) bool { return len(s) <= MaxSlugLen && slugRE.MatchString(s) }

func checkSlug(field, s string) error {
	if s == "" {
		return fieldErr(field, "is required")
	}
	if !ValidSlug(s) {
		return fieldErr(field, "must be 1-%d lowercase letters, digits and single hyphens, starting with a letter", MaxSlugLen)
	}
	return nil
}

// checkText checks a free-text field: valid UTF-8, no control characters
// other than newlines and tabs (when multiline), at most max characters,
// and not blank when required. The text itself is kept verbatim: HTML and
// SQL metacharacters are data, escaped where they are rendered.
func checkText(field, s string, required, multiline bool, max int) error {
	if !utf8.ValidString(s) {
		return fieldErr(field, "is not valid UTF-8")
	}
	if required && strings.TrimSpace(s) == "" {
		return fieldErr(field, "is required")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fieldErr(field, "is too long (%d characters, at most %d)", n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return fieldErr(field, "contains a control character")
		}
	}
	return nil
}
