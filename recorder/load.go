package recorder

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// load reads every publish under tracks/, repairing what a crash left
// half-written (see the package doc), and fills the catalog.
func (r *Recorder) load() error {
	tracks, err := os.ReadDir(r.tracksDir())
	if err != nil {
		return err
	}
	for _, t := range tracks {
		if !t.IsDir() || !validName(t.Name()) {
			continue
		}
		pubs, err := os.ReadDir(filepath.Join(r.tracksDir(), t.Name()))
		if err != nil {
			return err
		}
		for _, d := range pubs {
			if !d.IsDir() || !validName(d.Name()) {
				continue
			}
			p, err := r.loadPublish(t.Name(), d.Name())
			if err != nil {
				r.Logger.Warn("recording: cannot read, left alone", "track", t.Name(), "publish", d.Name(), "err", err)
				continue
			}
			if p == nil {
				continue
			}
			r.publishes[key(p.Track, p.ID)] = p
			r.usage += p.Size
		}
	}
	return nil
}

// loadPublish reads one publish directory. It returns nil (and removes the
// directory) when nothing in it is usable.
func (r *Recorder) loadPublish(track, id string) (*Publish, error) {
	dir := r.publishDir(track, id)
	indexPath := filepath.Join(dir, "index.jsonl")
	f, err := os.Open(indexPath)
	if os.IsNotExist(err) {
		// Killed between creating the directory and its index: nothing
		// was recorded in it.
		r.Logger.Warn("recording repair: no index, removing", "track", track, "publish", id)
		return nil, os.RemoveAll(dir)
	}
	if err != nil {
		return nil, err
	}
	lines, _, damaged, err := readIndex(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	p := &Publish{Track: track, ID: id, Inits: map[int]int64{}}
	keep := make([]indexLine, 0, len(lines))
	repaired := damaged
	var lastEnd time.Time
	ended := false
	files := map[string]bool{"index.jsonl": true}
lines:
	for i, l := range lines {
		switch l.Kind {
		case lineKindPublish:
			if i != 0 {
				repaired = true
				break lines
			}
			p.Epoch, p.Source, p.Started, p.EventID = l.Epoch, l.Source, l.Started, l.EventID
		case lineKindInit, lineKindSeg:
			if i == 0 || !validName(l.File) || fileSize(filepath.Join(dir, l.File)) != l.Size {
				// Listed but missing or short: a crash of the machine
				// lost it. Everything after it is dropped too, so the
				// index stays the order things were written in.
				repaired = true
				break lines
			}
			if l.Kind == lineKindInit {
				p.Inits[l.Init] = l.Size
			} else {
				if _, ok := p.Inits[l.Init]; !ok {
					repaired = true
					break lines
				}
				p.Segments = append(p.Segments, l.segment())
			}
			files[l.File] = true
			p.Size += l.Size
			ended = false
		case lineKindEnd:
			lastEnd, ended = l.At, true
		default:
			repaired = true
			break lines
		}
		keep = append(keep, l)
	}
	if len(keep) == 0 || len(p.Segments) == 0 {
		r.Logger.Warn("recording repair: nothing complete recorded, removing", "track", track, "publish", id)
		return nil, os.RemoveAll(dir)
	}
	// Files the index does not list: the segment being written when kast
	// died, or a temporary file.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if files[name] {
			continue
		}
		if strings.HasPrefix(name, "poster-") && strings.HasSuffix(name, ".jpg") {
			if info, err := e.Info(); err == nil {
				p.Size += info.Size()
			}
			continue
		}
		r.Logger.Warn("recording repair: removing a file the index does not list (written when kast stopped)",
			"track", track, "publish", id, "file", name)
		os.Remove(filepath.Join(dir, name))
	}
	if !ended {
		lastEnd = p.lastEnd()
		keep = append(keep, indexLine{Kind: lineKindEnd, At: lastEnd.UTC()})
		repaired = true
		r.Logger.Info("recording repair: closing a publish kast did not end", "track", track, "publish", id,
			"segments", len(p.Segments))
	}
	p.Ended = lastEnd
	var buf bytes.Buffer
	for _, l := range keep {
		buf.Write(marshalLine(l))
	}
	if repaired {
		if err := writeAtomic(indexPath, buf.Bytes(), !r.NoSync); err != nil {
			return nil, err
		}
	}
	p.Size += int64(buf.Len())
	return p, nil
}

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() {
		return -1
	}
	return info.Size()
}

// writeAtomic replaces path with data: a temporary file, fsync'd, renamed
// over it.
func writeAtomic(path string, data []byte, sync bool) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if sync {
		syncDir(filepath.Dir(path))
	}
	return nil
}
