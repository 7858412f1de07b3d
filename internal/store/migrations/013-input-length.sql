-- Schema 13: each record's requested input length, in the model's own
-- tokens, and how it was made exact (input_length_method: tokenizer,
-- calibration, gguf or estimate; README: Input lengths). Records of
-- scenarios without input_tokens, and records stored before it, read 0
-- and '' ("no length asked for").

ALTER TABLE records ADD COLUMN requested_input_tokens INTEGER NOT NULL DEFAULT 0;

ALTER TABLE records ADD COLUMN input_length_method TEXT NOT NULL DEFAULT '';
