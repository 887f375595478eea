-- Chat and Q&A per track (issue 10), and the organizer role.
CREATE TABLE chat_messages (
	id         INTEGER PRIMARY KEY,
	track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	author     TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	reply_to   INTEGER REFERENCES chat_messages(id) ON DELETE SET NULL,
	hidden     INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE INDEX chat_messages_track ON chat_messages(track_id, id);

CREATE TABLE questions (
	id         INTEGER PRIMARY KEY,
	track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	author     TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	votes      INTEGER NOT NULL DEFAULT 0, -- COUNT of question_votes, kept in step
	answered   INTEGER NOT NULL DEFAULT 0,
	hidden     INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE INDEX questions_track ON questions(track_id, votes DESC, id);

-- One vote per account and question.
CREATE TABLE question_votes (
	question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
	account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	PRIMARY KEY (question_id, account_id)
) WITHOUT ROWID;

CREATE TABLE organizers (
	account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL
);
