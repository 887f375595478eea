package conference

import (
	"net/mail"
	"strings"
	"time"
)

// Account is a person who can log in: an attendee (organizers use the
// admin token).
type Account struct {
	ID    int64
	Email string // normalized: see NormalizeEmail
	Name  string
	// PasswordHash is an argon2id PHC string (see HashPassword).
	PasswordHash string
	CreatedAt    time.Time
}

// NormalizeEmail trims and lowercases an address: accounts are unique by
// the result, so Alice@Example.org and alice@example.org are one account.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CheckEmail validates a normalized email address.
func CheckEmail(email string) error {
	if email == "" {
		return fieldErr("email", "is required")
	}
	if len(email) > MaxEmailLen {
		return fieldErr("email", "is too long")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return fieldErr("email", "is not an email address")
	}
	return nil
}

// CheckPassword validates a new password's length.
func CheckPassword(pw string) error {
	if len(pw) < MinPasswordLen {
		return fieldErr("password", "must have at least %d characters", MinPasswordLen)
	}
	if len(pw) > MaxPasswordLen {
		return fieldErr("password", "must have at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// CheckAccountName validates the name an attendee registers with.
func CheckAccountName(name string) error { return checkText("name", name, true, false, MaxNameLen) }
