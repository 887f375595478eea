package conference

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Timetable is a parsed timetable to import into an event (package
// conference/schedule reads kast's JSON, pretalx/frab JSON and frab XML
// into it).
type Timetable struct {
	// Rooms in display order; every talk's Room is one of their keys.
	Rooms []Room
	Talks []TimetableTalk
}

// Room is a timetable room: a kast track.
type Room struct {
	// Key identifies the room across re-imports: its guid in the source
	// when it has one, else its name.
	Key  string
	Name string
	// Slug is the track slug asked for (kast's JSON); empty: derived from
	// the name.
	Slug string
}

// TimetableTalk is a talk of a timetable, in the room with key Room.
type TimetableTalk struct {
	Room string
	Talk
}

// Validate checks the timetable against ev: unique room keys and talk
// guids, every talk in a known room and valid for the event once its
// defaults are filled in (Talk.Normalize: no kind is a talk).
func (tt Timetable) Validate(ev Event) error {
	rooms := map[string]bool{}
	for i, r := range tt.Rooms {
		p := "rooms[" + strconv.Itoa(i) + "]."
		if err := checkText(p+"name", r.Name, true, false, MaxNameLen); err != nil {
			return err
		}
		if err := checkText(p+"key", r.Key, true, false, MaxNameLen); err != nil {
			return err
		}
		if r.Slug != "" {
			if err := checkSlug(p+"slug", r.Slug); err != nil {
				return err
			}
		}
		if rooms[r.Key] {
			return fieldErr(p+"key", "room %q appears twice", r.Key)
		}
		rooms[r.Key] = true
	}
	guids := map[string]bool{}
	for i, t := range tt.Talks {
		p := "talks[" + strconv.Itoa(i) + "]."
		if t.GUID == "" {
			return fieldErr(p+"guid", "is required")
		}
		if guids[t.GUID] {
			return fieldErr(p+"guid", "%q appears twice", t.GUID)
		}
		guids[t.GUID] = true
		if !rooms[t.Room] {
			return fieldErr(p+"room", "unknown room %q", t.Room)
		}
		k := t.Talk
		k.Normalize() // defaults first: a talk without kind is a talk
		if err := k.Validate(ev); err != nil {
			return WithPrefix(p, err)
		}
	}
	return nil
}

// ImportPlan is what an import changes in an event. Tracks and talks to
// add have no ID; those to update carry the ID they keep, so on-air and
// recordings keep pointing at them.
type ImportPlan struct {
	AddTracks    []Track
	UpdateTracks []Track
	RemoveTracks []Track
	// AddTalks and UpdateTalks name their track by room key (new tracks
	// get their ID only when stored).
	AddTalks    []TimetableTalk
	UpdateTalks []TimetableTalk
	RemoveTalks []Talk
	Unchanged   int
}

// Empty reports whether the plan changes nothing.
func (p ImportPlan) Empty() bool {
	return len(p.AddTracks)+len(p.UpdateTracks)+len(p.RemoveTracks)+
		len(p.AddTalks)+len(p.UpdateTalks)+len(p.RemoveTalks) == 0
}

// PlanImport compares tt with the event's current tracks and talks and
// returns the changes that make the event hold tt:
//   - rooms match tracks by Track.Room, then by slug; unmatched rooms
//     become new tracks (slug from the name, made unique with slugTaken,
//     which reports slugs used anywhere, by any event);
//   - talks match by guid; a talk whose content differs is updated in
//     place, a new guid is added, an imported talk (with a guid) missing
//     from tt is removed, and talks created in kast (no guid) are kept;
//   - tracks imported before (Room set) whose room is gone are removed,
//     with the talks made in kast on them. Tracks made in kast are kept.
//
// A store applies a plan in this order, in one transaction: add and update
// tracks, add and update talks (a talk moving to a new track keeps its
// id), remove talks, remove tracks.
func PlanImport(ev Event, tracks []Track, talks []Talk, tt Timetable, slugTaken func(string) bool) (ImportPlan, error) {
	if err := tt.Validate(ev); err != nil {
		return ImportPlan{}, err
	}
	var plan ImportPlan
	byRoom := map[string]Track{}
	bySlug := map[string]Track{}
	for _, t := range tracks {
		if t.Room != "" {
			byRoom[t.Room] = t
		}
		bySlug[t.Slug] = t
	}
	matched := map[int64]bool{}
	trackOfRoom := map[string]int64{} // room key -> existing track id
	planned := map[string]bool{}      // slugs given to new tracks
	for i, r := range tt.Rooms {
		slug := r.Slug
		if slug == "" {
			slug = Slugify(r.Name)
		}
		cur, ok := byRoom[r.Key]
		if !ok {
			if t, ok2 := bySlug[slug]; ok2 && !matched[t.ID] && (t.Room == "" || !roomListed(tt.Rooms, t.Room)) {
				cur, ok = t, true
			}
		}
		if ok && !matched[cur.ID] {
			matched[cur.ID] = true
			trackOfRoom[r.Key] = cur.ID
			want := cur
			want.Title, want.Order, want.Room = r.Name, i, r.Key
			if want != cur {
				plan.UpdateTracks = append(plan.UpdateTracks, want)
			}
			continue
		}
		slug = uniqueSlug(slug, ev.Slug, func(s string) bool { return planned[s] || bySlug[s].ID != 0 || slugTaken(s) })
		planned[slug] = true
		plan.AddTracks = append(plan.AddTracks, Track{EventID: ev.ID, Slug: slug, Title: r.Name, Order: i, Room: r.Key})
	}
	removedTrack := map[int64]bool{}
	for _, t := range tracks {
		if t.Room != "" && !matched[t.ID] {
			plan.RemoveTracks = append(plan.RemoveTracks, t)
			removedTrack[t.ID] = true
		}
	}

	byGUID := map[string]Talk{}
	for _, t := range talks {
		if t.GUID != "" {
			byGUID[t.GUID] = t
		}
	}
	seen := map[string]bool{}
	for _, in := range tt.Talks {
		seen[in.GUID] = true
		in.Talk.EventID = ev.ID
		in.Talk.Normalize()
		cur, ok := byGUID[in.GUID]
		if !ok {
			in.Talk.ID, in.Talk.TrackID = 0, 0
			plan.AddTalks = append(plan.AddTalks, in)
			continue
		}
		// Updated in place, even when it moves to another (maybe new)
		// track: its id stays, and with it on-air and recordings.
		in.Talk.ID, in.Talk.TrackID = cur.ID, 0
		if id, ok := trackOfRoom[in.Room]; ok {
			in.Talk.TrackID = id
			if in.Talk.Same(cur) {
				plan.Unchanged++
				continue
			}
		}
		plan.UpdateTalks = append(plan.UpdateTalks, in)
	}
	for _, t := range talks {
		if (t.GUID != "" && !seen[t.GUID]) || (t.GUID == "" && removedTrack[t.TrackID]) {
			plan.RemoveTalks = append(plan.RemoveTalks, t)
		}
	}
	sort.Slice(plan.RemoveTalks, func(i, j int) bool { return plan.RemoveTalks[i].Start.Before(plan.RemoveTalks[j].Start) })
	return plan, nil
}

func roomListed(rooms []Room, key string) bool {
	for _, r := range rooms {
		if r.Key == key {
			return true
		}
	}
	return false
}

// uniqueSlug returns slug, or when taken eventSlug-slug, then -2, -3...
func uniqueSlug(slug, eventSlug string, taken func(string) bool) string {
	if !taken(slug) {
		return slug
	}
	base := slug
	if s := eventSlug + "-" + slug; len(s) <= MaxSlugLen {
		base = s
		if !taken(s) {
			return s
		}
	}
	for n := 2; ; n++ {
		suffix := "-" + strconv.Itoa(n)
		s := base
		if len(s)+len(suffix) > MaxSlugLen {
			s = s[:MaxSlugLen-len(suffix)]
		}
		if s += suffix; !taken(s) {
			return s
		}
	}
}

// ImportReport says what an import changed (or, in a dry run, would
// change).
type ImportReport struct {
	DryRun    bool
	Tracks    TrackChanges
	Talks     TalkChanges
	Unchanged int
}

// Changed reports whether the import changed anything.
func (r ImportReport) Changed() bool {
	return len(r.Tracks.Added)+len(r.Tracks.Updated)+len(r.Tracks.Removed)+
		len(r.Talks.Added)+len(r.Talks.Updated)+len(r.Talks.Removed) > 0
}

// TrackChanges lists changed tracks by slug.
type TrackChanges struct {
	Added, Updated, Removed []string
}

// TalkChanges lists changed talks.
type TalkChanges struct {
	Added, Updated, Removed []TalkRef
}

// TalkRef names a talk in a report.
type TalkRef struct {
	ID    int64 // 0 for a talk not stored yet (a dry run's additions)
	GUID  string
	Title string
	Start time.Time
}

// Report describes the plan; ids of added things are filled in by the
// store after applying.
func (p ImportPlan) Report(dryRun bool) ImportReport {
	r := ImportReport{DryRun: dryRun, Unchanged: p.Unchanged}
	for _, t := range p.AddTracks {
		r.Tracks.Added = append(r.Tracks.Added, t.Slug)
	}
	for _, t := range p.UpdateTracks {
		r.Tracks.Updated = append(r.Tracks.Updated, t.Slug)
	}
	for _, t := range p.RemoveTracks {
		r.Tracks.Removed = append(r.Tracks.Removed, t.Slug)
	}
	ref := func(t Talk) TalkRef { return TalkRef{ID: t.ID, GUID: t.GUID, Title: t.Title, Start: t.Start} }
	for _, t := range p.AddTalks {
		r.Talks.Added = append(r.Talks.Added, ref(t.Talk))
	}
	for _, t := range p.UpdateTalks {
		r.Talks.Updated = append(r.Talks.Updated, ref(t.Talk))
	}
	for _, t := range p.RemoveTalks {
		r.Talks.Removed = append(r.Talks.Removed, ref(t))
	}
	return r
}

// String summarizes the report for logs.
func (r ImportReport) String() string {
	return fmt.Sprintf("tracks +%d ~%d -%d, talks +%d ~%d -%d, %d unchanged",
		len(r.Tracks.Added), len(r.Tracks.Updated), len(r.Tracks.Removed),
		len(r.Talks.Added), len(r.Talks.Updated), len(r.Talks.Removed), r.Unchanged)
}
