-- Schema 8: each record's connection retries (record.Record.ConnRetries):
-- the times the request went once more on a new connection because the
-- server had closed the reused one before any response byte. The statistics
-- read it (stats.Group.ConnRetries), so that recomputed summaries count
-- them as the live ones did. Records from before this schema have 0. A 0
-- costs no byte beyond its type in the row.

ALTER TABLE records ADD COLUMN connection_retries INTEGER NOT NULL DEFAULT 0;
