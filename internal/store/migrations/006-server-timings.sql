-- Schema 6: each record's own account from the engine (record.Server:
-- llama.cpp timings, Ollama's native durations, LM Studio's stats), kept
-- beside the client's figures. A small binary value (servertimings.go);
-- NULL when the engine reported nothing, as most do.

ALTER TABLE records ADD COLUMN server BLOB;
