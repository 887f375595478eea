-- Events, tracks, and the hashes of stream keys and admin tokens.
CREATE TABLE events (
	id         INTEGER PRIMARY KEY,
	slug       TEXT    NOT NULL UNIQUE,
	title      TEXT    NOT NULL,
	created_at INTEGER NOT NULL -- unix milliseconds
);

CREATE TABLE tracks (
	id       INTEGER PRIMARY KEY,
	event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	slug     TEXT    NOT NULL UNIQUE,
	title    TEXT    NOT NULL
);
CREATE INDEX tracks_event_id ON tracks(event_id);

-- One stream key per track; key_hash is SHA-256 of the plaintext key.
CREATE TABLE stream_keys (
	track_id   INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
	key_hash   BLOB    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);

-- token_hash is SHA-256 of the plaintext admin token.
CREATE TABLE admin_tokens (
	id         INTEGER PRIMARY KEY,
	token_hash BLOB    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);
