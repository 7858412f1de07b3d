-- Schema 17: the leaderboard's index (package board). One row per
-- completed run × model × load level (one per model for a profiled run),
-- written when the run is saved, from its stored summaries: its
-- configuration (suite, scenarios, load, profile: rows of different
-- configurations are never compared), the machine from its fingerprint,
-- the engine, and the headline figures. The board and the trend view read
-- this table only, never the records. runs.board marks the runs already
-- indexed (0: a run saved before this schema, indexed on the board's next
-- read).

CREATE TABLE board (
	run_id         TEXT    NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	model          TEXT    NOT NULL,
	stage          TEXT    NOT NULL,  -- the load level's label in a sweep; '' otherwise
	started        BIGINT  NOT NULL,  -- the run's start, unix ns
	suite          TEXT    NOT NULL,
	scenarios      TEXT    NOT NULL,  -- sorted, comma-separated
	load           TEXT    NOT NULL,  -- board.LoadOf
	profile        TEXT    NOT NULL,  -- a profile's ID; '' for a custom run
	machine        TEXT    NOT NULL,  -- board.Machine.Key
	machine_json   TEXT    NOT NULL,  -- board.Machine as JSON
	class          TEXT    NOT NULL,  -- hardware class
	engine         TEXT    NOT NULL,
	engine_version TEXT    NOT NULL,
	quant          TEXT    NOT NULL,
	simulated      INTEGER NOT NULL,  -- 0 or 1
	power          TEXT    NOT NULL,  -- ac, battery or unknown: what powered the machine
	requests       INTEGER NOT NULL,
	ok             INTEGER NOT NULL,
	error_rate     REAL    NOT NULL,
	ttft_p50_ms    REAL,              -- NULL: no samples
	decode_p50_tps REAL,
	output_tps     REAL,
	e2e_p95_ms     REAL,
	j_per_token    REAL,              -- NULL: power not measured
	score          REAL,              -- a profiled model's composite score; NULL otherwise
	score_complete INTEGER NOT NULL,  -- 0 or 1
	PRIMARY KEY (run_id, model, stage)
);

-- The matrix of one configuration groups its rows by model and machine
-- and takes each pair's newest; listing the configurations counts runs,
-- models and machines; the filters list engines, versions and
-- quantisations: each reads this index alone.
CREATE INDEX board_config ON board (suite, scenarios, load, profile, model, machine, started, run_id, engine, engine_version, quant);

CREATE INDEX board_trend ON board (machine, model, started);

ALTER TABLE runs ADD COLUMN board INTEGER NOT NULL DEFAULT 0;

CREATE INDEX runs_board ON runs (board, status);
