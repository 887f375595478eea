package conference

import "time"

// TalkKind says what a timetable slot is.
type TalkKind string

// Kinds of talks. A break is in the timetable but has nothing on air.
const (
	KindTalk    TalkKind = "talk"
	KindKeynote TalkKind = "keynote"
	KindBreak   TalkKind = "break"
)

// Talk is one slot of the timetable on a track.
type Talk struct {
	ID      int64
	EventID int64
	TrackID int64
	// GUID is the stable key of the talk in the timetable it was imported
	// from (pretalx/frab guid); re-imports match on it. Empty for talks
	// created in kast.
	GUID     string
	Title    string
	Abstract string
	Speakers []Speaker
	Start    time.Time
	End      time.Time
	Kind     TalkKind
	Language string
}

// Speaker is a person giving a talk.
type Speaker struct {
	Name string
	Bio  string
}
