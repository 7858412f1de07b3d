-- Schema 2: a log of each run's events (stage changes, warnings, notes,
-- "marked interrupted"), and an index for listing runs newest first.

CREATE TABLE events (
	id      INTEGER PRIMARY KEY,
	run_id  TEXT    NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	at      INTEGER NOT NULL, -- unix ns
	level   TEXT    NOT NULL, -- info, warn, error
	message TEXT    NOT NULL
) STRICT;

CREATE INDEX events_by_run ON events (run_id, id);

CREATE INDEX runs_by_started ON runs (started DESC, id DESC);
