package recorder

import (
	"os"
	"sort"
	"syscall"
	"time"
)

// makeRoom reports whether n more bytes may be recorded now, deleting the
// oldest publishes that are not live when the budget asks for it. why
// says what stopped it.
func (r *Recorder) makeRoom(n int64) (ok bool, why string) {
	if r.Budget > 0 {
		for {
			r.mu.Lock()
			over := r.usage+n > r.Budget
			var victim *Publish
			if over {
				victim = r.oldestEndedLocked()
			}
			r.mu.Unlock()
			if !over {
				break
			}
			if victim == nil {
				why = "recording budget spent (-record-budget); only live recordings are left to delete"
				r.setFull(true, why)
				return false, why
			}
			r.Logger.Info("recording budget: deleting the oldest publish", "track", victim.Track, "publish", victim.ID,
				"started", victim.Started.UTC().Format(time.RFC3339))
			if err := r.removePublish(victim); err != nil {
				r.Logger.Warn("recording budget: cannot delete", "track", victim.Track, "publish", victim.ID, "err", err)
				why = "recording budget spent and the oldest publish cannot be deleted"
				r.setFull(true, why)
				return false, why
			}
			r.metrics.evicted.Add(1)
		}
	}
	if r.MinFree > 0 {
		var st syscall.Statfs_t
		if err := syscall.Statfs(r.Dir, &st); err == nil {
			if free := int64(st.Bavail) * int64(st.Bsize); free-n < r.MinFree {
				why = "disk nearly full: less free space than the recorder keeps free"
				r.setFull(true, why)
				return false, why
			}
		}
	}
	return true, ""
}

// oldestEndedLocked returns the publish that started first among those
// that are not live. r.mu is held.
func (r *Recorder) oldestEndedLocked() *Publish {
	var best *Publish
	for _, p := range r.publishes {
		if p.Live() || p.removed {
			continue
		}
		if best == nil || p.Started.Before(best.Started) {
			best = p
		}
	}
	return best
}

// setFull records whether recording is stopped for want of space and
// logs each change.
func (r *Recorder) setFull(full bool, why string) {
	if r.full.Swap(full) == full {
		return
	}
	if full {
		r.metrics.stops.Add(1)
		r.Logger.Error("recording stopped: no room; the live stream goes on", "reason", why)
	} else {
		r.Logger.Info("recording resumed: there is room again")
	}
}

// expire deletes publishes that ended before the retention.
func (r *Recorder) expire(now time.Time) {
	if r.Retention <= 0 {
		return
	}
	cut := now.Add(-r.Retention)
	r.mu.Lock()
	var old []*Publish
	for _, p := range r.publishes {
		if !p.Live() && !p.removed && p.Ended.Before(cut) {
			old = append(old, p)
		}
	}
	r.mu.Unlock()
	sort.Slice(old, func(i, j int) bool { return old[i].Started.Before(old[j].Started) })
	for _, p := range old {
		r.Logger.Info("recording retention: deleting", "track", p.Track, "publish", p.ID, "ended", p.Ended.UTC().Format(time.RFC3339))
		if err := r.removePublish(p); err != nil {
			r.Logger.Warn("recording retention: cannot delete", "track", p.Track, "publish", p.ID, "err", err)
			continue
		}
		r.metrics.expired.Add(1)
	}
}

// removePublish deletes a publish that is not live, on disk and from the
// catalog.
func (r *Recorder) removePublish(p *Publish) error {
	r.mu.Lock()
	if p.Live() {
		r.mu.Unlock()
		return ErrLive
	}
	if p.removed {
		r.mu.Unlock()
		return nil
	}
	p.removed = true
	r.rev++
	delete(r.publishes, key(p.Track, p.ID))
	r.usage -= p.Size
	r.mu.Unlock()
	return os.RemoveAll(r.publishDir(p.Track, p.ID))
}

// isRemoved reports whether p was deleted from the catalog.
func (r *Recorder) isRemoved(p *Publish) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.removed
}
