-- Schema 11: runs imported from the original FLPerformance (flperf import
-- of its storage.json or benchmarks.db). runs.legacy holds the figures it
-- stored, as it computed them (legacy.Run as JSON: source, configuration,
-- caveats, methods, result rows and per-iteration figures); NULL for
-- flperf's own runs. A legacy run has no records and an empty summary.

ALTER TABLE runs ADD COLUMN legacy TEXT;
