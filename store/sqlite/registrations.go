package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/kastlive/kast/conference"
)

const registrationCols = `r.id, r.event_id, r.account_id, r.affiliation, r.participation, r.consent_terms, r.consent_contact,
	r.ticket, r.created_at, r.checked_in_at`

func scanRegistration(r scanner, extra ...any) (conference.Registration, error) {
	var g conference.Registration
	var terms, contact int
	var created int64
	var checked sql.NullInt64
	dest := append([]any{&g.ID, &g.EventID, &g.AccountID, &g.Affiliation, &g.Participation, &terms, &contact,
		&g.Ticket, &created, &checked}, extra...)
	if err := r.Scan(dest...); err != nil {
		return conference.Registration{}, notFound(err)
	}
	g.ConsentTerms, g.ConsentContact = terms != 0, contact != 0
	g.CreatedAt, g.CheckedInAt = millisTime(created), nullTime(checked)
	return g, nil
}

// Register implements conference.RegistrationStore. The seat count and
// the insert are one statement inside an immediate transaction (SQLite
// serializes writers from BEGIN), so two registrations can never take
// the last seat both. A PostgreSQL store locks the event row (SELECT ...
// FOR UPDATE) before the same statement.
func (s *Store) Register(ctx context.Context, acct conference.Account, reg conference.Registration) (conference.Account, conference.Registration, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if acct.ID == 0 {
			err := tx.QueryRowContext(ctx, `INSERT INTO accounts (email, name, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
				acct.Email, acct.Name, acct.PasswordHash, acct.CreatedAt.UnixMilli()).Scan(&acct.ID)
			if err != nil {
				return conflict(err, "email")
			}
		}
		reg.AccountID = acct.ID
		err := tx.QueryRowContext(ctx, `INSERT INTO registrations
			(event_id, account_id, affiliation, participation, consent_terms, consent_contact, ticket, created_at)
			SELECT e.id, ?, ?, ?, ?, ?, ?, ? FROM events e WHERE e.id = ?
				AND (? = 'online' OR (SELECT COUNT(*) FROM registrations x
					WHERE x.event_id = e.id AND x.participation = 'offline') < e.offline_capacity)
			RETURNING id`,
			reg.AccountID, reg.Affiliation, reg.Participation, boolInt(reg.ConsentTerms), boolInt(reg.ConsentContact),
			reg.Ticket, reg.CreatedAt.UnixMilli(), reg.EventID, reg.Participation).Scan(&reg.ID)
		if err == sql.ErrNoRows {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE id = ?`, reg.EventID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return conference.ErrNotFound
			}
			return conference.ErrVenueFull
		}
		return conflict(err, "registration")
	})
	if err != nil {
		return conference.Account{}, conference.Registration{}, err
	}
	return acct, reg, nil
}

// RegistrationFor implements conference.RegistrationStore.
func (s *Store) RegistrationFor(ctx context.Context, eventID, accountID int64) (conference.Registration, error) {
	return scanRegistration(s.db.QueryRowContext(ctx, `SELECT `+registrationCols+` FROM registrations r
		WHERE r.event_id = ? AND r.account_id = ?`, eventID, accountID))
}

// AccountRegistrations implements conference.RegistrationStore.
func (s *Store) AccountRegistrations(ctx context.Context, accountID int64) ([]conference.Registration, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+registrationCols+` FROM registrations r WHERE r.account_id = ? ORDER BY r.id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var regs []conference.Registration
	for rows.Next() {
		g, err := scanRegistration(rows)
		if err != nil {
			return nil, err
		}
		regs = append(regs, g)
	}
	return regs, rows.Err()
}

// EventRegistrations implements conference.RegistrationStore.
func (s *Store) EventRegistrations(ctx context.Context, eventID int64) ([]conference.Registration, []conference.Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+registrationCols+`, a.email, a.name FROM registrations r
		JOIN accounts a ON a.id = r.account_id WHERE r.event_id = ? ORDER BY r.id`, eventID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var regs []conference.Registration
	var accts []conference.Account
	for rows.Next() {
		var a conference.Account
		g, err := scanRegistration(rows, &a.Email, &a.Name)
		if err != nil {
			return nil, nil, err
		}
		a.ID = g.AccountID
		regs, accts = append(regs, g), append(accts, a)
	}
	return regs, accts, rows.Err()
}

// OfflineCount implements conference.RegistrationStore.
func (s *Store) OfflineCount(ctx context.Context, eventID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM registrations WHERE event_id = ? AND participation = 'offline'`, eventID).Scan(&n)
	return n, err
}

// CheckIn implements conference.RegistrationStore: the first check-in of
// a ticket wins, whatever runs at the same time.
func (s *Store) CheckIn(ctx context.Context, eventID int64, ticket string, at time.Time) (conference.Registration, conference.Account, error) {
	var reg conference.Registration
	var acct conference.Account
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		reg, err = scanRegistration(tx.QueryRowContext(ctx, `SELECT `+registrationCols+`, a.email, a.name FROM registrations r
			JOIN accounts a ON a.id = r.account_id WHERE r.event_id = ? AND r.ticket = ?`, eventID, ticket), &acct.Email, &acct.Name)
		if err != nil {
			return err
		}
		acct.ID = reg.AccountID
		if !reg.CheckedInAt.IsZero() {
			return &conference.AlreadyCheckedInError{Registration: reg, At: reg.CheckedInAt}
		}
		if reg.Participation != conference.ParticipationOffline {
			return &conference.FieldError{Field: "ticket", Msg: "is registered for online participation: no seat at the venue"}
		}
		if err := affected(tx.ExecContext(ctx, `UPDATE registrations SET checked_in_at = ? WHERE id = ? AND checked_in_at IS NULL`,
			at.UnixMilli(), reg.ID)); err != nil {
			return err
		}
		reg.CheckedInAt = millisTime(at.UnixMilli())
		return nil
	})
	if err != nil {
		return conference.Registration{}, conference.Account{}, err
	}
	return reg, acct, nil
}
