package conference

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned when a looked-up event, track, talk, account,
// registration, session or secret does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule, such as a
// track slug already used by another track.
var ErrConflict = errors.New("conflict")

// ErrVenueFull is returned by a registration for offline participation when
// every offline seat of the event is taken. Online participation is still
// open.
var ErrVenueFull = errors.New("the venue is full: register to watch online")

// ErrUnauthenticated is returned for a wrong email/password pair, an unknown
// or expired session token, and a password that does not match an existing
// account. It never says which.
var ErrUnauthenticated = errors.New("wrong email or password")

// FieldError is a validation failure of one input field. Field is the
// field's name as clients send it (JSON names: "start", "speakers[0].name").
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// fieldErr returns a *FieldError.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// WithPrefix returns err with its field name prefixed ("talks[3]." + field)
// when it is a *FieldError, and err unchanged otherwise.
func WithPrefix(prefix string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: prefix + fe.Field, Msg: fe.Msg}
	}
	return err
}

// AlreadyCheckedInError is returned by a check-in of a ticket that was
// checked in before; At says when.
type AlreadyCheckedInError struct {
	Registration Registration
	At           time.Time
}

func (e *AlreadyCheckedInError) Error() string {
	return "ticket already checked in at " + e.At.UTC().Format(time.RFC3339)
}
