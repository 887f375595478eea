package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/kastlive/kast/conference"
)

// The chat and Q&A of a track (docs/api.md, "Chat and Q&A"). Anyone who
// may watch the track reads them; attendees registered for the event (and
// organizers) post, ask and vote with their session cookie; organizers
// hide messages and mark questions answered or hidden.

type messageView struct {
	ID        int64  `json:"id"`
	Track     string `json:"track"`
	Author    string `json:"author"`
	Body      string `json:"body"`
	ReplyTo   int64  `json:"reply_to,omitempty"`
	Hidden    bool   `json:"hidden"`
	CreatedAt string `json:"created_at"`
}

// ViewMessage is a message as the API and the live channel show it; a
// hidden message shows no body (only its id, to take it off the screen).
func ViewMessage(track string, m conference.ChatMessage, moderator bool) messageView {
	v := messageView{ID: m.ID, Track: track, Author: m.Author, Body: m.Body, ReplyTo: m.ReplyTo, Hidden: m.Hidden,
		CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if m.Hidden && !moderator {
		v.Author, v.Body = "", ""
	}
	return v
}

type questionView struct {
	ID        int64  `json:"id"`
	Track     string `json:"track"`
	Author    string `json:"author"`
	Body      string `json:"body"`
	Votes     int    `json:"votes"`
	Voted     bool   `json:"voted"`
	Answered  bool   `json:"answered"`
	Hidden    bool   `json:"hidden"`
	CreatedAt string `json:"created_at"`
}

// ViewQuestion is a question as the API and the live channel show it.
func ViewQuestion(track string, q conference.Question, moderator, voted bool) questionView {
	v := questionView{ID: q.ID, Track: track, Author: q.Author, Body: q.Body, Votes: q.Votes, Voted: voted,
		Answered: q.Answered, Hidden: q.Hidden, CreatedAt: q.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if q.Hidden && !moderator {
		v.Author, v.Body = "", ""
	}
	return v
}

// chatReader is who reads a track's chat: the account (nil: anonymous)
// and whether it moderates.
type chatReader struct {
	acct      *conference.Account
	moderator bool
}

// chatAccess loads the track and checks that the request may read its
// chat: anyone on a public event, registered attendees and organizers on
// a registered one. With post, the request must also be logged in and
// registered (or an organizer).
func (h *Handler) chatAccess(w http.ResponseWriter, r *http.Request, post bool) (conference.Track, conference.Event, chatReader, bool) {
	t, ev, ok := h.track(w, r)
	if !ok {
		return t, ev, chatReader{}, false
	}
	var rd chatReader
	who, err := h.Viewer(r)
	if err != nil {
		h.fail(w, r, err)
		return t, ev, rd, false
	}
	rd.acct, rd.moderator = who.Account, who.Organizer
	if rd.moderator {
		return t, ev, rd, true
	}
	if rd.acct == nil {
		if post || ev.Access == conference.AccessRegistered {
			writeError(w, http.StatusUnauthorized, "", "log in to take part in the chat")
			return t, ev, rd, false
		}
		return t, ev, rd, true
	}
	if post || ev.Access == conference.AccessRegistered {
		ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
		defer cancel()
		if _, err := h.Store.RegistrationFor(ctx, ev.ID, rd.acct.ID); err != nil {
			if isNotFoundErr(err) {
				writeError(w, http.StatusForbidden, "", "register for %s to take part in the chat", ev.Title)
			} else {
				h.fail(w, r, err)
			}
			return t, ev, rd, false
		}
	}
	return t, ev, rd, true
}

// chatFail answers a chat error: rate limits with 429 and Retry-After.
func (h *Handler) chatFail(w http.ResponseWriter, r *http.Request, err error) {
	var rl *conference.RateLimitedError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", retryAfter(rl.Wait))
		writeError(w, http.StatusTooManyRequests, "", "%v", err)
		return
	}
	h.fail(w, r, err)
}

func (h *Handler) chatEnabled(w http.ResponseWriter) bool {
	if h.Chat == nil {
		writeError(w, http.StatusNotFound, "", "chat is not enabled on this server")
		return false
	}
	return true
}

// pathID reads a numeric path value.
func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, name, "no %s %q", name, r.PathValue(name))
		return 0, false
	}
	return id, true
}

// ListMessages answers GET /tracks/{track}/messages: the newest messages,
// oldest first (organizers also see hidden ones).
func (h *Handler) ListMessages(w http.ResponseWriter, r *http.Request) {
	if !h.chatEnabled(w) {
		return
	}
	t, _, rd, ok := h.chatAccess(w, r, false)
	if !ok {
		return
	}
	ms, err := h.Chat.Messages.Messages(r.Context(), t.ID, conference.ChatHistory, rd.moderator)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []messageView{}
	for _, m := range ms {
		out = append(out, ViewMessage(t.Slug, m, rd.moderator))
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

// PostMessage answers POST /tracks/{track}/messages {"body", "reply_to"}.
func (h *Handler) PostMessage(w http.ResponseWriter, r *http.Request) {
	if !h.chatEnabled(w) {
		return
	}
	var in struct {
		Body    string `json:"body"`
		ReplyTo int64  `json:"reply_to"`
	}
	if !decode(w, r, &in) {
		return
	}
	t, ev, rd, ok := h.chatAccess(w, r, true)
	if !ok {
		return
	}
	acct, ok := h.poster(w, r, rd)
	if !ok {
		return
	}
	m, err := h.Chat.Post(r.Context(), ev, t, acct, in.Body, in.ReplyTo)
	if err != nil {
		h.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, ViewMessage(t.Slug, m, rd.moderator))
}

// poster is the account a post is made as: an admin-token organizer has
// none and cannot post.
func (h *Handler) poster(w http.ResponseWriter, r *http.Request, rd chatReader) (conference.Account, bool) {
	if rd.acct == nil {
		writeError(w, http.StatusForbidden, "", "log in with an account to post (the admin token has no name to post under)")
		return conference.Account{}, false
	}
	return *rd.acct, true
}

// ModerateMessage answers PATCH /tracks/{track}/messages/{id} {"hidden"}
// (organizer).
func (h *Handler) ModerateMessage(w http.ResponseWriter, r *http.Request) {
	if !h.chatEnabled(w) {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in struct {
		Hidden bool `json:"hidden"`
	}
	if !decode(w, r, &in) {
		return
	}
	t, ev, ok := h.track(w, r)
	if !ok {
		return
	}
	m, err := h.Chat.HideMessage(r.Context(), ev, t, id, in.Hidden)
	if err != nil {
		h.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ViewMessage(t.Slug, m, true))
}

// ListQuestions answers GET /tracks/{track}/questions: most votes first,
// with "voted" for the caller's own votes.
func (h *Handler) ListQuestions(w http.ResponseWriter, r *http.Request) {
	if !h.chatEnabled(w) {
		return
	}
	t, _, rd, ok := h.chatAccess(w, r, false)
	if !ok {
		return
	}
	qs, err := h.Chat.Questions.Questions(r.Context(), t.ID, rd.moderator)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	voted := map[int64]bool{}
	if rd.acct != nil {
		if voted, err = h.Chat.Questions.VotedQuestions(r.Context(), t.ID, rd.acct.ID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	out := []questionView{}
	for _, q := range qs {
		out = append(out, ViewQuestion(t.Slug, q, rd.moderator, voted[q.ID]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"questions": out})
}

// AskQuestion answers POST /tracks/{track}/questions {"body"}.
func (h *Handler) AskQuestion(w http.ResponseWriter, r *http.Request) {
	if !h.chatEnabled(w) {
		return
	}
	var in struct {
		Body string `json:"body"`
	}
	if !decode(w, r, &in) {
		return
	}
	t, ev, rd, ok := h.chatAccess(w, r, true)
	if !ok {
		return
	}
	acct, ok := h.poster(w, r, rd)
	if !ok {
		return
	}
	q, err := h.Chat.Ask(r.Context(), ev, t, acct, in.Body)
	if err != nil {
		h.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, ViewQuestion(t.Slug, q, rd.moderator, false))
}

// Vote answers PUT (vote) and DELETE (take the vote back)
// /tracks/{track}/questions/{id}/vote: one vote per attendee.
func (h *Handler) Vote(w http.ResponseWriter, r *http.Request) {
	if !h.chatEnabled(w) {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	t, ev, rd, ok := h.chatAccess(w, r, true)
	if !ok {
		return
	}
	acct, ok := h.poster(w, r, rd)
	if !ok {
		return
	}
	up := r.Method == http.MethodPut
	q, err := h.Chat.Vote(r.Context(), ev, t, acct, id, up)
	if isNotFoundErr(err) {
		writeError(w, http.StatusNotFound, "question", "no question %d on track %q", id, t.Slug)
		return
	}
	if err != nil {
		h.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ViewQuestion(t.Slug, q, rd.moderator, up))
}

// ModerateQuestion answers PATCH /tracks/{track}/questions/{id}
// {"answered", "hidden"} (organizer; a field left out keeps its value).
func (h *Handler) ModerateQuestion(w http.ResponseWriter, r *http.Request) {
	if !h.chatEnabled(w) {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in struct {
		Answered *bool `json:"answered"`
		Hidden   *bool `json:"hidden"`
	}
	if !decode(w, r, &in) {
		return
	}
	t, ev, ok := h.track(w, r)
	if !ok {
		return
	}
	q, err := h.Chat.SetQuestion(r.Context(), ev, t, id, in.Answered, in.Hidden)
	if err != nil {
		h.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ViewQuestion(t.Slug, q, true, false))
}
