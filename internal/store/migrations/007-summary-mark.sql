-- Schema 7: what a run's stored summaries were computed from. FinishRun and
-- Import store the summaries the store recomputes from the run's stored
-- records (what Run would otherwise compute on every read), marked with the
-- run's record count and heartbeat at that moment and the flperf build
-- that computed them. Run returns the stored summaries while the run is
-- over, its record count and heartbeat are still those (no record was
-- written since) and it is the same build; otherwise it recomputes. NULL:
-- summaries from before this schema (the live figures), never returned as
-- they are.

ALTER TABLE runs ADD COLUMN summary_records INTEGER;

ALTER TABLE runs ADD COLUMN summary_beat INTEGER;

ALTER TABLE runs ADD COLUMN summary_build TEXT;
