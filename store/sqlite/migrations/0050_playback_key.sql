-- The HMAC-SHA256 key that signs playback tokens (web/gate). One row; kept in
-- the database rather than a file so that every kast node sharing a
-- database verifies the tokens any of them issued, and a backup of the
-- database keeps viewers' tokens valid after a restore.
CREATE TABLE playback_keys (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	key        BLOB    NOT NULL,
	created_at INTEGER NOT NULL -- unix milliseconds
);
