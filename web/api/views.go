package api

import (
	"net/url"
	"strconv"
	"time"

	"github.com/kastlive/kast/conference"
)

// The JSON shapes of the API (docs/api.md). Times are RFC 3339 in the
// event's time zone.

type eventView struct {
	ID               int64  `json:"id"`
	Slug             string `json:"slug"`
	Name             string `json:"name"`
	Start            string `json:"start,omitempty"`
	End              string `json:"end,omitempty"`
	TimeZone         string `json:"timezone"`
	Access           string `json:"access"`
	OfflineCapacity  int    `json:"offline_capacity"`
	OfflineSeatsLeft *int   `json:"offline_seats_left,omitempty"`
	Status           string `json:"status"`
	AutoOnAir        bool   `json:"auto_on_air"`
	CreatedAt        string `json:"created_at"`
}

func viewEvent(e conference.Event) eventView {
	loc := e.Location()
	return eventView{ID: e.ID, Slug: e.Slug, Name: e.Title, Start: formatTime(e.Start, loc), End: formatTime(e.End, loc),
		TimeZone: e.TimeZone, Access: string(e.Access), OfflineCapacity: e.OfflineCapacity, Status: string(e.Status),
		AutoOnAir: e.AutoOnAir, CreatedAt: formatTime(e.CreatedAt, loc)}
}

type trackView struct {
	ID      int64     `json:"id"`
	Event   string    `json:"event"`
	Slug    string    `json:"slug"`
	Name    string    `json:"name"`
	Order   int       `json:"order"`
	Room    string    `json:"room,omitempty"`
	Live    bool      `json:"live"`
	OnAir   *talkView `json:"on_air"`
	HLSURL  string    `json:"hls_url"`
	WHEPURL string    `json:"whep_url"`
	Viewers int       `json:"viewers"`
	// StreamKey is shown once: when the track is created.
	StreamKey string `json:"stream_key,omitempty"`
}

// HLSURL and WHEPURL are where a track's media is served.
func HLSURL(slug string) string  { return "/hls/" + url.PathEscape(slug) + "/index.m3u8" }
func WHEPURL(slug string) string { return "/whep/" + url.PathEscape(slug) }

type speakerView struct {
	Name string `json:"name"`
	Bio  string `json:"bio"`
}

type talkView struct {
	ID       int64         `json:"id"`
	Event    string        `json:"event"`
	Track    string        `json:"track"`
	TrackID  int64         `json:"track_id"`
	GUID     string        `json:"guid,omitempty"`
	Title    string        `json:"title"`
	Abstract string        `json:"abstract"`
	Speakers []speakerView `json:"speakers"`
	Start    string        `json:"start"`
	End      string        `json:"end"`
	Kind     string        `json:"kind"`
	Language string        `json:"language,omitempty"`
	// DoNotRecord: the speaker opted out of the recording (nothing is
	// recorded while the talk is on air).
	DoNotRecord bool `json:"do_not_record"`
	OnAir       bool `json:"on_air"`
	// Recording links to the talk's recording, once it has one.
	Recording *recordingView `json:"recording,omitempty"`
}

type recordingView struct {
	Playlist  string  `json:"playlist"` // HLS VOD
	MP4       string  `json:"mp4"`      // the whole talk, seekable
	Poster    string  `json:"poster"`
	DurationS float64 `json:"duration_s"`
	Bytes     int64   `json:"bytes"`
	Live      bool    `json:"live"`
}

// viewTalk is viewTalkOf with the talk's recording.
func (h *Handler) viewTalk(ev conference.Event, trackSlug string, t conference.Talk, onAir bool) talkView {
	v := viewTalkOf(ev, trackSlug, t, onAir)
	if h.Recordings != nil {
		if r, ok := h.Recordings.TalkRecording(t.ID); ok {
			base := "/vod/" + strconv.FormatInt(t.ID, 10) + "/"
			v.Recording = &recordingView{Playlist: base + "index.m3u8", MP4: base + "talk.mp4", Poster: base + "poster.jpg",
				DurationS: r.Duration.Seconds(), Bytes: r.Size, Live: r.Live}
		}
	}
	return v
}

func viewTalkOf(ev conference.Event, trackSlug string, t conference.Talk, onAir bool) talkView {
	loc := ev.Location()
	v := talkView{ID: t.ID, Event: ev.Slug, Track: trackSlug, TrackID: t.TrackID, GUID: t.GUID, Title: t.Title,
		Abstract: t.Abstract, Speakers: []speakerView{}, Start: formatTime(t.Start, loc), End: formatTime(t.End, loc),
		Kind: string(t.Kind), Language: t.Language, DoNotRecord: t.DoNotRecord, OnAir: onAir}
	for _, s := range t.Speakers {
		v.Speakers = append(v.Speakers, speakerView{Name: s.Name, Bio: s.Bio})
	}
	return v
}

type accountView struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	CreatedAt string `json:"created_at"`
}

func viewAccount(a conference.Account) accountView {
	return accountView{ID: a.ID, Email: a.Email, Name: a.Name, CreatedAt: formatTime(a.CreatedAt, time.UTC)}
}

type registrationView struct {
	ID             int64  `json:"id"`
	Event          string `json:"event"`
	AccountID      int64  `json:"account_id"`
	Affiliation    string `json:"affiliation"`
	Participation  string `json:"participation"`
	ConsentTerms   bool   `json:"consent_terms"`
	ConsentContact bool   `json:"consent_contact"`
	Ticket         string `json:"ticket"`
	CreatedAt      string `json:"created_at"`
	CheckedInAt    string `json:"checked_in_at,omitempty"`
	// Name and Email: in the organizer's lists.
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

func viewRegistration(eventSlug string, r conference.Registration) registrationView {
	return registrationView{ID: r.ID, Event: eventSlug, AccountID: r.AccountID, Affiliation: r.Affiliation,
		Participation: string(r.Participation), ConsentTerms: r.ConsentTerms, ConsentContact: r.ConsentContact,
		Ticket: r.Ticket, CreatedAt: formatTime(r.CreatedAt, time.UTC), CheckedInAt: formatTime(r.CheckedInAt, time.UTC)}
}

type talkRefView struct {
	ID    int64  `json:"id,omitempty"`
	GUID  string `json:"guid"`
	Title string `json:"title"`
	Start string `json:"start"`
}

type changesView[T any] struct {
	Added   []T `json:"added"`
	Updated []T `json:"updated"`
	Removed []T `json:"removed"`
}

type reportView struct {
	DryRun    bool                     `json:"dry_run"`
	Changed   bool                     `json:"changed"`
	Format    string                   `json:"format"`
	Tracks    changesView[string]      `json:"tracks"`
	Talks     changesView[talkRefView] `json:"talks"`
	Unchanged int                      `json:"unchanged"`
}

func viewReport(r conference.ImportReport, format string, loc *time.Location) reportView {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	refs := func(rs []conference.TalkRef) []talkRefView {
		out := []talkRefView{}
		for _, r := range rs {
			out = append(out, talkRefView{ID: r.ID, GUID: r.GUID, Title: r.Title, Start: formatTime(r.Start, loc)})
		}
		return out
	}
	return reportView{DryRun: r.DryRun, Changed: r.Changed(), Format: format, Unchanged: r.Unchanged,
		Tracks: changesView[string]{Added: nonNil(r.Tracks.Added), Updated: nonNil(r.Tracks.Updated), Removed: nonNil(r.Tracks.Removed)},
		Talks:  changesView[talkRefView]{Added: refs(r.Talks.Added), Updated: refs(r.Talks.Updated), Removed: refs(r.Talks.Removed)}}
}
