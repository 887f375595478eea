package conference

import (
	"context"
	"time"
)

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

// OrganizerAccountStore also creates accounts that are organizers from
// the start (an organizer need not register for an event).
type OrganizerAccountStore interface {
	OrganizerStore
	// CreateOrganizer stores a new account (ID set by the store) with the
	// organizer role in one transaction; an email in use is ErrConflict.
	CreateOrganizer(ctx context.Context, acct Account) (Account, error)
}

// NewOrganizerAccount validates an organizer's name, email and password
// like an attendee's and returns the account to store, password hashed.
func NewOrganizerAccount(ctx context.Context, name, email, password string, now time.Time) (Account, error) {
	email = NormalizeEmail(email)
	if err := CheckEmail(email); err != nil {
		return Account{}, err
	}
	if err := CheckAccountName(name); err != nil {
		return Account{}, err
	}
	if err := CheckPassword(password); err != nil {
		return Account{}, err
	}
	hash, err := HashPassword(ctx, password, DefaultPasswordParams)
	if err != nil {
		return Account{}, err
	}
	return Account{Email: email, Name: name, PasswordHash: hash, CreatedAt: now.Truncate(time.Millisecond)}, nil
}
