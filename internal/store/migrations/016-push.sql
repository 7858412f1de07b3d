-- Schema 16: runs pushed from other machines (flperf push, flperf run
-- --push) and pulled back (flperf pull). A push is an upload session:
-- push_sessions holds the run's header (the export document without its
-- records), the announced record count and content digest, and how many
-- records arrived; push_chunks holds the records as received, a chunk per
-- row, in order. Nothing of a session is visible as a run: the run is
-- written in one transaction when every record has arrived and the digest
-- matches, and the session is deleted with it. run_origins says where a
-- pushed or pulled run came from, with its content digest, so that a run
-- pushed twice is recognised (docs/api.md, "Pushing runs").

CREATE TABLE push_sessions (
	run_id   TEXT   NOT NULL PRIMARY KEY,
	header   BLOB   NOT NULL,
	total    BIGINT NOT NULL,
	received BIGINT NOT NULL DEFAULT 0,
	digest   TEXT   NOT NULL,
	origin   TEXT   NOT NULL,
	started  BIGINT NOT NULL,
	updated  BIGINT NOT NULL
);

CREATE TABLE push_chunks (
	run_id      TEXT   NOT NULL REFERENCES push_sessions(run_id) ON DELETE CASCADE,
	first_index BIGINT NOT NULL,
	n           BIGINT NOT NULL,
	body        BLOB   NOT NULL,
	PRIMARY KEY (run_id, first_index)
);

CREATE TABLE run_origins (
	run_id TEXT NOT NULL PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
	digest TEXT NOT NULL,
	origin TEXT NOT NULL
);
