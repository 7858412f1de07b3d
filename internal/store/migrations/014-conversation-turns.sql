-- Schema 14: each record's conversation turn, from 1 (0: the request was not
-- a conversation's turn), for the per-turn figures of docs/metrics.md §12.
-- Records stored before it read 0.

ALTER TABLE records ADD COLUMN turn INTEGER NOT NULL DEFAULT 0;
