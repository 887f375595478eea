package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// hlsViewer is an HLS player of kind hlsjs, apple or classic. It keeps its
// buffers between requests; its only per-request garbage is what net/http
// allocates.
type hlsViewer struct {
	env  *viewerEnv
	kind string

	track   frameTracker
	catchUp bool // frames being read were already old when the viewer joined

	base    *url.URL // media playlist URL
	plBuf   bytes.Buffer
	br      *bufio.Reader
	fmp4    fmp4Reader
	initURI string
	ts      tsReader
	urlBuf  []byte
	onFrame frameFunc
	conn    httpConn
}

func (v *hlsViewer) run(ctx context.Context) {
	s := v.env.sink
	s.active.Add(1)
	s.joined.Add(1)
	defer s.active.Add(-1)
	v.track = newFrameTracker(s, 0)
	v.conn = v.env.newConn()
	defer v.conn.close()
	v.br = bufio.NewReaderSize(nil, 16<<10)
	v.onFrame = func(send int64, now time.Time) { v.track.frame(send, now, v.catchUp) }
	defer func() { v.track.finish(time.Now()) }()

	for ctx.Err() == nil {
		err := v.session(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.addError(classify(err))
		// Like a player: wait a little and start over from the playlist.
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// mediaPlaylist fetches the -hls URL and, for a multivariant playlist, its
// first variant; it returns the media playlist and its URL.
func (v *hlsViewer) mediaPlaylist(ctx context.Context) (*url.URL, *mediaPL, error) {
	u, err := url.Parse(v.env.hlsURL)
	if err != nil {
		return nil, nil, err
	}
	pl, err := v.getPlaylist(ctx, u.String())
	if err != nil {
		return nil, nil, err
	}
	if mv, ok := pl.(*playlist.Multivariant); ok {
		if len(mv.Variants) == 0 {
			return nil, nil, errParse
		}
		ref, err := url.Parse(mv.Variants[0].URI)
		if err != nil {
			return nil, nil, errParse
		}
		u = u.ResolveReference(ref)
		if pl, err = v.getPlaylist(ctx, u.String()); err != nil {
			return nil, nil, err
		}
	}
	media, ok := pl.(*mediaPL)
	if !ok {
		return nil, nil, errParse
	}
	return u, media, nil
}

// session runs from the first playlist request until an error.
func (v *hlsViewer) session(ctx context.Context) error {
	u, media, err := v.mediaPlaylist(ctx)
	if err != nil {
		return err
	}
	v.base = u
	if media.lowLatency() && v.kind != clientClassic {
		v.track.stallAfter = 2 * time.Duration(media.pl.PartInf.PartTarget)
		return v.runLowLatency(ctx, media)
	}
	v.track.stallAfter = 2 * time.Duration(media.pl.TargetDuration) * time.Second
	return v.runClassic(ctx, media)
}

// runLowLatency follows a low-latency playlist: blocking reloads for the next
// part, every listed part fetched once; apple viewers also fetch the
// preload-hinted part as soon as it is announced.
func (v *hlsViewer) runLowLatency(ctx context.Context, pl *mediaPL) error {
	catchUpBefore := pl.next
	start := pl.parts[pl.startIndex()].pos
	var last pos
	hasLast := false
	for {
		if err := v.ensureInit(ctx, pl.pl); err != nil {
			return err
		}
		if hasLast && len(pl.parts) > 0 && last.less(pl.parts[0].pos) && pl.parts[0].pos != (pos{last.msn + 1, 0}) {
			// Parts we still wanted have left the playlist: jump ahead.
			v.env.sink.addError("fell_behind")
			hasLast = false
			start = pl.parts[pl.startIndex()].pos
		}
		for _, p := range pl.parts {
			if (hasLast && !last.less(p.pos)) || (!hasLast && p.pos.less(start)) {
				continue
			}
			v.catchUp = p.pos.less(catchUpBefore)
			if err := v.getMedia(ctx, p.uri, nil); err != nil {
				return err
			}
			last, hasLast = p.pos, true
		}
		if v.kind == clientApple && pl.pl.PreloadHint != nil && (!hasLast || last.less(pl.next)) {
			v.catchUp = false
			if err := v.getMedia(ctx, pl.pl.PreloadHint.URI, pl.pl.PreloadHint); err != nil {
				return err
			}
			last, hasLast = pl.next, true
		}
		next, err := v.getPlaylist(ctx, v.blockingURL(pl.next))
		if err != nil {
			return err
		}
		np, ok := next.(*mediaPL)
		if !ok || len(np.parts) == 0 {
			return errParse
		}
		pl = np
	}
}

// blockingURL returns the media playlist URL asking for the playlist that
// lists part p.
func (v *hlsViewer) blockingURL(p pos) string {
	b := append(v.urlBuf[:0], v.base.String()...)
	if v.base.RawQuery == "" {
		b = append(b, '?')
	} else {
		b = append(b, '&')
	}
	b = append(b, "_HLS_msn="...)
	b = strconv.AppendInt(b, int64(p.msn), 10)
	b = append(b, "&_HLS_part="...)
	b = strconv.AppendInt(b, int64(p.idx), 10)
	v.urlBuf = b
	return string(b)
}

// runClassic polls the playlist every half target duration and fetches each
// new segment whole, starting with the newest one.
func (v *hlsViewer) runClassic(ctx context.Context, pl *mediaPL) error {
	last := -1
	first := true
	plURL := v.base.String()
	for {
		if err := v.ensureInit(ctx, pl.pl); err != nil {
			return err
		}
		n := len(pl.pl.Segments)
		for i, seg := range pl.pl.Segments {
			msn := pl.pl.MediaSequence + i
			if msn <= last || (first && i < n-1) {
				continue
			}
			v.catchUp = first
			if err := v.getMedia(ctx, seg.URI, nil); err != nil {
				return err
			}
			last = msn
		}
		first = false
		wait := time.Duration(pl.pl.TargetDuration) * time.Second / 2
		if wait <= 0 {
			wait = 500 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		next, err := v.getPlaylist(ctx, plURL)
		if err != nil {
			return err
		}
		np, ok := next.(*mediaPL)
		if !ok {
			return errParse
		}
		pl = np
	}
}

// ensureInit fetches the initialization segment when the playlist names a new one.
func (v *hlsViewer) ensureInit(ctx context.Context, pl *playlist.Media) error {
	if pl.Map == nil || pl.Map.URI == v.initURI {
		return nil
	}
	resp, err := v.get(ctx, pl.Map.URI, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := readAll(&v.plBuf, resp.Body); err != nil {
		return err
	}
	t, err := parseFMP4Init(v.plBuf.Bytes())
	if err != nil {
		return err
	}
	v.fmp4.track = t
	v.initURI = pl.Map.URI
	return nil
}

// getPlaylist fetches and parses a playlist (through the shared cache).
func (v *hlsViewer) getPlaylist(ctx context.Context, rawURL string) (any, error) {
	resp, err := v.get(ctx, rawURL, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := readAll(&v.plBuf, resp.Body); err != nil {
		return nil, err
	}
	return v.env.playlists.parse(v.plBuf.Bytes())
}

// getMedia fetches a part or segment and reads it as it arrives, sniffing
// MPEG-TS from fMP4.
func (v *hlsViewer) getMedia(ctx context.Context, uri string, hint *playlist.MediaPreloadHint) error {
	resp, err := v.get(ctx, uri, hint)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	v.br.Reset(resp.Body)
	defer v.br.Reset(nil)
	b, err := v.br.Peek(1)
	if err != nil {
		if err == io.EOF {
			return nil
		}
		return v.bodyErr(ctx, err)
	}
	if b[0] == 0x47 {
		err = v.ts.read(v.br, v.onFrame)
	} else {
		err = v.fmp4.read(v.br, v.onFrame)
	}
	return v.bodyErr(ctx, err)
}

func (v *hlsViewer) bodyErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}

// get issues a GET for uri (resolved against the media playlist URL) and
// checks the status. A preload hint with a byte range becomes a Range request.
func (v *hlsViewer) get(ctx context.Context, uri string, hint *playlist.MediaPreloadHint) (*http.Response, error) {
	ref, err := url.Parse(uri)
	if err != nil {
		return nil, errParse
	}
	target := ref
	if v.base != nil {
		target = v.base.ResolveReference(ref)
	}
	rangeValue := ""
	if hint != nil && (hint.ByteRangeStart != 0 || hint.ByteRangeLength != nil) {
		rangeValue = "bytes=" + strconv.FormatUint(hint.ByteRangeStart, 10) + "-"
		if hint.ByteRangeLength != nil {
			rangeValue += strconv.FormatUint(hint.ByteRangeStart+*hint.ByteRangeLength-1, 10)
		}
	}
	v.env.sink.requests.Add(1)
	resp, err := v.conn.get(ctx, target, rangeValue)
	if err != nil {
		if ctx.Err() != nil {
			return nil, errCanceled
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, statusError(resp.StatusCode)
	}
	return resp, nil
}
