package conference

import (
	"strconv"
	"time"
)

// TalkKind says what a timetable slot is.
type TalkKind string

// Kinds of talks. A break is in the timetable but has nothing on air.
const (
	KindTalk    TalkKind = "talk"
	KindKeynote TalkKind = "keynote"
	KindBreak   TalkKind = "break"
)

// MaxTalkDuration bounds one timetable slot.
const MaxTalkDuration = 24 * time.Hour

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
	// DoNotRecord: the speaker opted out of the recording (pretalx/frab
	// do_not_record). The recorder writes nothing while such a talk is on
	// air and its recording is never served.
	DoNotRecord bool
}

// Speaker is a person giving a talk.
type Speaker struct {
	Name string
	Bio  string
}

// Normalize fills defaults for empty optional fields and drops the
// sub-millisecond part of the times (the store keeps milliseconds).
func (t *Talk) Normalize() {
	if t.Kind == "" {
		t.Kind = KindTalk
	}
	t.Start = t.Start.Truncate(time.Millisecond)
	t.End = t.End.Truncate(time.Millisecond)
}

// Validate checks the talk's own fields and that it lies inside ev; the
// error is a *FieldError.
func (t Talk) Validate(ev Event) error {
	if err := checkText("guid", t.GUID, false, false, MaxGUIDLen); err != nil {
		return err
	}
	if err := checkText("title", t.Title, true, false, MaxNameLen); err != nil {
		return err
	}
	if err := checkText("abstract", t.Abstract, false, true, MaxAbstractLen); err != nil {
		return err
	}
	if len(t.Speakers) > MaxSpeakers {
		return fieldErr("speakers", "has more than %d speakers", MaxSpeakers)
	}
	for i, s := range t.Speakers {
		p := "speakers[" + strconv.Itoa(i) + "]."
		if err := checkText(p+"name", s.Name, true, false, MaxNameLen); err != nil {
			return err
		}
		if err := checkText(p+"bio", s.Bio, false, true, MaxBioLen); err != nil {
			return err
		}
	}
	switch t.Kind {
	case KindTalk, KindKeynote, KindBreak:
	default:
		return fieldErr("kind", "must be talk, keynote or break")
	}
	if err := checkText("language", t.Language, false, false, MaxLanguageLen); err != nil {
		return err
	}
	if t.Start.IsZero() {
		return fieldErr("start", "is required")
	}
	if t.End.IsZero() {
		return fieldErr("end", "is required")
	}
	if !t.End.After(t.Start) {
		return fieldErr("end", "must be after start")
	}
	if t.End.Sub(t.Start) > MaxTalkDuration {
		return fieldErr("end", "is more than 24 hours after start")
	}
	if !ev.Contains(t.Start, t.End) {
		if t.Start.Before(ev.Start) {
			return fieldErr("start", "is before the event starts (%s)", ev.Start.In(ev.Location()).Format(time.RFC3339))
		}
		if !t.Start.Before(ev.End) {
			return fieldErr("start", "is after the event ends (%s)", ev.End.In(ev.Location()).Format(time.RFC3339))
		}
		return fieldErr("end", "is after the event ends (%s)", ev.End.In(ev.Location()).Format(time.RFC3339))
	}
	return nil
}

// Same reports whether t and u hold the same timetable content (ids and
// the event aside): a re-import leaves such a talk alone.
func (t Talk) Same(u Talk) bool {
	if t.TrackID != u.TrackID || t.GUID != u.GUID || t.Title != u.Title || t.Abstract != u.Abstract ||
		!t.Start.Equal(u.Start) || !t.End.Equal(u.End) || t.Kind != u.Kind || t.Language != u.Language || t.DoNotRecord != u.DoNotRecord ||
		len(t.Speakers) != len(u.Speakers) {
		return false
	}
	for i := range t.Speakers {
		if t.Speakers[i] != u.Speakers[i] {
			return false
		}
	}
	return true
}

// Contains reports whether the talk runs at instant at (start included,
// end excluded).
func (t Talk) Contains(at time.Time) bool { return !at.Before(t.Start) && at.Before(t.End) }
