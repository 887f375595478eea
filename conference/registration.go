package conference

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
)

// Participation says how an attendee takes part.
type Participation string

// Participation modes.
const (
	ParticipationOnline  Participation = "online"
	ParticipationOffline Participation = "offline"
)

// Registration is an account's place at one event.
type Registration struct {
	ID            int64
	EventID       int64
	AccountID     int64
	Affiliation   string
	Participation Participation
	// ConsentTerms: the attendee accepted the event's terms and code of
	// conduct. ConsentContact: the organizers may contact them about
	// later events.
	ConsentTerms   bool
	ConsentContact bool
	// Ticket is the code shown at the venue (printed or as a QR code):
	// random and unguessable, see NewTicketCode.
	Ticket      string
	CreatedAt   time.Time
	CheckedInAt time.Time // zero until checked in
}

// Validate checks the registration's own fields.
func (r Registration) Validate() error {
	if err := checkText("affiliation", r.Affiliation, false, false, MaxNameLen); err != nil {
		return err
	}
	switch r.Participation {
	case ParticipationOnline, ParticipationOffline:
	default:
		return fieldErr("participation", "must be online or offline")
	}
	return nil
}

// ticketEncoding: Crockford-like base32 without padding, upper case, no
// ambiguous look-alikes once read aloud at a desk.
var ticketEncoding = base32.NewEncoding("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").WithPadding(base32.NoPadding)

// NewTicketCode returns a random ticket code: 100 bits from crypto/rand in
// 20 base32 characters, grouped by 5 with hyphens (ABCDE-FGHJK-...).
func NewTicketCode() string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	s := ticketEncoding.EncodeToString(b)[:20]
	return s[0:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:20]
}

// NormalizeTicket returns a ticket code as typed or scanned (lower case,
// spaces, missing hyphens) in its canonical form.
func NormalizeTicket(s string) string {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s)))
	if len(s) != 20 {
		return s
	}
	return s[0:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:20]
}
