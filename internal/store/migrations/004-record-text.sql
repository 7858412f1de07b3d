-- Schema 4: each record's error and generated text move out of records into
-- a table of their own, so that records holds only short columns: reading
-- the statistics' columns of a run's records (recomputing its summary)
-- pages through about half the bytes it did. Records without either have no
-- record_text row. record_text is keyed by its primary key alone (WITHOUT
-- ROWID: one b-tree to write, not a table and an index); a long text spills
-- to overflow pages, which only export reads. Every other column of records
-- stays as it was.

CREATE TABLE record_text (
	run_id TEXT    NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	seq    INTEGER NOT NULL,
	error  TEXT    NOT NULL,  -- error text (HTTP error bodies: first 1 KiB)
	text   TEXT    NOT NULL,  -- generated text, untrusted, first record.TextLimit bytes
	PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;

INSERT INTO record_text (run_id, seq, error, text)
	SELECT run_id, seq, error, text FROM records WHERE error != '' OR text != '' ORDER BY rowid;

-- records without error and text, rebuilt in one copy (rowid order kept).
CREATE TABLE records_new (
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
	PRIMARY KEY (run_id, seq)
) STRICT;

INSERT INTO records_new
	SELECT run_id, seq, model, scenario, stage, worker, warmup, stream, max_tokens, attempt, endpoint,
		scheduled, sent, first_byte_ns, first_token_ns, first_answer_ns, last_token_ns, end_ns,
		chunk_count, reason_chunks, input_tokens, input_source, output_tokens, output_source,
		engine_output_tokens, estimated_output_tokens, cached_tokens, status, finish_reason, outcome, phase,
		text_bytes, chunks
	FROM records ORDER BY rowid;

DROP TABLE records;

ALTER TABLE records_new RENAME TO records;
