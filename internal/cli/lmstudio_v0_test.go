package cli

import (
	"net/http/httptest"
	"testing"
	"time"

	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// TestRunLMStudioV0 runs against LM Studio's own REST API, as the README
// advises for its per-response stats: `--endpoint …/api/v0 --no-stream`
// must send chats to /api/v0/chat/completions (not /api/v0/v1/…), find the
// engine as LM Studio through the server's root, and keep the stats of
// every answer as the engine's own figures. With no --model, the embedding
// model that LM Studio lists beside its language models is left out.
func TestRunLMStudioV0(t *testing.T) {
	f, err := dialect.NewLMStudio(sim.Profile{Name: "qwen2.5-7b-instruct", TTFT: 5 * time.Millisecond, DecodeTPS: 5000, OutputTokens: 8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	o := run(t, "run", "--endpoint", s.URL+"/api/v0/", "--no-stream", "--no-save", "--requests", "4", "--warmup", "0",
		"--scenario", "Simple Q&A - Short", "--sample-interval", "off", "--format", "jsonl")
	wantCode(t, o, 0)
	recs := jsonlRecords(t, o.stdout)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4\n%s", len(recs), o.stderr)
	}
	for _, r := range recs {
		if r["model"] != "qwen2.5-7b-instruct" {
			t.Errorf("record %v benchmarks %v: LM Studio's embedding model is not a chat model", r["seq"], r["model"])
		}
		if r["outcome"] != "ok" || r["endpoint"] != s.URL+"/api/v0" {
			t.Errorf("record %v: outcome %v at %v, want ok at %s/api/v0", r["seq"], r["outcome"], r["endpoint"], s.URL)
		}
		srv, _ := r["server"].(map[string]any)
		if srv == nil || srv["decode_tps"] == nil || srv["ttft_ms"] == nil {
			t.Errorf("record %v carries no LM Studio stats: %v", r["seq"], r["server"])
		}
	}
}
