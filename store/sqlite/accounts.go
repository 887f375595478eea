package sqlite

import (
	"context"

	"github.com/kastlive/kast/conference"
)

const accountCols = `a.id, a.email, a.name, a.password_hash, a.created_at`

func scanAccount(r scanner) (conference.Account, error) {
	var a conference.Account
	var created int64
	if err := r.Scan(&a.ID, &a.Email, &a.Name, &a.PasswordHash, &created); err != nil {
		return conference.Account{}, notFound(err)
	}
	a.CreatedAt = millisTime(created)
	return a, nil
}

// AccountByEmail implements conference.AccountStore.
func (s *Store) AccountByEmail(ctx context.Context, email string) (conference.Account, error) {
	return scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts a WHERE a.email = ?`, email))
}

// AccountByID implements conference.AccountStore.
func (s *Store) AccountByID(ctx context.Context, id int64) (conference.Account, error) {
	return scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts a WHERE a.id = ?`, id))
}
