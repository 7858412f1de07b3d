-- Schema 12: each record's generated text and prompt lengths in characters
-- (Unicode code points), the denominators of tokens per character and
-- characters per second (docs/metrics.md §3). Records stored before it did
-- not count them and read 0, "not counted".

ALTER TABLE records ADD COLUMN text_chars INTEGER NOT NULL DEFAULT 0;

ALTER TABLE records ADD COLUMN prompt_chars INTEGER NOT NULL DEFAULT 0;
