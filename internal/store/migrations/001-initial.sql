-- Schema 1: runs, their per-request records and their summaries.
-- Every time is INTEGER unix nanoseconds; every duration INTEGER nanoseconds.
-- NULL means "unknown" or "did not happen", never zero: counts of 0 are 0.

CREATE TABLE runs (
	id         TEXT    NOT NULL PRIMARY KEY,
	started    INTEGER NOT NULL,             -- unix ns
	ended      INTEGER,                      -- unix ns; NULL while running or when never known
	status     TEXT    NOT NULL,             -- running, completed, interrupted, canceled
	tool       TEXT    NOT NULL,             -- JSON runner.Tool
	engine     TEXT    NOT NULL,             -- JSON engine.Info
	config     TEXT    NOT NULL,             -- JSON runner.Config (never a secret)
	suite      TEXT    NOT NULL,             -- JSON runner.SuiteInfo
	hardware   TEXT,                         -- JSON, reserved for telemetry; NULL until then
	warnings   TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
	owner_pid  INTEGER NOT NULL,             -- process writing the run; 0: none (imported)
	owner_host TEXT    NOT NULL,             -- its host name
	heartbeat  INTEGER NOT NULL,             -- unix ns of the owner's last sign of life
	records    INTEGER NOT NULL DEFAULT 0    -- records stored so far
) STRICT;

-- One row per request record, every field of record.Record in its own column.
CREATE TABLE records (
	run_id          TEXT    NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	seq             INTEGER NOT NULL,
	model           TEXT    NOT NULL,
	scenario        TEXT    NOT NULL,
	stage           TEXT    NOT NULL,
	worker          INTEGER NOT NULL,
	warmup          INTEGER NOT NULL,  -- 0 or 1
	stream          INTEGER NOT NULL,  -- 0 or 1
	max_tokens      INTEGER NOT NULL,
	attempt         INTEGER NOT NULL,
	endpoint        TEXT    NOT NULL,
	scheduled       INTEGER,           -- unix ns; NULL: zero time
	sent            INTEGER,           -- unix ns; NULL: zero time
	first_byte_ns   INTEGER,           -- offsets from sent; NULL: did not happen
	first_token_ns  INTEGER,
	first_answer_ns INTEGER,
	last_token_ns   INTEGER,
	end_ns          INTEGER,
	chunk_count     INTEGER NOT NULL,
	reason_chunks   INTEGER NOT NULL,
	input_tokens    INTEGER NOT NULL,
	input_source    TEXT    NOT NULL,
	output_tokens   INTEGER NOT NULL,
	output_source   TEXT    NOT NULL,
	engine_output_tokens    INTEGER NOT NULL,
	estimated_output_tokens INTEGER NOT NULL,
	cached_tokens   INTEGER NOT NULL,
	status          INTEGER NOT NULL,  -- HTTP status; 0: no response
	finish_reason   TEXT    NOT NULL,
	outcome         TEXT    NOT NULL,
	phase           TEXT    NOT NULL,
	text_bytes      INTEGER NOT NULL,
	chunks          BLOB,              -- chunks.go codec; NULL: no chunks
	error           TEXT    NOT NULL,
	text            TEXT    NOT NULL,
	PRIMARY KEY (run_id, seq)
) STRICT;

-- The summaries FinishRun stored: one row per model × scenario × stage
-- ('group'), per model × stage ('model') and for the run ('total'), with the
-- headline figures in typed columns and the whole stats.Group as JSON.
CREATE TABLE summaries (
	run_id              TEXT    NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	kind                TEXT    NOT NULL CHECK (kind IN ('group', 'model', 'total')),
	model               TEXT    NOT NULL,
	scenario            TEXT    NOT NULL,
	stage               TEXT    NOT NULL,
	ord                 INTEGER NOT NULL, -- position in the run's list of that kind
	requests            INTEGER NOT NULL,
	ok                  INTEGER NOT NULL,
	error_rate          REAL    NOT NULL,
	ttft_p50_ms         REAL,             -- NULL: no samples
	decode_p50_tps      REAL,             -- NULL: no samples
	output_tokens_per_s REAL    NOT NULL,
	json                TEXT    NOT NULL,
	PRIMARY KEY (run_id, kind, model, scenario, stage)
) STRICT;
