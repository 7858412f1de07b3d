-- Schema 3: the engine's own figures per stage (runner.Result.Server: the
-- difference of its Prometheus /metrics before and after each model ×
-- scenario), kept beside the client's. '[]' for runs without them.

ALTER TABLE runs ADD COLUMN server TEXT NOT NULL DEFAULT '[]';
