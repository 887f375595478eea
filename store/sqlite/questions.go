package sqlite

import (
	"context"
	"database/sql"

	"github.com/kastlive/kast/conference"
)

var _ conference.QuestionStore = (*Store)(nil)

const questionCols = `id, track_id, account_id, author, body, votes, answered, hidden, created_at`

func scanQuestion(r scanner) (conference.Question, error) {
	var q conference.Question
	var answered, hidden int
	var created int64
	if err := r.Scan(&q.ID, &q.TrackID, &q.AccountID, &q.Author, &q.Body, &q.Votes, &answered, &hidden, &created); err != nil {
		return conference.Question{}, notFound(err)
	}
	q.Answered, q.Hidden, q.CreatedAt = answered != 0, hidden != 0, millisTime(created)
	return q, nil
}

// AddQuestion implements conference.QuestionStore.
func (s *Store) AddQuestion(ctx context.Context, q conference.Question) (conference.Question, error) {
	id, err := s.insertID(ctx, `INSERT INTO questions (track_id, account_id, author, body, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, q.TrackID, q.AccountID, q.Author, q.Body, q.CreatedAt.UnixMilli())
	if err != nil {
		return conference.Question{}, err
	}
	q.ID, q.Votes, q.Answered, q.Hidden = id, 0, false, false
	return q, nil
}

// Questions implements conference.QuestionStore.
func (s *Store) Questions(ctx context.Context, trackID int64, withHidden bool) ([]conference.Question, error) {
	q := `SELECT ` + questionCols + ` FROM questions WHERE track_id = ?`
	if !withHidden {
		q += ` AND hidden = 0`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY votes DESC, id LIMIT ?`, trackID, conference.MaxQuestions)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []conference.Question
	for rows.Next() {
		q, err := scanQuestion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// QuestionByID implements conference.QuestionStore.
func (s *Store) QuestionByID(ctx context.Context, id int64) (conference.Question, error) {
	return scanQuestion(s.db.QueryRowContext(ctx, `SELECT `+questionCols+` FROM questions WHERE id = ?`, id))
}

// Vote implements conference.QuestionStore: the vote row and the count
// change in one transaction, so the count is always the number of rows.
func (s *Store) Vote(ctx context.Context, questionID, accountID int64, up bool) (conference.Question, error) {
	var q conference.Question
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if up {
			res, err = tx.ExecContext(ctx, `INSERT INTO question_votes (question_id, account_id) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, questionID, accountID)
		} else {
			res, err = tx.ExecContext(ctx, `DELETE FROM question_votes WHERE question_id = ? AND account_id = ?`, questionID, accountID)
		}
		if err != nil {
			return notFound(err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			delta := 1
			if !up {
				delta = -1
			}
			if _, err := tx.ExecContext(ctx, `UPDATE questions SET votes = votes + ? WHERE id = ?`, delta, questionID); err != nil {
				return err
			}
		}
		q, err = scanQuestion(tx.QueryRowContext(ctx, `SELECT `+questionCols+` FROM questions WHERE id = ?`, questionID))
		return err
	})
	if isForeignKeyViolation(err) {
		return conference.Question{}, conference.ErrNotFound
	}
	return q, err
}

// VotedQuestions implements conference.QuestionStore.
func (s *Store) VotedQuestions(ctx context.Context, trackID, accountID int64) (map[int64]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT v.question_id FROM question_votes v JOIN questions q ON q.id = v.question_id
		WHERE q.track_id = ? AND v.account_id = ?`, trackID, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// SetQuestionState implements conference.QuestionStore.
func (s *Store) SetQuestionState(ctx context.Context, id int64, answered, hidden *bool) (conference.Question, error) {
	var q conference.Question
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if q, err = scanQuestion(tx.QueryRowContext(ctx, `SELECT `+questionCols+` FROM questions WHERE id = ?`, id)); err != nil {
			return err
		}
		if answered != nil {
			q.Answered = *answered
		}
		if hidden != nil {
			q.Hidden = *hidden
		}
		_, err = tx.ExecContext(ctx, `UPDATE questions SET answered = ?, hidden = ? WHERE id = ?`, boolInt(q.Answered), boolInt(q.Hidden), id)
		return err
	})
	return q, err
}
