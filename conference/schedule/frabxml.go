package schedule

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/kastlive/kast/conference"
)

// The frab XML schedule: <schedule><conference/><day date><room name
// guid><event guid id>...</event></room></day></schedule>.
type frabXMLDoc struct {
	XMLName    xml.Name `xml:"schedule"`
	Conference struct {
		Title        string `xml:"title"`
		TimeZoneName string `xml:"time_zone_name"`
	} `xml:"conference"`
	Days []struct {
		Date  string `xml:"date,attr"`
		Rooms []struct {
			Name   string `xml:"name,attr"`
			GUID   string `xml:"guid,attr"`
			Events []struct {
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
				RecordingOptOut string `xml:"recording>optout"`
				Persons         []struct {
					Name string `xml:",chardata"`
				} `xml:"persons>person"`
			} `xml:"event"`
		} `xml:"room"`
	} `xml:"day"`
}

// ParseFrabXML reads a frab XML schedule (pretalx's schedule.xml).
// encoding/xml expands no external entities and fetches nothing.
func ParseFrabXML(data []byte) (conference.Timetable, error) {
	var doc frabXMLDoc
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return conference.Timetable{}, fieldErr("", "malformed XML schedule: %v", err)
	}
	loc, err := frabLocation("schedule.conference.time_zone_name", doc.Conference.TimeZoneName)
	if err != nil {
		return conference.Timetable{}, err
	}
	var rooms roomList
	var tt conference.Timetable
	for di, day := range doc.Days {
		for ri, room := range day.Rooms {
			rooms.declare(room.Name, room.GUID)
			if strings.TrimSpace(room.Name) == "" {
				return conference.Timetable{}, fieldErr("schedule.day["+strconv.Itoa(di)+"].room["+strconv.Itoa(ri)+"].name", "is missing")
			}
			for ei, x := range room.Events {
				field := "schedule.day[" + strconv.Itoa(di) + "].room[" + strconv.Quote(room.Name) + "].event[" + strconv.Itoa(ei) + "]"
				e := frabEvent{GUID: x.GUID, ID: x.ID, Date: x.Date, Start: x.Start, Duration: x.Duration, Room: x.Room,
					Title: x.Title, Subtitle: x.Subtitle, Type: x.Type, Language: x.Language,
					Abstract: x.Abstract, Description: x.Description,
					DoNotRecord: strings.EqualFold(strings.TrimSpace(x.RecordingOptOut), "true")}
				for _, p := range x.Persons {
					e.Persons = append(e.Persons, conference.Speaker{Name: strings.TrimSpace(p.Name)})
				}
				t, err := e.talk(field, day.Date, loc)
				if err != nil {
					return conference.Timetable{}, err
				}
				tt.Talks = append(tt.Talks, conference.TimetableTalk{Room: rooms.key(room.Name), Talk: t})
				if len(tt.Talks) > MaxTalks {
					return conference.Timetable{}, fieldErr("schedule", "more than %d talks", MaxTalks)
				}
			}
		}
	}
	tt.Rooms = rooms.rooms
	if len(tt.Rooms) > MaxRooms {
		return conference.Timetable{}, fieldErr("schedule", "more than %d rooms", MaxRooms)
	}
	return tt, nil
}
