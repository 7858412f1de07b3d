package bench

import (
	"context"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/record"
)

// TestPrompt is the prompt of a model test when none is given.
const TestPrompt = "Say hello in one short sentence."

// TestModel sends model one short non-streamed completion (at most 50
// tokens, a 2-minute deadline) and returns its record: reply, latency and
// token count when it worked, outcome and error when not (the original's
// "Test" button).
func TestModel(ctx context.Context, info engine.Info, cred Credentials, model, prompt string) record.Record {
	c := backend.New(info.Endpoint, backend.Options{Authorization: cred.Authorization(), Timeout: 2 * time.Minute})
	rec := record.Record{Model: model}
	c.Do(ctx, backend.Request{Model: model, Messages: []backend.Message{{Role: "user", Content: prompt}}, MaxTokens: 50}, &rec)
	return rec
}
