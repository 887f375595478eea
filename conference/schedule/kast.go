package schedule

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"
)

// kastDoc is kast's timetable JSON: what Marshal writes and ParseKast
// reads. Unknown fields are refused (it is kast's own format).
type kastDoc struct {
	Rooms cappedList[kastRoom, limitKastRooms] `json:"rooms"`
	Talks cappedList[kastTalk, limitKastTalks] `json:"talks"`
}

type kastRoom struct {
	// Key identifies the room across imports; defaults to Name.
	Key  string `json:"key,omitempty"`
	Name string `json:"name"`
	Slug string `json:"slug,omitempty"`
}

type kastTalk struct {
	GUID     string                                     `json:"guid"`
	Room     string                                     `json:"room"`
	Title    string                                     `json:"title"`
	Abstract string                                     `json:"abstract,omitempty"`
	Speakers cappedList[kastSpeaker, limitKastSpeakers] `json:"speakers,omitempty"`
	Start    time.Time                                  `json:"start"`
	End      time.Time                                  `json:"end"`
	Kind     string                                     `json:"kind,omitempty"`
	Language string                                     `json:"language,omitempty"`
	// DoNotRecord: the speaker opted out of the recording.
	DoNotRecord bool `json:"do_not_record,omitempty"`
}

type kastSpeaker struct {
	Name string `json:"name"`
	Bio  string `json:"bio,omitempty"`
}

// ParseKast reads kast's timetable JSON. A talk's room is a room's key
// (or name, which is the key when none is given).
func ParseKast(data []byte) (conference.Timetable, error) {
	// Rooms, talks and speakers are decoded one at a time and stop at
	// their limits (cappedList), reading the document in place: memory
	// stays bounded by the limits.
	var doc kastDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) && strings.Contains(se.Error(), "after top-level value") {
			return conference.Timetable{}, fieldErr("", "unexpected data after the timetable")
		}
		return conference.Timetable{}, jsonError(err)
	}
	if first(data) != '{' {
		return conference.Timetable{}, fieldErr("", "a kast timetable is a JSON object")
	}
	// Unknown fields are refused (the lists refuse them in their elements).
	if err := elements(data, func(key, _ []byte) error {
		switch string(key) {
		case `"rooms"`, `"talks"`:
			return nil
		}
		return fieldErr(strings.Trim(string(key), `"`), "unknown field %s", key)
	}); err != nil {
		return conference.Timetable{}, err
	}
	if len(doc.Rooms) > MaxRooms {
		return conference.Timetable{}, fieldErr("rooms", "more than %d rooms", MaxRooms)
	}
	if len(doc.Talks) > MaxTalks {
		return conference.Timetable{}, fieldErr("talks", "more than %d talks", MaxTalks)
	}
	var tt conference.Timetable
	byName := map[string]string{}
	for _, r := range doc.Rooms {
		key := r.Key
		if key == "" {
			key = r.Name
		}
		tt.Rooms = append(tt.Rooms, conference.Room{Key: key, Name: r.Name, Slug: r.Slug})
		byName[r.Name] = key
	}
	for i, t := range doc.Talks {
		room := t.Room
		if key, ok := byName[room]; ok && !hasKey(tt.Rooms, room) {
			room = key
		}
		tk := conference.Talk{
			GUID: t.GUID, Title: t.Title, Abstract: t.Abstract, Start: t.Start, End: t.End,
			Kind: conference.TalkKind(t.Kind), Language: t.Language, DoNotRecord: t.DoNotRecord,
		}
		for _, s := range t.Speakers {
			tk.Speakers = append(tk.Speakers, conference.Speaker{Name: s.Name, Bio: s.Bio})
		}
		if t.GUID == "" {
			return conference.Timetable{}, fieldErr("talks["+strconv.Itoa(i)+"].guid", "is required")
		}
		tk.Normalize() // "kind" left out is a talk, as documented
		tt.Talks = append(tt.Talks, conference.TimetableTalk{Room: room, Talk: tk})
	}
	return tt, nil
}

func hasKey(rooms []conference.Room, key string) bool {
	for _, r := range rooms {
		if r.Key == key {
			return true
		}
	}
	return false
}

// Marshal writes tt as kast's timetable JSON, talk times in loc.
func Marshal(tt conference.Timetable, loc *time.Location) ([]byte, error) {
	doc := kastDoc{Rooms: cappedList[kastRoom, limitKastRooms]{}, Talks: cappedList[kastTalk, limitKastTalks]{}}
	for _, r := range tt.Rooms {
		kr := kastRoom{Name: r.Name, Slug: r.Slug}
		if r.Key != r.Name {
			kr.Key = r.Key
		}
		doc.Rooms = append(doc.Rooms, kr)
	}
	for _, t := range tt.Talks {
		kt := kastTalk{GUID: t.GUID, Room: t.Room, Title: t.Title, Abstract: t.Abstract,
			Start: t.Start.In(loc), End: t.End.In(loc), Kind: string(t.Kind), Language: t.Language, DoNotRecord: t.DoNotRecord}
		for _, s := range t.Speakers {
			kt.Speakers = append(kt.Speakers, kastSpeaker{Name: s.Name, Bio: s.Bio})
		}
		doc.Talks = append(doc.Talks, kt)
	}
	return json.MarshalIndent(doc, "", "  ")
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

// jsonError words a decoding error for an organizer.
func jsonError(err error) error {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fieldErr("", "malformed JSON at byte %d: %v", e.Offset, e)
	case *json.UnmarshalTypeError:
		return fieldErr(e.Field, "must be %s, not %s", kindName(e.Type.Kind()), e.Value)
	case *conference.FieldError:
		return e // a limit, from a list's own decoding
	}
	if err == io.EOF {
		return fieldErr("", "empty document")
	}
	if err == io.ErrUnexpectedEOF {
		return fieldErr("", "the JSON ends too early")
	}
	return fieldErr("", "%v", err)
}
