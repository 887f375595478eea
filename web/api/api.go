// Package api is kast's JSON API under /api/v1 (docs/api.md): public
// reads of events, tracks and the timetable, organizer writes with the
// admin token, attendee registration and login with a session cookie.
// web/routes.go maps the paths to the handler methods, one file per
// resource here.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/ingest"
)

// Hub is what the API needs from the ingest hub: whether a track is live,
// and dropping its publisher (a rotated stream key, a deleted track).
// *ingest.Hub implements it.
type Hub interface {
	Live(track string) *ingest.Stream
	Disconnect(track string) bool
}

// ViewerCounter tells how many viewers watch a track now.
type ViewerCounter interface {
	Viewers(track string) int
}

// Recordings tells whether a talk has a recording (recorder/), so that its
// API object links to it.
type Recordings interface {
	TalkRecording(talkID int64) (Recording, bool)
}

// Recording is what the API says of a talk's recording.
type Recording struct {
	Duration time.Duration
	Size     int64
	Live     bool // the talk is still on air: the recording grows
}

// Limits and defaults.
const (
	maxJSONBody          = 64 << 10
	DefaultTimetableSize = 8 << 20
	DefaultSyncTimeout   = 20 * time.Second
	storeTimeout         = 10 * time.Second
)

// Handler serves the API. Store is required; every other field has a
// working default (Initialize fills them).
type Handler struct {
	Store conference.Store
	// Hub reports live tracks and drops publishers; nil: nothing is live.
	Hub Hub
	// Viewers counts viewers per track; nil: 0 everywhere.
	Viewers ViewerCounter
	// Chat serves the chat and Q&A (chat.go); nil: not enabled.
	Chat *conference.Chat
	// Organizers keeps the organizer role (organizers.go); nil: only the
	// admin token organizes.
	Organizers conference.OrganizerAccountStore
	// Health reports live publishers' ingest health and History the
	// viewers over the last hour (ingest.go); both optional.
	Health  HealthSource
	History *ViewerHistory
	// Recordings links talks to their recordings; nil: none.
	Recordings Recordings
	// OnLogout is told of each session a logout ends, before it ends:
	// the playback gate revokes the tokens issued to it.
	OnLogout func(sessionID int64)
	// Feed receives every change (on-air, events, tracks, timetable).
	Feed *conference.Feed
	// Scheduler switches on-air; nil: one on Store and Feed.
	Scheduler *conference.Scheduler
	Accounts  *conference.Accounts
	Sessions  *conference.Sessions
	// SecureCookies marks session cookies Secure even on plain HTTP
	// requests (kast behind a TLS-terminating proxy). Requests that came
	// over TLS always get Secure cookies.
	SecureCookies bool
	// LoginLimit and RegisterLimit bound attempts per client address
	// (IPv4 address, IPv6 /64).
	LoginLimit    RateLimit
	RegisterLimit RateLimit
	// Fetch fetches timetables for /timetable/sync; nil: a client with
	// SyncTimeout.
	Fetch       *http.Client
	SyncTimeout time.Duration
	// MaxTimetableBytes bounds an uploaded or fetched timetable.
	MaxTimetableBytes int64
	Log               *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	csrf       *http.CrossOriginProtection
	loginRL    *rateLimiter
	registerRL *rateLimiter
}

// Default rate limits: a burst, then one attempt per interval.
var (
	DefaultLoginLimit    = RateLimit{Burst: 10, Every: 6 * time.Second}
	DefaultRegisterLimit = RateLimit{Burst: 20, Every: 10 * time.Second}
)

// Initialize fills the defaults. Call it once before serving.
func (h *Handler) Initialize() {
	if h.Log == nil {
		h.Log = slog.Default()
	}
	if h.Feed == nil {
		h.Feed = &conference.Feed{}
	}
	if h.Scheduler == nil {
		h.Scheduler = &conference.Scheduler{Store: h.Store, Feed: h.Feed, Now: h.Now, Log: h.Log}
	}
	if h.Accounts == nil {
		h.Accounts = &conference.Accounts{Store: h.Store, Now: h.Now}
	}
	if h.Sessions == nil {
		h.Sessions = &conference.Sessions{Store: h.Store, Now: h.Now}
	}
	if h.LoginLimit == (RateLimit{}) {
		h.LoginLimit = DefaultLoginLimit
	}
	if h.RegisterLimit == (RateLimit{}) {
		h.RegisterLimit = DefaultRegisterLimit
	}
	if h.SyncTimeout <= 0 {
		h.SyncTimeout = DefaultSyncTimeout
	}
	if h.Fetch == nil {
		h.Fetch = &http.Client{
			Timeout: h.SyncTimeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return errTooManyRedirects
				}
				return nil
			},
		}
	}
	if h.MaxTimetableBytes <= 0 {
		h.MaxTimetableBytes = DefaultTimetableSize
	}
	h.csrf = http.NewCrossOriginProtection()
	h.loginRL = newRateLimiter(h.LoginLimit, h.now)
	h.registerRL = newRateLimiter(h.RegisterLimit, h.now)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) publish(c conference.Change) {
	if c.At.IsZero() {
		c.At = h.now()
	}
	h.Feed.Publish(c)
}

func (h *Handler) live(track string) bool { return h.Hub != nil && h.Hub.Live(track) != nil }

func (h *Handler) viewers(track string) int {
	if h.Viewers == nil {
		return 0
	}
	return h.Viewers.Viewers(track)
}

// disconnect drops the track's publisher, if any.
func (h *Handler) disconnect(track string) bool {
	if h.Hub == nil {
		return false
	}
	return h.Hub.Disconnect(track)
}
