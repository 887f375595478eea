-- The conference model: event dates, zone, access and capacity; track order
-- and timetable room; talks and their speakers; what each track has on air.
-- Times are unix milliseconds (INTEGER), booleans 0/1.
ALTER TABLE events ADD COLUMN start_at INTEGER; -- NULL: no dates
ALTER TABLE events ADD COLUMN end_at INTEGER;
ALTER TABLE events ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE events ADD COLUMN access TEXT NOT NULL DEFAULT 'public'
	CHECK (access IN ('public', 'registered'));
ALTER TABLE events ADD COLUMN offline_capacity INTEGER NOT NULL DEFAULT 0
	CHECK (offline_capacity >= 0);
ALTER TABLE events ADD COLUMN status TEXT NOT NULL DEFAULT 'scheduled'
	CHECK (status IN ('scheduled', 'live', 'ended'));
ALTER TABLE events ADD COLUMN auto_on_air INTEGER NOT NULL DEFAULT 0;

ALTER TABLE tracks ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
-- Key of the timetable room the track was imported from; '' if made in kast.
ALTER TABLE tracks ADD COLUMN room TEXT NOT NULL DEFAULT '';

CREATE TABLE talks (
	id       INTEGER PRIMARY KEY,
	event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
	track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	guid     TEXT, -- NULL for talks made in kast
	title    TEXT    NOT NULL,
	abstract TEXT    NOT NULL DEFAULT '',
	kind     TEXT    NOT NULL DEFAULT 'talk' CHECK (kind IN ('talk', 'keynote', 'break')),
	language TEXT    NOT NULL DEFAULT '',
	start_at INTEGER NOT NULL,
	end_at   INTEGER NOT NULL,
	CHECK (end_at > start_at),
	UNIQUE (event_id, guid)
);
CREATE INDEX talks_track_start ON talks(track_id, start_at);
CREATE INDEX talks_event_start ON talks(event_id, start_at);

CREATE TABLE talk_speakers (
	talk_id  INTEGER NOT NULL REFERENCES talks(id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	name     TEXT    NOT NULL,
	bio      TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (talk_id, position)
);

-- What each track shows. talk_id NULL: nothing. A deleted talk leaves NULL.
CREATE TABLE on_air (
	track_id     INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
	talk_id      INTEGER REFERENCES talks(id) ON DELETE SET NULL,
	manual       INTEGER NOT NULL DEFAULT 0,
	manual_until INTEGER, -- NULL: until the next manual switch
	changed_at   INTEGER NOT NULL
);
CREATE INDEX on_air_talk ON on_air(talk_id);
