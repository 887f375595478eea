-- Accounts, registrations (one per account and event) and login sessions.
CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE, -- normalized (lower case)
	name          TEXT    NOT NULL,
	password_hash TEXT    NOT NULL,        -- argon2id PHC string
	created_at    INTEGER NOT NULL
);

CREATE TABLE registrations (
	id              INTEGER PRIMARY KEY,
	event_id        INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	affiliation     TEXT    NOT NULL DEFAULT '',
	participation   TEXT    NOT NULL CHECK (participation IN ('online', 'offline')),
	consent_terms   INTEGER NOT NULL DEFAULT 0,
	consent_contact INTEGER NOT NULL DEFAULT 0,
	ticket          TEXT    NOT NULL UNIQUE,
	created_at      INTEGER NOT NULL,
	checked_in_at   INTEGER, -- NULL until checked in
	UNIQUE (event_id, account_id)
);
CREATE INDEX registrations_event_participation ON registrations(event_id, participation);
CREATE INDEX registrations_account ON registrations(account_id);

-- token_hash is SHA-256 of the session cookie's value.
CREATE TABLE sessions (
	id         INTEGER PRIMARY KEY,
	token_hash BLOB    NOT NULL UNIQUE,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
