-- Schema 9: each run's engine series: the engine's own queue and cache
-- sampled while the run went (engineseries.Series as JSON: requests running
-- and waiting, KV cache, busy slots, loaded models and their VRAM), one row
-- per run, written when the run ends. A run of an engine with no such
-- figures (or sampled with sampling off) has no row.

CREATE TABLE run_engine_series (
	run_id TEXT NOT NULL PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
	series TEXT NOT NULL       -- engineseries.Series as JSON
) STRICT;
