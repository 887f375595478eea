package schedule

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"github.com/kastlive/kast/conference"
)

// The frab XML schedule: <schedule><conference/><day date><room name
// guid><event guid id>...</event></room></day></schedule>. It is read one
// element at a time (each event decoded on its own, every list stopped at
// its limit), so memory stays bounded by the limits, not by the document.
type frabXMLConference struct {
	Title        string `xml:"title"`
	TimeZoneName string `xml:"time_zone_name"`
}

type frabXMLEvent struct {
	GUID        string `xml:"guid,attr"`
	ID          string `xml:"id,attr"`
	Date        string `xml:"date"`
	Start       string `xml:"start"`
	Duration    string `xml:"duration"`
	Room        string `xml:"room"`
	Title       string `xml:"title"`
	Subtitle    string `xml:"subtitle"`
	Type        string `xml:"type"`
	Language    string `xml:"language"`
	Abstract    string `xml:"abstract"`
	Description string `xml:"description"`
	// <recording><license/><optout>true</optout></recording>
	RecordingOptOut string     `xml:"recording>optout"`
	Persons         xmlPersons `xml:"persons"`
}

// xmlPersons is <persons><person>name</person>...</persons>, at most
// MaxPersons of them.
type xmlPersons []string

func (p *xmlPersons) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "person" {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			if len(*p) == MaxPersons {
				return fieldErr("persons", "more than %d persons", MaxPersons)
			}
			var person struct {
				Name string `xml:",chardata"`
			}
			if err := d.DecodeElement(&person, &t); err != nil {
				return err
			}
			*p = append(*p, person.Name)
		case xml.EndElement:
			return nil
		}
	}
}

// xmlPending is an event read before the schedule's time zone is known
// for sure (<conference> normally comes first, but need not).
type xmlPending struct {
	field, room      string
	date, start, end string // the day's attributes
	e                frabEvent
}

// ParseFrabXML reads a frab XML schedule (pretalx's schedule.xml).
// encoding/xml expands no external entities and fetches nothing.
func ParseFrabXML(data []byte) (conference.Timetable, error) {
	p := xmlParser{dec: xml.NewDecoder(bytes.NewReader(data))}
	if err := p.schedule(); err != nil {
		var fe *conference.FieldError
		if asFieldError(err, &fe) {
			return conference.Timetable{}, fe
		}
		return conference.Timetable{}, fieldErr("", "malformed XML schedule: %v", err)
	}
	loc, err := frabLocation("schedule.conference.time_zone_name", p.conf.TimeZoneName)
	if err != nil {
		return conference.Timetable{}, err
	}
	var tt conference.Timetable
	for _, x := range p.events {
		start, end := dayBounds(x.start, x.end, loc)
		t, err := x.e.talk(x.field, frabDay{Date: x.date, Start: start, End: end}, loc)
		if err != nil {
			return conference.Timetable{}, err
		}
		tt.Talks = append(tt.Talks, conference.TimetableTalk{Room: p.rooms.key(x.room), Talk: t})
	}
	tt.Rooms = p.rooms.rooms
	return tt, nil
}

type xmlParser struct {
	dec    *xml.Decoder
	conf   frabXMLConference
	rooms  roomList
	events []xmlPending
	days   int
}

// schedule reads the root element and what it holds.
func (p *xmlParser) schedule() error {
	for {
		tok, err := p.dec.Token()
		if err != nil {
			if err == io.EOF {
				return fieldErr("", "malformed XML schedule: no <schedule> element")
			}
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "schedule" {
				return fieldErr("", "malformed XML schedule: expected element type <schedule> but have <%s>", se.Name.Local)
			}
			break
		}
	}
	return p.children(func(se xml.StartElement) error {
		switch se.Name.Local {
		case "conference":
			return p.dec.DecodeElement(&p.conf, &se)
		case "day":
			return p.day(se)
		}
		return p.dec.Skip()
	})
}

// children calls f for each child element of the element just started,
// and returns at its end. f must consume the element it is given.
func (p *xmlParser) children(f func(xml.StartElement) error) error {
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := f(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (p *xmlParser) day(se xml.StartElement) error {
	di := p.days
	if p.days++; p.days > MaxDays {
		return fieldErr("schedule", "more than %d days", MaxDays)
	}
	date, dayStart, dayEnd := attr(se, "date"), attr(se, "start"), attr(se, "end")
	ri := 0
	return p.children(func(se xml.StartElement) error {
		if se.Name.Local != "room" {
			return p.dec.Skip()
		}
		name := attr(se, "name")
		if strings.TrimSpace(name) == "" {
			return fieldErr("schedule.day["+strconv.Itoa(di)+"].room["+strconv.Itoa(ri)+"].name", "is missing")
		}
		ri++
		p.rooms.declare(name, attr(se, "guid"))
		if len(p.rooms.rooms) > MaxRooms {
			return fieldErr("schedule", "more than %d rooms", MaxRooms)
		}
		ei := 0
		return p.children(func(se xml.StartElement) error {
			if se.Name.Local != "event" {
				return p.dec.Skip()
			}
			if len(p.events) == MaxTalks {
				return fieldErr("schedule", "more than %d talks", MaxTalks)
			}
			field := "schedule.day[" + strconv.Itoa(di) + "].room[" + strconv.Quote(name) + "].event[" + strconv.Itoa(ei) + "]"
			ei++
			var x frabXMLEvent
			if err := p.dec.DecodeElement(&x, &se); err != nil {
				return elementErr(field, err)
			}
			e := frabEvent{GUID: x.GUID, ID: x.ID, Date: x.Date, Start: x.Start, Duration: x.Duration, Room: x.Room,
				Title: x.Title, Subtitle: x.Subtitle, Type: x.Type, Language: x.Language,
				Abstract: x.Abstract, Description: x.Description,
				DoNotRecord: strings.EqualFold(strings.TrimSpace(x.RecordingOptOut), "true")}
			for _, n := range x.Persons {
				e.Persons = append(e.Persons, conference.Speaker{Name: strings.TrimSpace(n)})
			}
			p.events = append(p.events, xmlPending{field: field, date: date, start: dayStart, end: dayEnd, room: name, e: e})
			return nil
		})
	})
}
