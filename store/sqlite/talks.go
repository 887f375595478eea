package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/kastlive/kast/conference"
)

const talkCols = `k.id, k.event_id, k.track_id, k.guid, k.title, k.abstract, k.kind, k.language, k.start_at, k.end_at, k.do_not_record`

func scanTalk(r scanner) (conference.Talk, error) {
	var t conference.Talk
	var guid sql.NullString
	var start, end int64
	var noRec int
	if err := r.Scan(&t.ID, &t.EventID, &t.TrackID, &guid, &t.Title, &t.Abstract, &t.Kind, &t.Language, &start, &end, &noRec); err != nil {
		return conference.Talk{}, notFound(err)
	}
	t.GUID, t.Start, t.End, t.DoNotRecord = guid.String, millisTime(start), millisTime(end), noRec != 0
	return t, nil
}

// nullGUID stores an empty guid as NULL (talks made in kast), so the
// (event_id, guid) uniqueness applies to imported talks only.
func nullGUID(g string) any {
	if g == "" {
		return nil
	}
	return g
}

// queryTalks returns the talks matching where (on alias k), with their
// speakers, in timetable order. It reads twice (talks, then speakers):
// run it in a transaction (readTx, or the writer's), so both reads see
// one state of the database.
func queryTalks(ctx context.Context, q querier, where string, args ...any) ([]conference.Talk, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+talkCols+` FROM talks k JOIN tracks t ON t.id = k.track_id `+where+
		` ORDER BY k.start_at, t.position, k.track_id, k.id`, args...)
	if err != nil {
		return nil, err
	}
	var talks []conference.Talk
	index := map[int64]int{}
	for rows.Next() {
		t, err := scanTalk(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		index[t.ID] = len(talks)
		talks = append(talks, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(talks) == 0 {
		return talks, err
	}
	rows, err = q.QueryContext(ctx, `SELECT s.talk_id, s.name, s.bio FROM talk_speakers s WHERE s.talk_id IN
		(SELECT k.id FROM talks k JOIN tracks t ON t.id = k.track_id `+where+`) ORDER BY s.talk_id, s.position`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var sp conference.Speaker
		if err := rows.Scan(&id, &sp.Name, &sp.Bio); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			talks[i].Speakers = append(talks[i].Speakers, sp)
		}
	}
	return talks, rows.Err()
}

func insertTalk(ctx context.Context, q querier, t conference.Talk) (conference.Talk, error) {
	// The id is above every id stored or ever deleted (talk_id_high):
	// never one a recording already knows.
	err := q.QueryRowContext(ctx, `INSERT INTO talks (id, event_id, track_id, guid, title, abstract, kind, language, start_at, end_at, do_not_record)
		SELECT MAX(COALESCE((SELECT MAX(id) FROM talks), 0), (SELECT high FROM talk_id_high)) + 1,
			?, id, ?, ?, ?, ?, ?, ?, ?, ? FROM tracks WHERE id = ? AND event_id = ? RETURNING id`,
		t.EventID, nullGUID(t.GUID), t.Title, t.Abstract, t.Kind, t.Language, t.Start.UnixMilli(), t.End.UnixMilli(),
		boolInt(t.DoNotRecord), t.TrackID, t.EventID).Scan(&t.ID)
	if err != nil {
		// No row: the track is not one of the event's.
		return conference.Talk{}, conflict(notFound(err), "talk guid "+t.GUID)
	}
	return t, writeSpeakers(ctx, q, t)
}

func updateTalk(ctx context.Context, q querier, t conference.Talk) error {
	err := affected(q.ExecContext(ctx, `UPDATE talks SET track_id = ?, guid = ?, title = ?, abstract = ?, kind = ?, language = ?,
		start_at = ?, end_at = ?, do_not_record = ? WHERE id = ? AND event_id = ? AND EXISTS (SELECT 1 FROM tracks WHERE id = ? AND event_id = ?)`,
		t.TrackID, nullGUID(t.GUID), t.Title, t.Abstract, t.Kind, t.Language, t.Start.UnixMilli(), t.End.UnixMilli(),
		boolInt(t.DoNotRecord), t.ID, t.EventID, t.TrackID, t.EventID))
	if err != nil {
		return conflict(err, "talk guid "+t.GUID)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM talk_speakers WHERE talk_id = ?`, t.ID); err != nil {
		return err
	}
	return writeSpeakers(ctx, q, t)
}

func writeSpeakers(ctx context.Context, q querier, t conference.Talk) error {
	if len(t.Speakers) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, 4*len(t.Speakers))
	b.WriteString(`INSERT INTO talk_speakers (talk_id, position, name, bio) VALUES `)
	for i, sp := range t.Speakers {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?)")
		args = append(args, t.ID, i, sp.Name, sp.Bio)
	}
	_, err := q.ExecContext(ctx, b.String(), args...)
	return err
}

// CreateTalk implements conference.TalkStore.
func (s *Store) CreateTalk(ctx context.Context, t conference.Talk) (conference.Talk, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = insertTalk(ctx, tx, t)
		return err
	})
	return t, err
}

// UpdateTalk implements conference.TalkStore.
func (s *Store) UpdateTalk(ctx context.Context, t conference.Talk) (conference.Talk, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error { return updateTalk(ctx, tx, t) })
	if err != nil {
		return conference.Talk{}, err
	}
	return s.TalkByID(ctx, t.ID)
}

// DeleteTalk implements conference.TalkStore.
func (s *Store) DeleteTalk(ctx context.Context, id int64) error {
	return affected(s.exec(ctx, `DELETE FROM talks WHERE id = ?`, id))
}

// TalkByID implements conference.TalkStore.
func (s *Store) TalkByID(ctx context.Context, id int64) (conference.Talk, error) {
	var ts []conference.Talk
	err := s.readTx(ctx, func(tx *sql.Tx) (err error) {
		ts, err = queryTalks(ctx, tx, `WHERE k.id = ?`, id)
		return err
	})
	if err != nil {
		return conference.Talk{}, err
	}
	if len(ts) == 0 {
		return conference.Talk{}, conference.ErrNotFound
	}
	return ts[0], nil
}

// Talks implements conference.TalkStore.
func (s *Store) Talks(ctx context.Context, f conference.TalkFilter) ([]conference.Talk, error) {
	where, args := talkWhere(f)
	var ts []conference.Talk
	err := s.readTx(ctx, func(tx *sql.Tx) (err error) {
		ts, err = queryTalks(ctx, tx, where, args...)
		return err
	})
	return ts, err
}

// talkWhere renders f as a WHERE clause and its arguments.
func talkWhere(f conference.TalkFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		conds = append(conds, cond)
		args = append(args, v)
	}
	if f.EventID != 0 {
		add("k.event_id = ?", f.EventID)
	}
	if f.TrackID != 0 {
		add("k.track_id = ?", f.TrackID)
	}
	if !f.From.IsZero() {
		add("k.start_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("k.start_at < ?", f.To.UnixMilli())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}
