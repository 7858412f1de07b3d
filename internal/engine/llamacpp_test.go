package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// serveFake serves h on 127.0.0.1 until the test ends and returns its root URL.
func serveFake(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

// llamaProfile is a quick, jitter-free llama.cpp model.
func llamaProfile() sim.Profile {
	return sim.Profile{Name: "Llama-3.2-1B-Instruct-Q4_K_M", TTFT: 20 * time.Millisecond, PrefillTPS: 4000, DecodeTPS: 800, Slots: 2, Seed: 7}
}

func newLlamaFake(t *testing.T, opts dialect.LlamaCppOptions) (*LlamaCppManager, string) {
	t.Helper()
	f, err := dialect.NewLlamaCpp(llamaProfile(), opts)
	if err != nil {
		t.Fatal(err)
	}
	url := serveFake(t, f)
	return NewLlamaCpp(Info{Kind: LlamaCpp, Endpoint: url + "/v1", Simulated: true}, nil), url
}

func TestLlamaCppHealthLoadingThenOK(t *testing.T) {
	m, _ := newLlamaFake(t, dialect.LlamaCppOptions{LoadingHealthCalls: 2})
	ctx := context.Background()
	// Other routes answer 503 while loading too, and say so.
	if _, err := m.Models(ctx, LoadedSet); !errors.Is(err, ErrModelLoading) {
		t.Fatalf("models while loading: %v", err)
	}
	for i := range 2 {
		err := m.Health(ctx)
		if !errors.Is(err, ErrModelLoading) || !strings.Contains(err.Error(), "Loading model") {
			t.Fatalf("health call %d: %v, want model still loading", i, err)
		}
	}
	if err := m.Health(ctx); err != nil {
		t.Fatalf("health once loaded: %v", err)
	}
	if _, err := m.Models(ctx, LoadedSet); err != nil {
		t.Fatalf("models once loaded: %v", err)
	}
}

func TestLlamaCppModelsAndProps(t *testing.T) {
	m, _ := newLlamaFake(t, dialect.LlamaCppOptions{ModelPath: `C:\models\llama\Llama-3.2-1B-Instruct-Q5_K_M.gguf`, ContextLength: 8192, BuildInfo: "b7000-abc"})
	ctx := context.Background()
	props, err := m.Props(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if props != (LlamaCppProps{ModelPath: `C:\models\llama\Llama-3.2-1B-Instruct-Q5_K_M.gguf`, BuildInfo: "b7000-abc", TotalSlots: 2, ContextLen: 8192}) {
		t.Errorf("props %+v", props)
	}
	ms, err := m.Models(ctx, LoadedSet)
	if err != nil || len(ms) != 1 {
		t.Fatalf("models %v %v", ms, err)
	}
	got := ms[0]
	if got.ID != "Llama-3.2-1B-Instruct-Q4_K_M" || got.ContextLength != 8192 || got.Quantization != "Q4_K_M" ||
		got.Alias != "Llama-3.2-1B-Instruct-Q5_K_M" || got.Parameters != "1.2B" || got.SizeBytes != 807694464 ||
		got.Loaded == nil || !*got.Loaded || got.Downloaded == nil || !*got.Downloaded {
		t.Errorf("model %+v", got)
	}
	for _, set := range []ModelSet{CatalogSet, DownloadedSet} {
		if _, err := m.Models(ctx, set); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v", set, err)
		}
	}
	if _, err := m.Load(ctx, "x", LoadOptions{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("load: %v", err)
	}
}

func TestGGUFQuantization(t *testing.T) {
	for name, want := range map[string]string{
		"Llama-3.2-3B-Instruct-Q4_K_M.gguf":                     "Q4_K_M",
		"/m/qwen2.5-0.5b-instruct-q8_0.gguf":                    "Q8_0",
		`C:\gguf\gemma-2-2b-it-IQ2_XXS.gguf`:                    "IQ2_XXS",
		"phi-3-mini-4k-instruct-fp16.gguf":                      "FP16",
		"Meta-Llama-3.1-8B-Instruct-Q4_K_M-00001-of-00002.gguf": "Q4_K_M",
		"Qwen2-7B-Instruct.gguf":                                "",
		"my-alias":                                              "",
		"model.BF16.gguf":                                       "BF16",
	} {
		if got := ggufQuantization(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func TestLlamaCppSlots(t *testing.T) {
	m, _ := newLlamaFake(t, dialect.LlamaCppOptions{ContextLength: 2048})
	slots, err := m.Slots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) != 2 || slots[1].ID != 1 || slots[0].ContextLen != 2048 || slots[0].Processing || slots[0].TaskID != -1 {
		t.Errorf("slots %+v", slots)
	}
	off, _ := newLlamaFake(t, dialect.LlamaCppOptions{NoSlots: true})
	_, err = off.Slots(context.Background())
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "--slots") || !strings.Contains(err.Error(), "501") {
		t.Errorf("disabled slots: %v", err)
	}
}

func TestLlamaCppMetricsDisabled(t *testing.T) {
	m, _ := newLlamaFake(t, dialect.LlamaCppOptions{NoMetrics: true})
	_, err := m.Metrics(context.Background())
	if !errors.Is(err, ErrMetricsDisabled) || !errors.Is(err, ErrUnsupported) ||
		!strings.Contains(err.Error(), "only when llama-server is started with --metrics") || !strings.Contains(err.Error(), "HTTP 501") {
		t.Fatalf("err = %v", err)
	}
}

// runClient sends n chat completions one after the other with the real
// backend client and returns their records, failing on any that did not
// end well.
func runClient(t *testing.T, base, model string, n int, stream bool) []record.Record {
	t.Helper()
	c := backend.New(base, backend.Options{Timeout: 30 * time.Second})
	recs := make([]record.Record, n)
	for i := range recs {
		req := backend.Request{
			Model:     model,
			Messages:  []backend.Message{{Role: "user", Content: fmt.Sprintf("Request %d: tell me about the moons of Jupiter in a few words", i)}},
			MaxTokens: 16 + 4*i,
			Stream:    stream,
		}
		c.Do(context.Background(), req, &recs[i])
		if r := recs[i]; r.Outcome != record.OK || r.OutputSource != record.SourceUsage || r.OutputTokens != req.MaxTokens {
			t.Fatalf("request %d: outcome %s (%s), %d output tokens from %q", i, r.Outcome, r.Error, r.OutputTokens, r.OutputSource)
		}
	}
	return recs
}

// recordTotals sums the records' usage and mean client TTFT in seconds.
func recordTotals(recs []record.Record) (prompt, completion int, meanTTFT float64) {
	for _, r := range recs {
		prompt += r.InputTokens
		completion += r.OutputTokens
		meanTTFT += r.FirstToken.Seconds()
	}
	return prompt, completion, meanTTFT / float64(len(recs))
}

// diffUntil scrapes until the diff from before satisfies done (the fakes
// update their counters as each request's handler returns, which can be
// just after the client read the last byte), or 10 s have passed.
func diffUntil(t *testing.T, m MetricsScraper, before MetricsSnapshot, done func(ServerStats) bool) ServerStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, err := m.Metrics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st := DiffMetrics(before, after)
		if done(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLlamaCppMetricsEndToEnd(t *testing.T) {
	m, url := newLlamaFake(t, dialect.LlamaCppOptions{})
	before, err := m.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	recs := runClient(t, url+"/v1", "any-name: llama-server serves its one model", 5, true)
	prompt, completion, clientTTFT := recordTotals(recs)
	for _, r := range recs {
		if r.EngineOutTokens != r.OutputTokens {
			t.Errorf("timings.predicted_n %d, usage %d", r.EngineOutTokens, r.OutputTokens)
		}
	}
	st := diffUntil(t, m, before, func(st ServerStats) bool {
		return st.GenerationTokens != nil && *st.GenerationTokens >= float64(completion)
	})
	if val(st.GenerationTokens) != float64(completion) || val(st.PromptTokens) != float64(prompt) {
		t.Errorf("server generated %v, prompt %v; clients' usage says %d, %d", val(st.GenerationTokens), val(st.PromptTokens), completion, prompt)
	}
	if st.RequestsFinished != nil || st.MeanTTFT != nil {
		t.Errorf("llama.cpp has no request counter nor TTFT histogram: %v %v", val(st.RequestsFinished), val(st.MeanTTFT))
	}
	// llama.cpp's prompt time runs from the slot to the first token: at
	// least the profile's TTFT per request, and no later than the client
	// saw it (with room for a loaded machine).
	prefill := *st.PrefillSeconds / 5
	if prefill < 0.020-1e-4 || prefill > clientTTFT+0.05 {
		t.Errorf("mean prompt time %.4fs, client TTFT %.4fs, profile TTFT 0.020s", prefill, clientTTFT)
	}
	if st.DecodeTokensPerS == nil || *st.DecodeTokensPerS < 80 || *st.DecodeTokensPerS > 8000 {
		t.Errorf("decode rate %v tok/s, profile 800", val(st.DecodeTokensPerS))
	}
	if val(st.Running.Last) != 0.0 || val(st.Waiting.Last) != 0.0 {
		t.Errorf("running %v waiting %v after the requests", val(st.Running.Last), val(st.Waiting.Last))
	}
}
