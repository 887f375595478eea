package conference

import (
	"context"
	"encoding/hex"
	"errors"
)

// ErrNotRegistered is returned when an account asks to watch an event it
// has no registration for.
var ErrNotRegistered = errors.New("your account is not registered for this event")

// SessionRef names a login session for revocations (a logout ends the
// playback tokens issued to it): the hex of its token's hash. Unlike the
// session's row id, which SQLite hands to the next session once this one
// is deleted, it is unique to the session and never reused.
func SessionRef(s Session) string { return hex.EncodeToString(s.TokenHash) }

// Viewer is a login session allowed to watch an event's media.
type Viewer struct {
	EventID   int64
	AccountID int64
	// SessionRef is the session's SessionRef.
	SessionRef string
}

// Playback decides who may watch a registered event: the playback gate
// asks it once per token it issues.
type Playback struct {
	Sessions *Sessions
	Store    interface {
		EventStore
		RegistrationStore
	}
	// Organizers, when set, lets organizer accounts watch (and moderate)
	// every event without a registration.
	Organizers OrganizerStore
}

// Viewer returns the viewer of the login session token (the session
// cookie) at the event with slug event: ErrUnauthenticated without a
// valid session, ErrNotFound for an unknown event, ErrNotRegistered when
// the account has no registration for it and is no organizer.
func (p *Playback) Viewer(ctx context.Context, sessionToken, event string) (Viewer, error) {
	acct, sess, err := p.Sessions.Authenticate(ctx, sessionToken)
	if err != nil {
		return Viewer{}, err
	}
	ev, err := p.Store.EventBySlug(ctx, event)
	if err != nil {
		return Viewer{}, err
	}
	who := Viewer{EventID: ev.ID, AccountID: acct.ID, SessionRef: SessionRef(sess)}
	if _, err := p.Store.RegistrationFor(ctx, ev.ID, acct.ID); errors.Is(err, ErrNotFound) {
		if p.Organizers != nil {
			if is, err := p.Organizers.IsOrganizer(ctx, acct.ID); err != nil {
				return Viewer{}, err
			} else if is {
				return who, nil
			}
		}
		return Viewer{}, ErrNotRegistered
	} else if err != nil {
		return Viewer{}, err
	}
	return who, nil
}
