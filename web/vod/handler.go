// Package vod serves kast's recordings: HLS VOD playlists of the recorded
// fMP4 segments, one progressive MP4 per recording (seekable with Range),
// a poster image, and the admin API that lists, trims and deletes them.
// The recordings themselves are the recorder package's.
package vod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kastlive/kast/recorder"
	"github.com/kastlive/kast/web/gate"
)

// Handler serves the talks' recordings to viewers:
//
//	/vod/{talk}/index.m3u8                  a talk's recording, HLS VOD
//	/vod/{talk}/talk.mp4                    the same as one MP4 (?download=1: as an attachment)
//	/vod/{talk}/poster.jpg                  a poster image (needs ffmpeg)
//	/vod/{talk}/{track}/{publish}/{file}    the init sections and segments the playlist lists
//
// A talk deleted from the timetable, or whose speaker opted out of the
// recording (do_not_record), is answered 404 with the reason. The
// recordings of single publishes (everything a track sent, trims and
// deleted talks included) are the admin API's (Admin), not public.
type Handler struct {
	Recorder *recorder.Recorder
	// Gate, when set, is asked before anything of a recording is served:
	// a gated event's recordings take the same credential as its live
	// stream. nil: open.
	Gate Gate
	Log  *slog.Logger

	private bool // admin: never cacheable by shared caches
}

// Gate decides who may play a recording (*gate.Gate implements it).
type Gate interface {
	// CheckRecording lets r in to a recording of the event eventID,
	// recorded on track (eventID 0: not known). A refusal is an error
	// with an HTTPStatus() int (401, 403, 404), answered as JSON like
	// the /hls/ refusals.
	CheckRecording(r *http.Request, eventID int64, track string) (gate.Pass, error)
	// Cookie returns the cookie carrying token for the files under path.
	Cookie(r *http.Request, path, token string) *http.Cookie
}

const (
	typePlaylist = "application/vnd.apple.mpegurl"
	typeMP4      = "video/mp4"
	typeM4S      = "video/iso.segment"
)

// TalkPlaylist serves /vod/{talk}/index.m3u8. A playlist fetched with
// ?token= (a player that keeps no cookies) carries the token in every URI
// and sets it as the kast_play cookie of /vod/{talk}/.
func (h *Handler) TalkPlaylist(w http.ResponseWriter, r *http.Request) {
	rec, pass, ok := h.talk(w, r)
	if !ok {
		return
	}
	if pass.QueryToken != "" {
		http.SetCookie(w, h.Gate.Cookie(r, "/vod/"+strconv.FormatInt(rec.TalkID, 10)+"/", pass.QueryToken))
	}
	// Files by track and publish: two tracks' publishes that began in the
	// same second have the same name.
	h.playlist(w, r, rec, pass, func(e *recorder.Entry) string { return e.Track + "/" + e.Publish + "/" })
}

// TalkMP4 serves /vod/{talk}/talk.mp4.
func (h *Handler) TalkMP4(w http.ResponseWriter, r *http.Request) {
	rec, pass, ok := h.talk(w, r)
	if !ok {
		return
	}
	name := "talk-" + strconv.FormatInt(rec.TalkID, 10)
	if s := slug(rec.Title); s != "" {
		name += "-" + s
	}
	h.mp4(w, r, rec, pass, name+".mp4")
}

// TalkPoster serves /vod/{talk}/poster.jpg.
func (h *Handler) TalkPoster(w http.ResponseWriter, r *http.Request) {
	if rec, pass, ok := h.talk(w, r); ok {
		h.poster(w, r, rec, pass)
	}
}

// TalkFile serves /vod/{talk}/{track}/{publish}/{file}, and
// /vod/{talk}/{publish}/{file} as playlists before the track was in the
// URIs named them (when only one track has a publish of that name).
func (h *Handler) TalkFile(w http.ResponseWriter, r *http.Request) {
	if rec, pass, ok := h.talk(w, r); ok {
		h.file(w, r, rec, pass, r.PathValue("track"), r.PathValue("publish"), r.PathValue("file"))
	}
}

// servePublish serves one publish's recording: file is index.m3u8,
// recording.mp4, poster.jpg or one of its init sections and segments.
func (h *Handler) servePublish(w http.ResponseWriter, r *http.Request, file string) {
	rec, pass, ok := h.publish(w, r)
	if !ok {
		return
	}
	switch file {
	case "index.m3u8":
		h.playlist(w, r, rec, pass, func(*recorder.Entry) string { return "" })
	case "recording.mp4":
		h.mp4(w, r, rec, pass, rec.Track+"-"+rec.Publish+".mp4")
	case "poster.jpg":
		h.poster(w, r, rec, pass)
	default:
		h.file(w, r, rec, pass, rec.Track, rec.Publish, file)
	}
}

// talk looks the talk's recording up and applies the gate.
func (h *Handler) talk(w http.ResponseWriter, r *http.Request) (*recorder.Recording, gate.Pass, bool) {
	id, err := strconv.ParseInt(r.PathValue("talk"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "not found")
		return nil, gate.Pass{}, false
	}
	rec, err := h.Recorder.Talk(id)
	return h.found(w, r, rec, err)
}

func (h *Handler) publish(w http.ResponseWriter, r *http.Request) (*recorder.Recording, gate.Pass, bool) {
	rec, err := h.Recorder.Publish(r.PathValue("track"), r.PathValue("publish"))
	return h.found(w, r, rec, err)
}

func (h *Handler) found(w http.ResponseWriter, r *http.Request, rec *recorder.Recording, err error) (*recorder.Recording, gate.Pass, bool) {
	setCORS(w.Header())
	if errors.Is(err, recorder.ErrWithdrawn) || errors.Is(err, recorder.ErrDoNotRecord) {
		writeError(w, http.StatusNotFound, err.Error())
		return nil, gate.Pass{}, false
	}
	if errors.Is(err, recorder.ErrNotFound) || err == nil && len(rec.Entries) == 0 {
		writeError(w, http.StatusNotFound, "no such recording")
		return nil, gate.Pass{}, false
	}
	if err != nil {
		h.fail(w, err)
		return nil, gate.Pass{}, false
	}
	var pass gate.Pass
	if h.Gate != nil {
		// The talk's event decides, not whoever owns its track's slug now.
		if pass, err = h.Gate.CheckRecording(r, rec.EventID, rec.Track); err != nil {
			refuse(w, err)
			return nil, gate.Pass{}, false
		}
	}
	return rec, pass, true
}

// refuse answers a gate's refusal with its status, as JSON.
func refuse(w http.ResponseWriter, err error) {
	var ge *gate.Error
	if !errors.As(err, &ge) {
		status := http.StatusForbidden
		var hs interface{ HTTPStatus() int }
		if errors.As(err, &hs) {
			status = hs.HTTPStatus()
		}
		ge = &gate.Error{Status: status, Msg: err.Error()}
	}
	gate.WriteError(w, ge)
}

func (h *Handler) playlist(w http.ResponseWriter, r *http.Request, rec *recorder.Recording, pass gate.Pass, dir func(*recorder.Entry) string) {
	b := rec.Playlist(dir)
	if pass.QueryToken != "" {
		// The player came with ?token=: its requests for the files the
		// playlist names carry it too (one copy per such request).
		b = gate.AppendRewritten(nil, b, pass.QueryToken)
	}
	hd := w.Header()
	hd.Set("Content-Type", typePlaylist)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	if rec.Live {
		hd.Set("Cache-Control", "no-cache")
	} else {
		// A trim changes it; a minute of staleness is fine.
		hd.Set("Cache-Control", h.cache(pass, "max-age=60"))
	}
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

func (h *Handler) file(w http.ResponseWriter, r *http.Request, rec *recorder.Recording, pass gate.Pass, track, publish, name string) {
	path, ok := rec.File(track, publish, name)
	if !ok {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		h.fail(w, err)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		h.fail(w, err)
		return
	}
	hd := w.Header()
	if strings.HasSuffix(name, ".mp4") {
		hd.Set("Content-Type", typeMP4)
	} else {
		hd.Set("Content-Type", typeM4S)
	}
	// A file never changes under its name.
	hd.Set("Cache-Control", h.cache(pass, "max-age=31536000, immutable"))
	http.ServeContent(w, r, "", info.ModTime(), f)
}

func (h *Handler) mp4(w http.ResponseWriter, r *http.Request, rec *recorder.Recording, pass gate.Pass, filename string) {
	m, err := rec.MP4()
	if err != nil {
		h.fail(w, err)
		return
	}
	defer m.Close()
	hd := w.Header()
	hd.Set("Content-Type", typeMP4)
	hd.Set("ETag", m.ETag)
	if rec.Live {
		hd.Set("Cache-Control", "no-cache")
	} else {
		hd.Set("Cache-Control", h.cache(pass, "max-age=60"))
	}
	disp := "inline"
	if r.URL.Query().Get("download") != "" {
		disp = "attachment"
	}
	hd.Set("Content-Disposition", fmt.Sprintf("%s; filename=%q", disp, filename))
	http.ServeContent(w, r, "", m.ModTime, m)
}

func (h *Handler) poster(w http.ResponseWriter, r *http.Request, rec *recorder.Recording, pass gate.Pass) {
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	path, err := h.Recorder.Poster(ctx, rec)
	if errors.Is(err, recorder.ErrNoFFmpeg) {
		writeError(w, http.StatusNotFound, "no poster: ffmpeg is not installed")
		return
	}
	if err != nil {
		h.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", h.cache(pass, "max-age=3600"))
	http.ServeFile(w, r, path)
}

// cache returns a Cache-Control value: public, unless the recording's
// event is gated (or it is the admin's).
func (h *Handler) cache(pass gate.Pass, v string) string {
	if pass.Gated || h.private {
		return "private, " + v
	}
	return "public, " + v
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	if h.Log != nil {
		h.Log.Warn("vod", "err", err)
	}
	writeError(w, http.StatusInternalServerError, "cannot read the recording")
}

func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges")
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug turns a title into a file name part.
func slug(s string) string {
	s = strings.Trim(notSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	return s
}
