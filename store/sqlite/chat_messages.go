package sqlite

import (
	"context"
	"database/sql"

	"github.com/kastlive/kast/conference"
)

var _ conference.ChatStore = (*Store)(nil)

const messageCols = `id, track_id, account_id, author, body, reply_to, hidden, created_at`

func scanMessage(r scanner) (conference.ChatMessage, error) {
	var m conference.ChatMessage
	var reply sql.NullInt64
	var hidden int
	var created int64
	if err := r.Scan(&m.ID, &m.TrackID, &m.AccountID, &m.Author, &m.Body, &reply, &hidden, &created); err != nil {
		return conference.ChatMessage{}, notFound(err)
	}
	m.ReplyTo, m.Hidden, m.CreatedAt = reply.Int64, hidden != 0, millisTime(created)
	return m, nil
}

// AddMessage implements conference.ChatStore.
func (s *Store) AddMessage(ctx context.Context, m conference.ChatMessage) (conference.ChatMessage, error) {
	var reply any
	if m.ReplyTo != 0 {
		reply = m.ReplyTo
	}
	id, err := s.insertID(ctx, `INSERT INTO chat_messages (track_id, account_id, author, body, reply_to, hidden, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.TrackID, m.AccountID, m.Author, m.Body, reply, boolInt(m.Hidden), m.CreatedAt.UnixMilli())
	if err != nil {
		return conference.ChatMessage{}, err
	}
	m.ID = id
	return m, nil
}

// Messages implements conference.ChatStore.
func (s *Store) Messages(ctx context.Context, trackID int64, limit int, withHidden bool) ([]conference.ChatMessage, error) {
	q := `SELECT ` + messageCols + ` FROM chat_messages WHERE track_id = ?`
	if !withHidden {
		q += ` AND hidden = 0`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, trackID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []conference.ChatMessage
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// MessageByID implements conference.ChatStore.
func (s *Store) MessageByID(ctx context.Context, id int64) (conference.ChatMessage, error) {
	return scanMessage(s.db.QueryRowContext(ctx, `SELECT `+messageCols+` FROM chat_messages WHERE id = ?`, id))
}

// SetMessageHidden implements conference.ChatStore.
func (s *Store) SetMessageHidden(ctx context.Context, id int64, hidden bool) (conference.ChatMessage, error) {
	var m conference.ChatMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, `UPDATE chat_messages SET hidden = ? WHERE id = ?`, boolInt(hidden), id)); err != nil {
			return err
		}
		var err error
		m, err = scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageCols+` FROM chat_messages WHERE id = ?`, id))
		return err
	})
	return m, err
}
