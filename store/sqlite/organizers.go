package sqlite

import (
	"context"
	"database/sql"

	"github.com/kastlive/kast/conference"
)

var _ conference.OrganizerAccountStore = (*Store)(nil)

// IsOrganizer implements conference.OrganizerStore.
func (s *Store) IsOrganizer(ctx context.Context, accountID int64) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM organizers WHERE account_id = ?`, accountID).Scan(&n)
	return n > 0, err
}

// SetOrganizer implements conference.OrganizerStore.
func (s *Store) SetOrganizer(ctx context.Context, accountID int64, on bool) error {
	if !on {
		_, err := s.exec(ctx, `DELETE FROM organizers WHERE account_id = ?`, accountID)
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO organizers (account_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, accountID, nowMillis())
	if isForeignKeyViolation(err) {
		return conference.ErrNotFound
	}
	return err
}

// Organizers implements conference.OrganizerStore.
func (s *Store) Organizers(ctx context.Context) ([]conference.Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountCols+` FROM organizers o JOIN accounts a ON a.id = o.account_id ORDER BY o.created_at, a.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []conference.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateOrganizer implements conference.OrganizerAccountStore.
func (s *Store) CreateOrganizer(ctx context.Context, acct conference.Account) (conference.Account, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO accounts (email, name, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			acct.Email, acct.Name, acct.PasswordHash, acct.CreatedAt.UnixMilli()).Scan(&acct.ID); err != nil {
			return conflict(err, "email")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO organizers (account_id, created_at) VALUES (?, ?)`, acct.ID, nowMillis())
		return err
	})
	if err != nil {
		return conference.Account{}, err
	}
	return acct, nil
}
