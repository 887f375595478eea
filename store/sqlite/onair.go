package sqlite

import (
	"context"
	"database/sql"

	"github.com/kastlive/kast/conference"
)

func scanOnAir(r scanner) (conference.OnAir, error) {
	var o conference.OnAir
	var talk, until sql.NullInt64
	var manual int
	var changed int64
	if err := r.Scan(&o.TrackID, &talk, &manual, &until, &changed); err != nil {
		return conference.OnAir{}, err
	}
	o.TalkID, o.Manual, o.ManualUntil, o.ChangedAt = talk.Int64, manual != 0, nullTime(until), millisTime(changed)
	return o, nil
}

// OnAir implements conference.OnAirStore.
func (s *Store) OnAir(ctx context.Context, trackID int64) (conference.OnAir, error) {
	o, err := scanOnAir(s.db.QueryRowContext(ctx,
		`SELECT track_id, talk_id, manual, manual_until, changed_at FROM on_air WHERE track_id = ?`, trackID))
	if err == sql.ErrNoRows {
		return conference.OnAir{TrackID: trackID}, nil
	}
	return o, err
}

// SetOnAir implements conference.OnAirStore. The talk must be on the
// track: the statement inserts nothing otherwise.
func (s *Store) SetOnAir(ctx context.Context, o conference.OnAir) error {
	if o.ChangedAt.IsZero() {
		o.ChangedAt = millisTime(nowMillis())
	}
	var talk any
	if o.TalkID != 0 {
		talk = o.TalkID
	}
	return affected(s.exec(ctx, `INSERT INTO on_air (track_id, talk_id, manual, manual_until, changed_at)
		SELECT t.id, ?, ?, ?, ? FROM tracks t WHERE t.id = ?
			AND (? IS NULL OR EXISTS (SELECT 1 FROM talks k WHERE k.id = ? AND k.track_id = t.id))
		ON CONFLICT (track_id) DO UPDATE SET talk_id = excluded.talk_id, manual = excluded.manual,
			manual_until = excluded.manual_until, changed_at = excluded.changed_at`,
		talk, boolInt(o.Manual), millis(o.ManualUntil), millis(o.ChangedAt), o.TrackID, talk, talk))
}

// EventOnAir implements conference.OnAirStore.
func (s *Store) EventOnAir(ctx context.Context, eventID int64) (map[int64]conference.OnAir, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT o.track_id, o.talk_id, o.manual, o.manual_until, o.changed_at
		FROM on_air o JOIN tracks t ON t.id = o.track_id WHERE t.event_id = ?`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[int64]conference.OnAir{}
	for rows.Next() {
		o, err := scanOnAir(rows)
		if err != nil {
			return nil, err
		}
		m[o.TrackID] = o
	}
	return m, rows.Err()
}
