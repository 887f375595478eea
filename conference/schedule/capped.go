package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/kastlive/kast/conference"
)

// Limits of one timetable beyond rooms and talks. They are checked while
// decoding, so a hostile document (8 MB of "{}," is 2.8 million persons)
// is refused before kast holds more than a limit's worth of anything.
const (
	// MaxDays bounds the days of a frab schedule (an event lasts at most
	// a year).
	MaxDays = 400
	// MaxPersons bounds the persons of one frab event: more than
	// conference.MaxSpeakers would not import anyway.
	MaxPersons = conference.MaxSpeakers
)

// decodeArray decodes the JSON array data one element at a time, handing
// each to add with its index, and fails at the element past max (field
// names the array in the error): no more than max elements are decoded,
// and nothing of the document is copied. null is an empty array. strict
// refuses unknown fields in the elements. data must be valid JSON, as
// encoding/json hands it to an UnmarshalJSON method.
func decodeArray[T any](data []byte, max int, field, what string, strict bool, add func(int, T) error) error {
	if isNull(data) {
		return nil
	}
	if first(data) != '[' {
		return fieldErr(field, "must be an array")
	}
	i := 0
	return elements(data, func(_, elem []byte) error {
		if i == max {
			return fieldErr(field, "more than %d %s", max, what)
		}
		var v T
		if err := decodeValue(elem, &v, strict); err != nil {
			return elementErr(field+"["+strconv.Itoa(i)+"]", jsonError(err))
		}
		if err := add(i, v); err != nil {
			return err
		}
		i++
		return nil
	})
}

func decodeValue(data []byte, v any, strict bool) error {
	if !strict {
		return json.Unmarshal(data, v)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// rawJSON is json.RawMessage without the copy: it keeps the slice of the
// document json.Unmarshal hands over (never use it with a json.Decoder,
// whose buffer is reused).
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = b
	return nil
}

func first(data []byte) byte {
	i := skipSpace(data, 0)
	if i >= len(data) {
		return 0
	}
	return data[i]
}

func isNull(data []byte) bool {
	return len(bytes.TrimSpace(data)) == 0 || string(bytes.TrimSpace(data)) == "null"
}

var errMalformed = errors.New("malformed JSON")

// elements calls f with the raw key (objects; nil in arrays) and value of
// each member of the JSON array or object data, in document order,
// decoding and copying nothing. data is valid JSON (a malformed one gives
// errMalformed, never a panic).
func elements(data []byte, f func(key, val []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || (data[i] != '[' && data[i] != '{') {
		return errMalformed
	}
	object := data[i] == '{'
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) {
			return errMalformed
		}
		if data[i] == ']' || data[i] == '}' {
			return nil
		}
		var key []byte
		if object {
			end := skipValue(data, i)
			key = data[i:end]
			if i = skipSpace(data, end); i >= len(data) || data[i] != ':' {
				return errMalformed
			}
			i = skipSpace(data, i+1)
		}
		if i >= len(data) {
			return errMalformed
		}
		end := skipValue(data, i)
		if end <= i {
			return errMalformed
		}
		if err := f(key, data[i:end]); err != nil {
			return err
		}
		if i = skipSpace(data, end); i < len(data) && data[i] == ',' {
			i++
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at i.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(data)
	case '[', '{':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				j = skipValue(data, j) - 1
			case '[', '{':
				depth++
			case ']', '}':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(data)
	}
	j := i
	for j < len(data) && bytes.IndexByte([]byte(" \t\r\n,]}:"), data[j]) < 0 {
		j++
	}
	return j
}

// cappedList is a JSON array decoded with decodeArray: at most max
// elements (the type parameter L says how many and how they are named).
type cappedList[T any, L listLimit] []T

// listLimit names a cappedList's limit.
type listLimit interface {
	limit() (max int, field, what string, strict bool)
}

func (l *cappedList[T, L]) UnmarshalJSON(data []byte) error {
	var lim L
	max, field, what, strict := lim.limit()
	*l = (*l)[:0]
	return decodeArray(data, max, field, what, strict, func(_ int, v T) error {
		*l = append(*l, v)
		return nil
	})
}

// The limits of the lists kast's JSON (strict: unknown fields refused)
// and frab JSON (lenient) hold.
type (
	limitKastRooms    struct{}
	limitKastTalks    struct{}
	limitKastSpeakers struct{}
	limitRooms        struct{}
	limitPersons      struct{}
)

func (limitKastRooms) limit() (int, string, string, bool) { return MaxRooms, "rooms", "rooms", true }
func (limitKastTalks) limit() (int, string, string, bool) { return MaxTalks, "talks", "talks", true }
func (limitKastSpeakers) limit() (int, string, string, bool) {
	return conference.MaxSpeakers, "speakers", "speakers", true
}
func (limitRooms) limit() (int, string, string, bool) {
	return MaxRooms, "schedule.conference.rooms", "rooms", false
}
func (limitPersons) limit() (int, string, string, bool) {
	return MaxPersons, "persons", "persons", false
}

// elementErr places err, a *conference.FieldError about an element or
// one of its fields, under the element's name.
func elementErr(elem string, err error) error {
	var fe *conference.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	if fe.Field == "" {
		return &conference.FieldError{Field: elem, Msg: fe.Msg}
	}
	return &conference.FieldError{Field: elem + "." + fe.Field, Msg: fe.Msg}
}

// asFieldError is errors.As for *conference.FieldError.
func asFieldError(err error, fe **conference.FieldError) bool { return errors.As(err, fe) }
