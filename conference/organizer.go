package conference

import "context"

// OrganizerStore keeps which accounts are organizers: they run every
// event from the organizer pages and the API with their login, as the
// admin token does. Only an admin (the token) makes or unmakes one.
type OrganizerStore interface {
	IsOrganizer(ctx context.Context, accountID int64) (bool, error)
	// SetOrganizer grants (on) or revokes the role; ErrNotFound for an
	// unknown account.
	SetOrganizer(ctx context.Context, accountID int64, on bool) error
	// Organizers returns the organizer accounts, oldest first.
	Organizers(ctx context.Context) ([]Account, error)
}
