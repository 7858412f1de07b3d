package backend

import (
	"context"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// TestServerTimingsLlamaCpp checks that llama.cpp's per-response timings
// land in rec.Server beside the client's figures, streaming and not, and
// that the engine's prefill time sits below the client's TTFT (it cannot be
// longer: the client saw the first token after the engine produced it).
func TestServerTimingsLlamaCpp(t *testing.T) {
	l, err := dialect.NewLlamaCpp(sim.Profile{Name: "m.gguf", TTFT: 20 * time.Millisecond, PrefillTPS: 2000, DecodeTPS: 1000, OutputTokens: 12, Seed: 3}, dialect.LlamaCppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l)
	t.Cleanup(s.Close)
	c := New(s.URL+"/v1", Options{})
	for _, stream := range []bool{true, false} {
		rec := &record.Record{}
		c.Do(context.Background(), Request{Model: "m.gguf", Messages: []Message{{Role: "user", Content: "Tell me about the sea and the sky"}}, MaxTokens: 50, Stream: stream}, rec)
		if rec.Outcome != record.OK {
			t.Fatalf("stream %v: %s %s", stream, rec.Outcome, rec.Error)
		}
		sv := rec.Server
		if sv == nil || sv.PromptMS == nil || sv.DecodeMS == nil || sv.PromptTokens == nil || sv.DecodeTokens == nil {
			t.Fatalf("stream %v: server timings %+v", stream, sv)
		}
		if *sv.DecodeTokens != rec.OutputTokens || rec.EngineOutTokens != *sv.DecodeTokens {
			t.Errorf("stream %v: engine decoded %d tokens, record says %d (engine %d)", stream, *sv.DecodeTokens, rec.OutputTokens, rec.EngineOutTokens)
		}
		if *sv.PromptMS < 19 || *sv.DecodeMS <= 0 || sv.TTFTMS != nil || sv.LoadMS != nil {
			t.Errorf("stream %v: prompt %v ms decode %v ms ttft %v load %v", stream, *sv.PromptMS, *sv.DecodeMS, sv.TTFTMS, sv.LoadMS)
		}
		if stream && float64(rec.FirstToken)/1e6 < *sv.PromptMS {
			t.Errorf("client TTFT %v is below the engine's prefill %v ms", rec.FirstToken, *sv.PromptMS)
		}
		if rate, ok := sv.DecodeRate(); !ok || rate < 500 || rate > 1500 {
			t.Errorf("stream %v: engine decode rate %v (ok %v), profile 1000 tok/s", stream, rate, ok)
		}
	}
}

// TestServerTimingsOllamaNative checks that Ollama's native durations (ns)
// become ms in rec.Server and agree with the OllamaTimings DoTimings returns.
func TestServerTimingsOllamaNative(t *testing.T) {
	f := newOllamaFake(t, sim.Profile{Name: "m:1b", TTFT: 15 * time.Millisecond, DecodeTPS: 800, OutputTokens: 10, Seed: 1})
	c := NewOllamaNative(f.URL, Options{})
	rec, tm := ollamaRun(t, context.Background(), c, ollamaReq("m:1b", 40))
	if rec.Outcome != record.OK || !tm.Reported {
		t.Fatalf("%s %s reported %v", rec.Outcome, rec.Error, tm.Reported)
	}
	sv := rec.Server
	if sv == nil || sv.TotalMS == nil || sv.PromptMS == nil || sv.DecodeMS == nil || sv.DecodeTokens == nil {
		t.Fatalf("server timings %+v", sv)
	}
	near := func(name string, got float64, want time.Duration) {
		if math.Abs(got-float64(want)/1e6) > 1e-9 {
			t.Errorf("%s: %v ms, DoTimings says %v", name, got, want)
		}
	}
	near("total", *sv.TotalMS, tm.TotalDuration)
	near("prompt", *sv.PromptMS, tm.PromptEvalDuration)
	near("decode", *sv.DecodeMS, tm.EvalDuration)
	if *sv.DecodeTokens != tm.EvalCount || *sv.DecodeTokens != rec.OutputTokens {
		t.Errorf("decode tokens %d, eval_count %d, record %d", *sv.DecodeTokens, tm.EvalCount, rec.OutputTokens)
	}
	if ttft, ok := sv.EngineTTFT(); !ok || ttft > float64(rec.FirstToken)/1e6+1 {
		t.Errorf("engine TTFT %v ms (ok %v) vs client %v", ttft, ok, rec.FirstToken)
	}
}

// TestServerTimingsLMStudio checks LM Studio's /api/v0 stats (seconds) on a
// non-streaming answer, and that its streams, which carry none, leave
// rec.Server nil rather than zeros.
func TestServerTimingsLMStudio(t *testing.T) {
	l, err := dialect.NewLMStudio(sim.Profile{Name: "qwen", TTFT: 10 * time.Millisecond, DecodeTPS: 2000, OutputTokens: 20, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l)
	t.Cleanup(s.Close)
	c := New(s.URL+"/api/v0", Options{})
	req := Request{Model: "qwen", Messages: []Message{{Role: "user", Content: "hello"}}, MaxTokens: 50}
	rec := &record.Record{}
	c.Do(context.Background(), req, rec)
	if rec.Outcome != record.OK {
		t.Fatalf("%s %s", rec.Outcome, rec.Error)
	}
	sv := rec.Server
	if sv == nil || sv.TTFTMS == nil || sv.DecodeTPS == nil || sv.DecodeMS == nil || sv.PromptMS != nil {
		t.Fatalf("stats %+v", sv)
	}
	if *sv.TTFTMS < 9 || *sv.TTFTMS > float64(rec.End)/1e6 || *sv.DecodeTPS <= 0 {
		t.Errorf("engine TTFT %v ms (client E2E %v), rate %v", *sv.TTFTMS, rec.End, *sv.DecodeTPS)
	}
	req.Stream = true
	rec = &record.Record{}
	c.Do(context.Background(), req, rec)
	if rec.Outcome != record.OK || rec.Server != nil {
		t.Errorf("stream: %s, server %+v (LM Studio streams carry no stats)", rec.Outcome, rec.Server)
	}
}
