-- Talk ids are never reused. Recordings (recorder/talks/<id>.json) and the
-- live channel name talks by id, and SQLite gives a new row the id of the
-- newest row deleted (INTEGER PRIMARY KEY without AUTOINCREMENT), so a talk
-- created after one was deleted would take over its recording.
-- talk_id_high keeps the highest id ever deleted (cascades included);
-- insertTalk numbers a new talk above it and above every stored one.
CREATE TABLE talk_id_high (high INTEGER NOT NULL);
INSERT INTO talk_id_high (high) SELECT COALESCE(MAX(id), 0) FROM talks;
CREATE TRIGGER talks_id_high AFTER DELETE ON talks BEGIN
	UPDATE talk_id_high SET high = MAX(high, OLD.id);
END;
