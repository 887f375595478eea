package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kastlive/kast/conference"
)

// ImportTimetable implements conference.TimetableStore: the plan is made
// from the state read inside the transaction and applied in it, so the
// import is all or nothing and no concurrent write slips in between.
func (s *Store) ImportTimetable(ctx context.Context, eventID int64, tt conference.Timetable, dryRun bool) (conference.ImportReport, error) {
	var report conference.ImportReport
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ev, err := scanEvent(tx.QueryRowContext(ctx, `SELECT `+eventCols+` FROM events WHERE id = ?`, eventID))
		if err != nil {
			return err
		}
		tracks, err := queryTracks(ctx, tx, "WHERE t.event_id = ?", eventID)
		if err != nil {
			return err
		}
		talks, err := queryTalks(ctx, tx, "WHERE k.event_id = ?", eventID)
		if err != nil {
			return err
		}
		var taken error
		slugTaken := func(slug string) bool {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tracks WHERE slug = ?`, slug).Scan(&n); err != nil {
				taken = err
				return true
			}
			return n > 0
		}
		plan, err := conference.PlanImport(ev, tracks, talks, tt, slugTaken)
		if err != nil {
			return err
		}
		if taken != nil {
			return taken
		}
		if dryRun {
			report = plan.Report(true)
			return nil
		}
		if err := applyPlan(ctx, tx, &plan); err != nil {
			return err
		}
		report = plan.Report(false)
		return nil
	})
	if err != nil {
		return conference.ImportReport{}, err
	}
	return report, nil
}

// applyPlan writes plan in the order PlanImport documents, filling in the
// ids of what it adds.
func applyPlan(ctx context.Context, tx *sql.Tx, plan *conference.ImportPlan) error {
	trackOfRoom := map[string]int64{}
	for i, t := range plan.AddTracks {
		t, err := insertTrack(ctx, tx, t)
		if err != nil {
			return fmt.Errorf("sqlite: import: add track %s: %w", t.Slug, err)
		}
		if err := setStreamKey(ctx, tx, t.ID, conference.NewSecret()); err != nil {
			return err
		}
		plan.AddTracks[i] = t
		trackOfRoom[t.Room] = t.ID
	}
	for _, t := range plan.UpdateTracks {
		if err := updateTrack(ctx, tx, t); err != nil {
			return fmt.Errorf("sqlite: import: update track %s: %w", t.Slug, err)
		}
		trackOfRoom[t.Room] = t.ID
	}
	resolve := func(t *conference.TimetableTalk) error {
		if t.Talk.TrackID != 0 {
			return nil
		}
		id, ok := trackOfRoom[t.Room]
		if !ok {
			// An unchanged track: look it up by room.
			err := tx.QueryRowContext(ctx, `SELECT id FROM tracks WHERE event_id = ? AND room = ?`, t.Talk.EventID, t.Room).Scan(&id)
			if err != nil {
				return fmt.Errorf("sqlite: import: room %q: %w", t.Room, notFound(err))
			}
			trackOfRoom[t.Room] = id
		}
		t.Talk.TrackID = id
		return nil
	}
	for i := range plan.AddTalks {
		t := &plan.AddTalks[i]
		if err := resolve(t); err != nil {
			return err
		}
		added, err := insertTalk(ctx, tx, t.Talk)
		if err != nil {
			return fmt.Errorf("sqlite: import: add talk %s: %w", t.GUID, err)
		}
		t.Talk = added
	}
	for i := range plan.UpdateTalks {
		t := &plan.UpdateTalks[i]
		if err := resolve(t); err != nil {
			return err
		}
		if err := updateTalk(ctx, tx, t.Talk); err != nil {
			return fmt.Errorf("sqlite: import: update talk %s: %w", t.GUID, err)
		}
	}
	for _, t := range plan.RemoveTalks {
		if _, err := tx.ExecContext(ctx, `DELETE FROM talks WHERE id = ?`, t.ID); err != nil {
			return err
		}
	}
	for _, t := range plan.RemoveTracks {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tracks WHERE id = ?`, t.ID); err != nil {
			return err
		}
	}
	return nil
}
