package recorder

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ErrNoFFmpeg: posters need ffmpeg, and there is none.
var ErrNoFFmpeg = errors.New("no ffmpeg to take a poster with")

// posterTimeout bounds one ffmpeg run.
const posterTimeout = 15 * time.Second

// Poster returns the path of a JPEG poster of the recording: the first
// frame (a keyframe) of the segment a tenth of the way in, past a title
// slide or a countdown. It is made once with an ffmpeg child process and
// kept beside the segment; without ffmpeg it returns ErrNoFFmpeg.
func (r *Recorder) Poster(ctx context.Context, rec *Recording) (string, error) {
	if len(rec.Entries) == 0 {
		return "", ErrNotFound
	}
	var at time.Duration
	e := &rec.Entries[0]
	for i := range rec.Entries {
		if at >= rec.Duration/10 {
			e = &rec.Entries[i]
			break
		}
		at += rec.Entries[i].Duration
	}
	out := filepath.Join(r.publishDir(e.Track, e.Publish), posterName(e.MSN))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	bin := r.FFmpeg
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("ffmpeg"); err != nil {
			return "", ErrNoFFmpeg
		}
	}
	select {
	case r.posterSem <- struct{}{}: // one ffmpeg at a time
		defer func() { <-r.posterSem }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if _, err := os.Stat(out); err == nil {
		return out, nil // made while we waited
	}
	init, err := os.ReadFile(rec.InitPath(e))
	if err != nil {
		return "", err
	}
	seg, err := os.Open(rec.Path(e))
	if err != nil {
		return "", err
	}
	defer seg.Close()
	ctx, cancel := context.WithTimeout(ctx, posterTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-hide_banner", "-loglevel", "error", "-f", "mp4", "-i", "pipe:0",
		"-frames:v", "1", "-vf", "scale='min(1280,iw)':-2", "-q:v", "4", "-f", "image2", "-c:v", "mjpeg", "pipe:1")
	cmd.Stdin = io.MultiReader(bytes.NewReader(init), seg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.Len() == 0 {
		r.Logger.Warn("recording: no poster", "track", e.Track, "publish", e.Publish, "msn", e.MSN, "err", err, "ffmpeg", stderr.String())
		if err == nil {
			err = errors.New("ffmpeg wrote no image")
		}
		return "", err
	}
	if err := writeAtomic(out, stdout.Bytes(), false); err != nil {
		return "", err
	}
	r.mu.Lock()
	if p := r.publishes[key(e.Track, e.Publish)]; p != nil && !p.removed {
		p.Size += int64(stdout.Len())
		r.usage += int64(stdout.Len())
	}
	r.mu.Unlock()
	return out, nil
}
