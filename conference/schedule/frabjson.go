package schedule

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/kastlive/kast/conference"
)

// The frab/c3voc JSON schedule as pretalx writes it; only the fields kast
// uses. Unknown fields are ignored (pretalx adds some the c3voc schema
// forbids), and so are values of a type kast does not expect in fields it
// does not need (ids are numbers in some exports, strings in others).
type frabJSONDoc struct {
	Schedule *struct {
		Conference struct {
			Title        string         `json:"title"`
			TimeZoneName string         `json:"time_zone_name"`
			Rooms        []frabJSONRoom `json:"rooms"`
			Days         []frabJSONDay  `json:"days"`
		} `json:"conference"`
	} `json:"schedule"`
}

type frabJSONRoom struct {
	Name string `json:"name"`
	GUID string `json:"guid"`
}

type frabJSONDay struct {
	Date  string                         `json:"date"`
	Rooms map[string][]frabJSONEventWire `json:"rooms"`
}

type frabJSONEventWire struct {
	GUID        string          `json:"guid"`
	ID          json.RawMessage `json:"id"`
	Date        string          `json:"date"`
	Start       string          `json:"start"`
	Duration    string          `json:"duration"`
	Room        string          `json:"room"`
	Title       string          `json:"title"`
	Subtitle    string          `json:"subtitle"`
	Type        string          `json:"type"`
	Language    string          `json:"language"`
	Abstract    string          `json:"abstract"`
	Description string          `json:"description"`
	DoNotRecord looseBool       `json:"do_not_record"`
	Persons     []struct {
		Name       string `json:"name"`
		PublicName string `json:"public_name"`
		Biography  string `json:"biography"`
	} `json:"persons"`
}

// ParseFrabJSON reads a frab/c3voc JSON schedule (pretalx's
// schedule.json): schedule.conference.days[].rooms{name: [event]}.
func ParseFrabJSON(data []byte) (conference.Timetable, error) {
	var doc frabJSONDoc
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return conference.Timetable{}, jsonError(err)
	}
	if doc.Schedule == nil {
		return conference.Timetable{}, fieldErr("schedule", "is missing")
	}
	c := doc.Schedule.Conference
	loc, err := frabLocation("schedule.conference.time_zone_name", c.TimeZoneName)
	if err != nil {
		return conference.Timetable{}, err
	}
	var rooms roomList
	for _, r := range c.Rooms {
		rooms.declare(r.Name, r.GUID)
	}
	var tt conference.Timetable
	for di, day := range c.Days {
		for _, name := range sortedKeys(day.Rooms) {
			for ei, w := range day.Rooms[name] {
				field := "schedule.conference.days[" + strconv.Itoa(di) + "].rooms[" + strconv.Quote(name) + "][" + strconv.Itoa(ei) + "]"
				e := frabEvent{GUID: w.GUID, ID: rawID(w.ID), Date: w.Date, Start: w.Start, Duration: w.Duration,
					Room: w.Room, Title: w.Title, Subtitle: w.Subtitle, Type: w.Type, Language: w.Language,
					Abstract: w.Abstract, Description: w.Description, DoNotRecord: bool(w.DoNotRecord)}
				for _, p := range w.Persons {
					n := strings.TrimSpace(p.PublicName)
					if n == "" {
						n = strings.TrimSpace(p.Name)
					}
					e.Persons = append(e.Persons, conference.Speaker{Name: n, Bio: strings.TrimSpace(p.Biography)})
				}
				t, err := e.talk(field, day.Date, loc)
				if err != nil {
					return conference.Timetable{}, err
				}
				tt.Talks = append(tt.Talks, conference.TimetableTalk{Room: rooms.key(name), Talk: t})
				if len(tt.Talks) > MaxTalks {
					return conference.Timetable{}, fieldErr("schedule.conference.days", "more than %d talks", MaxTalks)
				}
			}
		}
	}
	tt.Rooms = rooms.rooms
	if len(tt.Rooms) > MaxRooms {
		return conference.Timetable{}, fieldErr("schedule.conference.rooms", "more than %d rooms", MaxRooms)
	}
	return tt, nil
}

// looseBool reads a JSON boolean as exports write it: true/false, and
// also null, "true"/"false" and 1/0 (anything else is false). Only true
// opts a talk out of the recording.
type looseBool bool

func (b *looseBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(strings.ToLower(string(data)), `"`) {
	case "true", "1", "yes":
		*b = true
	default:
		*b = false
	}
	return nil
}

// rawID renders a JSON id (number or string) as text.
func rawID(m json.RawMessage) string {
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(m, &n) == nil {
		return n.String()
	}
	return ""
}

// hasTopLevelKey reports whether the JSON object data has key at its top.
func hasTopLevelKey(data []byte, key string) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		if k, ok := t.(string); ok && k == key {
			return true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}
