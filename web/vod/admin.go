package vod

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/kastlive/kast/recorder"
	"github.com/kastlive/kast/web/internal/jsonerr"
)

// Admin is the recordings' admin API. web/routes.go mounts it in the JSON
// API behind the API's admin-token check (api.Handler.Admin):
//
//	GET    /api/v1/admin/recordings                          every talk recording and publish
//	POST   /api/v1/admin/recordings/talks/{talk}/trim        {"cut_start_s": 12, "cut_end_s": 30}
//	DELETE /api/v1/admin/recordings/talks/{talk}
//	DELETE /api/v1/admin/recordings/publishes/{track}/{publish}
//	GET    /api/v1/admin/recordings/publishes/{track}/{publish}/index.m3u8     one publish, HLS VOD
//	GET    /api/v1/admin/recordings/publishes/{track}/{publish}/recording.mp4  the same as one MP4
//	GET    /api/v1/admin/recordings/publishes/{track}/{publish}/poster.jpg
//	GET    /api/v1/admin/recordings/publishes/{track}/{publish}/{file}        its init sections and segments
//
// A publish is everything a track sent in one connection, what trims and
// deleted talks leave out included: it is for the organizers only.
type Admin struct {
	Recorder *recorder.Recorder
	Log      *slog.Logger
}

// PublishPrefix is where the admin API serves the publishes.
const PublishPrefix = "/api/v1/admin/recordings/publishes/"

// TalkListing is a talk's entry in the listing, with its URLs.
type TalkListing struct {
	recorder.TalkSummary
	Playlist string `json:"playlist"`
	MP4      string `json:"mp4"`
	Poster   string `json:"poster"`
}

// PublishListing is a publish's entry in the listing, with its URLs.
type PublishListing struct {
	recorder.PublishSummary
	Playlist string `json:"playlist"`
	MP4      string `json:"mp4"`
}

// Listing is what GET /api/v1/admin/recordings answers.
type Listing struct {
	Talks     []TalkListing    `json:"talks"`
	Publishes []PublishListing `json:"publishes"`
	Stats     recorder.Stats   `json:"stats"`
}

// List serves GET /api/v1/admin/recordings.
func (a *Admin) List(w http.ResponseWriter, r *http.Request) {
	l := a.Recorder.List()
	out := Listing{Talks: []TalkListing{}, Publishes: []PublishListing{}, Stats: a.Recorder.Stats()}
	for _, t := range l.Talks {
		base := "/vod/" + strconv.FormatInt(t.ID, 10) + "/"
		out.Talks = append(out.Talks, TalkListing{TalkSummary: t, Playlist: base + "index.m3u8", MP4: base + "talk.mp4", Poster: base + "poster.jpg"})
	}
	for _, p := range l.Publishes {
		base := PublishPrefix + p.Track + "/" + p.ID + "/"
		out.Publishes = append(out.Publishes, PublishListing{PublishSummary: p, Playlist: base + "index.m3u8", MP4: base + "recording.mp4"})
	}
	writeJSON(w, http.StatusOK, out)
}

// trimRequest is the body of a trim.
type trimRequest struct {
	CutStartS float64 `json:"cut_start_s"`
	CutEndS   float64 `json:"cut_end_s"`
}

// Trim serves POST /api/v1/admin/recordings/talks/{talk}/trim.
func (a *Admin) Trim(w http.ResponseWriter, r *http.Request) {
	id, ok := talkID(w, r)
	if !ok {
		return
	}
	var req trimRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body must be {\"cut_start_s\": seconds, \"cut_end_s\": seconds}: "+err.Error())
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "malformed JSON: data after the object")
		return
	}
	const most = 7 * 24 * time.Hour
	if req.CutStartS < 0 || req.CutEndS < 0 || req.CutStartS > most.Seconds() || req.CutEndS > most.Seconds() {
		writeError(w, http.StatusBadRequest, "cut_start_s and cut_end_s must be between 0 and a week")
		return
	}
	err := a.Recorder.Trim(id, time.Duration(req.CutStartS*float64(time.Second)), time.Duration(req.CutEndS*float64(time.Second)))
	if a.done(w, err) {
		sum, err := a.Recorder.TalkSummary(id)
		if err != nil {
			a.done(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "segments": sum.Segments, "duration_s": sum.DurationS,
			"cut_start_s": sum.CutStartS, "cut_end_s": sum.CutEndS})
	}
}

// DeleteTalk serves DELETE /api/v1/admin/recordings/talks/{talk}.
func (a *Admin) DeleteTalk(w http.ResponseWriter, r *http.Request) {
	if id, ok := talkID(w, r); ok && a.done(w, a.Recorder.DeleteTalk(id)) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// Publish serves GET /api/v1/admin/recordings/publishes/{track}/{publish}/{file}:
// one publish's playlist (index.m3u8), MP4 (recording.mp4), poster
// (poster.jpg), init sections and segments.
func (a *Admin) Publish(w http.ResponseWriter, r *http.Request) {
	h := &Handler{Recorder: a.Recorder, Log: a.Log, private: true}
	h.servePublish(w, r, r.PathValue("file"))
}

// DeletePublish serves DELETE /api/v1/admin/recordings/publishes/{track}/{publish}.
func (a *Admin) DeletePublish(w http.ResponseWriter, r *http.Request) {
	if a.done(w, a.Recorder.DeletePublish(r.PathValue("track"), r.PathValue("publish"))) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// done answers an error, if any, and reports whether there was none.
func (a *Admin) done(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, recorder.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, recorder.ErrLive):
		writeError(w, http.StatusConflict, "the recording is still live: try again once it has ended")
	default:
		if a.Log != nil {
			a.Log.Warn("recordings admin", "err", err)
		}
		writeError(w, http.StatusInternalServerError, "failed: "+err.Error())
	}
	return false
}

func talkID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("talk"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "no such talk")
		return 0, false
	}
	return id, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	jsonerr.Write(w, status, msg, "")
}
