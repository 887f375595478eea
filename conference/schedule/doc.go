// Package schedule reads timetables into conference.Timetable: kast's own
// JSON, the frab/c3voc JSON schedule that pretalx exports as
// schedule.json, and frab's schedule.xml. It does no I/O: callers hand it
// the bytes (an upload, or a file kast fetched) and import the result with
// conference.PlanImport / TimetableStore.ImportTimetable.
//
// Parsers are lenient where the formats vary in the wild (fields they do
// not know are ignored, durations "H:MM" or "HH:MM:SS") and strict where a
// mistake would import wrong data (a missing guid, an unreadable time).
package schedule

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/kastlive/kast/conference"
)

// Format is a timetable format.
type Format string

// Formats read by Parse.
const (
	Kast     Format = "kast"      // kast's JSON (see Marshal)
	FrabJSON Format = "frab-json" // pretalx schedule.json, c3voc schedule JSON
	FrabXML  Format = "frab-xml"  // frab / pretalx schedule.xml
)

// Limits of one timetable.
const (
	MaxRooms = 200
	MaxTalks = 10000
)

// ErrUnknownFormat: the content is none of the formats.
var ErrUnknownFormat = errors.New("schedule: not a kast JSON, frab/pretalx JSON or frab XML timetable")

// Parse reads data in the format its media type names: application/json
// (kast's or frab's JSON, told apart by the top-level "schedule" key) or
// application/xml / text/xml (frab XML). An empty media type is sniffed.
func Parse(data []byte, contentType string) (conference.Timetable, Format, error) {
	f, err := Detect(data, contentType)
	if err != nil {
		return conference.Timetable{}, "", err
	}
	var tt conference.Timetable
	switch f {
	case Kast:
		tt, err = ParseKast(data)
	case FrabJSON:
		tt, err = ParseFrabJSON(data)
	case FrabXML:
		tt, err = ParseFrabXML(data)
	}
	return tt, f, err
}

// Detect returns the format of data given its media type.
func Detect(data []byte, contentType string) (Format, error) {
	mt := ""
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return "", fmt.Errorf("schedule: Content-Type %q: %w", contentType, err)
		}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	isJSON := len(trimmed) > 0 && trimmed[0] == '{'
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || (mt == "" && isJSON):
		if !isJSON {
			return "", ErrUnknownFormat
		}
		if hasTopLevelKey(trimmed, "schedule") {
			return FrabJSON, nil
		}
		return Kast, nil
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml") || (mt == "" && len(trimmed) > 0 && trimmed[0] == '<'):
		return FrabXML, nil
	case mt == "":
		return "", ErrUnknownFormat
	default:
		return "", fmt.Errorf("schedule: unsupported Content-Type %q (want application/json or application/xml)", mt)
	}
}

// fieldErr is a parse error naming the offending place in the document.
func fieldErr(field, format string, args ...any) error {
	return &conference.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
