package conference

import (
	"context"
	"strings"
	"time"
)

// Length limits of chat lines and questions, in characters.
const (
	MaxChatLen     = 500
	MaxQuestionLen = 300
	// ChatHistory is how many recent messages a late joiner is shown.
	ChatHistory = 50
	// MaxQuestions is how many questions of a track are listed.
	MaxQuestions = 200
)

// ChatMessage is one line of a track's chat, posted by an attendee.
type ChatMessage struct {
	ID        int64
	TrackID   int64
	AccountID int64
	// Author is the account's name when it posted.
	Author string
	Body   string
	// ReplyTo is the message this one answers (0: none).
	ReplyTo int64
	// Hidden by an organizer: kept for the record, shown to nobody else.
	Hidden    bool
	CreatedAt time.Time
}

// Question is a question for the speaker of a track; attendees upvote
// it (one vote per attendee) and organizers mark it answered.
type Question struct {
	ID        int64
	TrackID   int64
	AccountID int64
	Author    string
	Body      string
	Votes     int
	Answered  bool
	Hidden    bool
	CreatedAt time.Time
}

// ChatStore keeps chat messages.
type ChatStore interface {
	// AddMessage stores m (ID set by the store); a ReplyTo that is not a
	// message of the same track is ErrNotFound.
	AddMessage(ctx context.Context, m ChatMessage) (ChatMessage, error)
	// Messages returns the track's newest limit messages, oldest first;
	// hidden ones only with withHidden.
	Messages(ctx context.Context, trackID int64, limit int, withHidden bool) ([]ChatMessage, error)
	MessageByID(ctx context.Context, id int64) (ChatMessage, error)
	// SetMessageHidden hides or shows a message and returns it.
	SetMessageHidden(ctx context.Context, id int64, hidden bool) (ChatMessage, error)
}

// QuestionStore keeps questions and their votes.
type QuestionStore interface {
	AddQuestion(ctx context.Context, q Question) (Question, error)
	// Questions returns the track's questions, most votes first, then
	// oldest first; hidden ones only with withHidden.
	Questions(ctx context.Context, trackID int64, withHidden bool) ([]Question, error)
	QuestionByID(ctx context.Context, id int64) (Question, error)
	// Vote adds (up) or removes the account's vote on the question, once
	// per account whatever the number of calls, and returns the question
	// with its new count.
	Vote(ctx context.Context, questionID, accountID int64, up bool) (Question, error)
	// VotedQuestions returns the ids of the track's questions the account
	// voted for.
	VotedQuestions(ctx context.Context, trackID, accountID int64) (map[int64]bool, error)
	// SetQuestionState marks a question answered and/or hidden (nil
	// leaves a flag as it is) and returns it.
	SetQuestionState(ctx context.Context, id int64, answered, hidden *bool) (Question, error)
}

// CheckChatBody validates a chat line: required, one line, at most
// MaxChatLen characters. Surrounding blanks are trimmed first.
func CheckChatBody(s string) (string, error) {
	s = strings.TrimSpace(s)
	return s, checkText("body", s, true, false, MaxChatLen)
}

// CheckQuestionBody validates a question like a chat line, at most
// MaxQuestionLen characters.
func CheckQuestionBody(s string) (string, error) {
	s = strings.TrimSpace(s)
	return s, checkText("body", s, true, false, MaxQuestionLen)
}
