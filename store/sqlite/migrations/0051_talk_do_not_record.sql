-- A speaker's recording opt-out (pretalx/frab do_not_record): 1 when set.
ALTER TABLE talks ADD COLUMN do_not_record INTEGER NOT NULL DEFAULT 0 CHECK (do_not_record IN (0, 1));
