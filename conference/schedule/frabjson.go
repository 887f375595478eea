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
// Days and the rooms of a day are read one event at a time, and every list
// stops at its limit, so memory stays bounded by the limits, not by what a
// document claims.
type frabJSONDoc struct {
	Schedule *struct {
		Conference struct {
			Title        string                               `json:"title"`
			TimeZoneName string                               `json:"time_zone_name"`
			Rooms        cappedList[frabJSONRoom, limitRooms] `json:"rooms"`
			Days         rawJSON                              `json:"days"`
		} `json:"conference"`
	} `json:"schedule"`
}

type frabJSONRoom struct {
	Name string `json:"name"`
	GUID string `json:"guid"`
}

type frabJSONDay struct {
	Date     string  `json:"date"`
	DayStart string  `json:"day_start"`
	DayEnd   string  `json:"day_end"`
	Rooms    rawJSON `json:"rooms"` // {"<room name>": [event]}
}

type frabJSONEventWire struct {
	GUID        string                                   `json:"guid"`
	ID          json.RawMessage                          `json:"id"`
	Date        string                                   `json:"date"`
	Start       string                                   `json:"start"`
	Duration    string                                   `json:"duration"`
	Room        string                                   `json:"room"`
	Title       string                                   `json:"title"`
	Subtitle    string                                   `json:"subtitle"`
	Type        string                                   `json:"type"`
	Language    string                                   `json:"language"`
	Abstract    string                                   `json:"abstract"`
	Description string                                   `json:"description"`
	DoNotRecord looseBool                                `json:"do_not_record"`
	Persons     cappedList[frabJSONPerson, limitPersons] `json:"persons"`
}

type frabJSONPerson struct {
	Name       string `json:"name"`
	PublicName string `json:"public_name"`
	Biography  string `json:"biography"`
}

// ParseFrabJSON reads a frab/c3voc JSON schedule (pretalx's
// schedule.json): schedule.conference.days[].rooms{name: [event]}.
func ParseFrabJSON(data []byte) (conference.Timetable, error) {
	var doc frabJSONDoc
	if err := json.Unmarshal(data, &doc); err != nil {
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
	err = decodeArray(c.Days, MaxDays, "schedule.conference.days", "days", false, func(di int, day frabJSONDay) error {
		dayField := "schedule.conference.days[" + strconv.Itoa(di) + "]"
		// The day's talks by room, added in room-name order (JSON objects
		// have none).
		byRoom := map[string][]conference.Talk{}
		err := decodeRooms(day.Rooms, dayField+".rooms", func(name string, ei int, w frabJSONEventWire) error {
			if len(tt.Talks)+countTalks(byRoom) >= MaxTalks {
				return fieldErr("schedule.conference.days", "more than %d talks", MaxTalks)
			}
			field := dayField + ".rooms[" + strconv.Quote(name) + "][" + strconv.Itoa(ei) + "]"
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
			start, end := dayBounds(day.DayStart, day.DayEnd, loc)
			t, err := e.talk(field, frabDay{Date: day.Date, Start: start, End: end}, loc)
			if err != nil {
				return err
			}
			if ei == 0 {
				byRoom[name] = nil // a room named twice keeps its last list
			}
			byRoom[name] = append(byRoom[name], t)
			return nil
		})
		if err != nil {
			return err
		}
		for _, name := range sortedKeys(byRoom) {
			key := rooms.key(name)
			if len(rooms.rooms) > MaxRooms {
				return fieldErr("schedule.conference.rooms", "more than %d rooms", MaxRooms)
			}
			for _, t := range byRoom[name] {
				tt.Talks = append(tt.Talks, conference.TimetableTalk{Room: key, Talk: t})
			}
		}
		return nil
	})
	if err != nil {
		return conference.Timetable{}, err
	}
	tt.Rooms = rooms.rooms
	return tt, nil
}

func countTalks(m map[string][]conference.Talk) int {
	n := 0
	for _, ts := range m {
		n += len(ts)
	}
	return n
}

// decodeRooms reads a day's rooms object, {"<room name>": [event]}, one
// event at a time (at most MaxRooms rooms; add bounds the events). A room
// named twice keeps its last list, as a JSON object would.
func decodeRooms(data []byte, field string, add func(room string, i int, e frabJSONEventWire) error) error {
	if isNull(data) {
		return nil
	}
	if first(data) != '{' {
		return fieldErr(field, "must be an object of room names and their events")
	}
	n := 0
	return elements(data, func(key, list []byte) error {
		if n == MaxRooms {
			return fieldErr(field, "more than %d rooms", MaxRooms)
		}
		n++
		var name string
		if err := json.Unmarshal(key, &name); err != nil {
			return jsonError(err)
		}
		roomField := field + "[" + strconv.Quote(name) + "]"
		if isNull(list) {
			return nil
		}
		if first(list) != '[' {
			return fieldErr(roomField, "must be an array of events")
		}
		i := 0
		return elements(list, func(_, elem []byte) error {
			var e frabJSONEventWire
			if err := json.Unmarshal(elem, &e); err != nil {
				return elementErr(roomField+"["+strconv.Itoa(i)+"]", jsonError(err))
			}
			if err := add(name, i, e); err != nil {
				return err
			}
			i++
			return nil
		})
	})
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
