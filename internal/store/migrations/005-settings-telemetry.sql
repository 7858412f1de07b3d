-- Schema 5: the app's settings (defaults for new runs, user-added engine
-- endpoints), and each run's resource telemetry: the summaries per stage and
-- model in runs.resources (JSON, NULL: not sampled), and the sampled time
-- series in run_samples (JSON, one row per run, written when the run ends).

CREATE TABLE settings (
	key     TEXT    NOT NULL PRIMARY KEY,
	value   TEXT    NOT NULL,  -- JSON
	updated INTEGER NOT NULL   -- unix ns
) STRICT;

ALTER TABLE runs ADD COLUMN resources TEXT;

CREATE TABLE run_samples (
	run_id TEXT NOT NULL PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
	series TEXT NOT NULL       -- telemetry.Series as JSON
) STRICT;
