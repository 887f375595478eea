package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kastlive/kast/conference"
)

const eventCols = `id, slug, title, start_at, end_at, time_zone, access, offline_capacity, status, auto_on_air, created_at`

func scanEvent(r scanner) (conference.Event, error) {
	var e conference.Event
	var start, end sql.NullInt64
	var created int64
	var auto int
	err := r.Scan(&e.ID, &e.Slug, &e.Title, &start, &end, &e.TimeZone, &e.Access, &e.OfflineCapacity, &e.Status, &auto, &created)
	if err != nil {
		return conference.Event{}, notFound(err)
	}
	e.Start, e.End, e.AutoOnAir, e.CreatedAt = nullTime(start), nullTime(end), auto != 0, millisTime(created)
	return e, nil
}

// CreateEvent implements conference.EventStore.
func (s *Store) CreateEvent(ctx context.Context, ev conference.Event) (conference.Event, error) {
	ev.CreatedAt = millisTime(nowMillis())
	var err error
	ev.ID, err = s.insertID(ctx, `INSERT INTO events
		(slug, title, start_at, end_at, time_zone, access, offline_capacity, status, auto_on_air, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		ev.Slug, ev.Title, millis(ev.Start), millis(ev.End), ev.TimeZone, ev.Access, ev.OfflineCapacity, ev.Status,
		boolInt(ev.AutoOnAir), ev.CreatedAt.UnixMilli())
	if err != nil {
		return conference.Event{}, conflict(err, "event slug "+ev.Slug)
	}
	return ev, nil
}

// UpdateEvent implements conference.EventStore: the talks are checked
// against the new dates in the transaction that writes them, so a talk
// added meanwhile cannot end up outside the event.
func (s *Store) UpdateEvent(ctx context.Context, ev conference.Event) (conference.Event, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if ev.HasDates() {
			var id int64
			var title string
			err := tx.QueryRowContext(ctx, `SELECT id, title FROM talks WHERE event_id = ? AND (start_at < ? OR end_at > ?)
				ORDER BY start_at, id LIMIT 1`, ev.ID, ev.Start.UnixMilli(), ev.End.UnixMilli()).Scan(&id, &title)
			if err == nil {
				return &conference.FieldError{Field: "start", Msg: fmt.Sprintf("and end would leave talk %d (%q) outside the event", id, title)}
			}
			if err != sql.ErrNoRows {
				return err
			}
		}
		return affected(tx.ExecContext(ctx, `UPDATE events SET slug = ?, title = ?, start_at = ?, end_at = ?, time_zone = ?,
			access = ?, offline_capacity = ?, status = ?, auto_on_air = ? WHERE id = ?`,
			ev.Slug, ev.Title, millis(ev.Start), millis(ev.End), ev.TimeZone, ev.Access, ev.OfflineCapacity, ev.Status,
			boolInt(ev.AutoOnAir), ev.ID))
	})
	if err != nil {
		return conference.Event{}, conflict(err, "event slug "+ev.Slug)
	}
	return s.EventByID(ctx, ev.ID)
}

// DeleteEvent implements conference.EventStore.
func (s *Store) DeleteEvent(ctx context.Context, id int64) error {
	return affected(s.exec(ctx, `DELETE FROM events WHERE id = ?`, id))
}

// EventByID implements conference.EventStore.
func (s *Store) EventByID(ctx context.Context, id int64) (conference.Event, error) {
	return scanEvent(s.db.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE id = ?`, id))
}

// EventBySlug implements conference.EventStore.
func (s *Store) EventBySlug(ctx context.Context, slug string) (conference.Event, error) {
	return scanEvent(s.db.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE slug = ?`, slug))
}

// Events implements conference.EventStore.
func (s *Store) Events(ctx context.Context) ([]conference.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+eventCols+` FROM events ORDER BY start_at IS NULL, start_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []conference.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	return evs, rows.Err()
}
