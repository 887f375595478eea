package conference

import (
	"context"
	"errors"
	"time"
)

// RegistrationInput is what an attendee sends to register for an event.
type RegistrationInput struct {
	Name           string
	Email          string
	Password       string
	Affiliation    string
	Participation  Participation
	ConsentTerms   bool
	ConsentContact bool
}

// Accounts registers attendees and checks their passwords.
type Accounts struct {
	Store interface {
		AccountStore
		RegistrationStore
	}
	// Params are the argon2id costs of new hashes; zero means
	// DefaultPasswordParams.
	Params PasswordParams
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (a *Accounts) params() PasswordParams {
	if a.Params.Memory == 0 {
		return DefaultPasswordParams
	}
	return a.Params
}

func (a *Accounts) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Login returns the account of email if password is its password. A wrong
// password and an unknown email both give ErrUnauthenticated after the
// same argon2 work, so neither the answer nor its time says which emails
// have accounts.
func (a *Accounts) Login(ctx context.Context, email, password string) (Account, error) {
	email = NormalizeEmail(email)
	acct, err := a.Store.AccountByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) || (err == nil && len(password) > MaxPasswordLen) {
		_, _ = VerifyPassword(ctx, password[:min(len(password), MaxPasswordLen)], dummyHash())
		return Account{}, ErrUnauthenticated
	}
	if err != nil {
		return Account{}, err
	}
	ok, err := VerifyPassword(ctx, password, acct.PasswordHash)
	if err != nil {
		return Account{}, err
	}
	if !ok {
		return Account{}, ErrUnauthenticated
	}
	return acct, nil
}

// seatsLeft fails early with ErrVenueFull when no offline seat is left,
// before the password is hashed for nothing. The store's transaction
// still decides: this is only a shortcut.
func (a *Accounts) seatsLeft(ctx context.Context, ev Event, reg Registration) error {
	if reg.Participation != ParticipationOffline {
		return nil
	}
	n, err := a.Store.OfflineCount(ctx, ev.ID)
	if err != nil {
		return err
	}
	if n >= ev.OfflineCapacity {
		return ErrVenueFull
	}
	return nil
}

// Register registers an attendee for ev. With current set (a logged-in
// account) the email and password of in are not needed. Otherwise the
// account of in.Email is created when new, or must have in.Password (a
// wrong one is ErrUnauthenticated, as a failed Login); the name and the
// password's length are checked first either way.
// Account and registration are stored in one transaction: a venue that is
// full (ErrVenueFull) creates no account either. An account that is
// already registered gets its registration back with existing true.
func (a *Accounts) Register(ctx context.Context, ev Event, in RegistrationInput, current *Account) (acct Account, reg Registration, existing bool, err error) {
	reg = Registration{
		EventID:        ev.ID,
		Affiliation:    in.Affiliation,
		Participation:  in.Participation,
		ConsentTerms:   in.ConsentTerms,
		ConsentContact: in.ConsentContact,
		Ticket:         NewTicketCode(),
		CreatedAt:      a.now().Truncate(time.Millisecond),
	}
	if reg.Participation == "" {
		reg.Participation = ParticipationOnline
	}
	if err := reg.Validate(); err != nil {
		return Account{}, Registration{}, false, err
	}
	switch {
	case current != nil:
		acct = *current
	default:
		email := NormalizeEmail(in.Email)
		if err := CheckEmail(email); err != nil {
			return Account{}, Registration{}, false, err
		}
		if in.Password == "" {
			return Account{}, Registration{}, false, fieldErr("password", "is required")
		}
		// Checked before the lookup, for new and existing emails alike:
		// an answer that differed here would tell which emails have
		// accounts without creating one.
		if err := CheckAccountName(in.Name); err != nil {
			return Account{}, Registration{}, false, err
		}
		if err := CheckPassword(in.Password); err != nil {
			return Account{}, Registration{}, false, err
		}
		found, err := a.Store.AccountByEmail(ctx, email)
		switch {
		case err == nil:
			// Someone registering again, or for another event: the
			// password must be the account's.
			if ok, err := VerifyPassword(ctx, in.Password, found.PasswordHash); err != nil {
				return Account{}, Registration{}, false, err
			} else if !ok {
				return Account{}, Registration{}, false, ErrUnauthenticated
			}
			acct = found
		case errors.Is(err, ErrNotFound):
			if err := a.seatsLeft(ctx, ev, reg); err != nil {
				return Account{}, Registration{}, false, err
			}
			hash, err := HashPassword(ctx, in.Password, a.params())
			if err != nil {
				return Account{}, Registration{}, false, err
			}
			acct = Account{Email: email, Name: in.Name, PasswordHash: hash, CreatedAt: reg.CreatedAt}
		default:
			return Account{}, Registration{}, false, err
		}
	}
	if acct.ID != 0 {
		if r, err := a.Store.RegistrationFor(ctx, ev.ID, acct.ID); err == nil {
			return acct, r, true, nil
		} else if !errors.Is(err, ErrNotFound) {
			return Account{}, Registration{}, false, err
		}
	}
	acct, reg, err = a.Store.Register(ctx, acct, reg)
	if errors.Is(err, ErrConflict) && acct.ID != 0 {
		// Registered by a concurrent request of the same account.
		if r, err2 := a.Store.RegistrationFor(ctx, ev.ID, acct.ID); err2 == nil {
			return acct, r, true, nil
		}
	}
	if err != nil {
		return Account{}, Registration{}, false, err
	}
	return acct, reg, false, nil
}
