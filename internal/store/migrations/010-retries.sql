-- Schema 10: user retries (flperf run --retries N, docs/metrics.md §4).
-- Every attempt of a request is a record: retry_of is the seq of the
-- attempt a retry repeats (NULL for a first attempt), retried marks an
-- attempt that a later one repeated (its failure is not the request's
-- final outcome), and retry_wait_ns is how long after the first attempt's
-- t_send this one was sent (0 for a first attempt). The statistics read
-- attempt, retried and retry_wait_ns, so that recomputed summaries count
-- recovered requests and first-attempt figures as the live ones did.
-- Records from before this schema are first attempts never retried.

ALTER TABLE records ADD COLUMN retry_of INTEGER;
ALTER TABLE records ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN retry_wait_ns INTEGER NOT NULL DEFAULT 0;
