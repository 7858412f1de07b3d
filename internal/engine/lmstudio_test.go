package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

func newLMStudioFake(t *testing.T) (*dialect.LMStudio, *LMStudioManager, string) {
	t.Helper()
	f, err := dialect.NewLMStudio(
		sim.Profile{Name: "qwen2.5-7b-instruct", TTFT: 20 * time.Millisecond, PrefillTPS: 5000, DecodeTPS: 1000, Seed: 1},
		sim.Profile{Name: "gemma-3-4b-it", TTFT: 20 * time.Millisecond, DecodeTPS: 1000, Seed: 2},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetModel("gemma-3-4b-it", dialect.LMStudioModel{Type: "vlm", Arch: "gemma3", Quantization: "Q8_0", MaxContextLength: 131072, CompatibilityType: "mlx"}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetLoaded("gemma-3-4b-it", false); err != nil {
		t.Fatal(err)
	}
	url := serveFake(t, f)
	return f, NewLMStudio(Info{Kind: LMStudio, Endpoint: url + "/v1", Simulated: true}, nil), url
}

func TestLMStudioModels(t *testing.T) {
	_, m, _ := newLMStudioFake(t)
	ctx := context.Background()
	down, err := m.Models(ctx, DownloadedSet)
	if err != nil {
		t.Fatal(err)
	}
	// The embedding model is listed by LM Studio but not here.
	if len(down) != 2 {
		t.Fatalf("downloaded %+v", down)
	}
	q, g := down[0], down[1]
	if q.ID != "qwen2.5-7b-instruct" || !*q.Loaded || !*q.Downloaded || q.Quantization != "Q4_K_M" || q.Family != "llama" || q.ContextLength != 4096 {
		t.Errorf("loaded model %+v", q)
	}
	if g.ID != "gemma-3-4b-it" || *g.Loaded || !*g.Downloaded || g.Quantization != "Q8_0" || g.Family != "gemma3" || g.ContextLength != 131072 {
		t.Errorf("not-loaded vlm %+v", g)
	}
	loaded, err := m.Models(ctx, LoadedSet)
	if err != nil || len(loaded) != 1 || loaded[0].ID != "qwen2.5-7b-instruct" {
		t.Errorf("loaded %+v %v", loaded, err)
	}
	if _, err := m.Models(ctx, CatalogSet); !errors.Is(err, ErrUnsupported) {
		t.Errorf("catalog: %v", err)
	}
	if c := m.Capabilities(); !c.Downloaded || !c.Loaded || !c.ServerTimings || c.Metrics || c.Load {
		t.Errorf("capabilities %+v", c)
	}
	if _, ok := Manager(m).(MetricsScraper); ok {
		t.Error("LM Studio has no /metrics")
	}
}

func TestParseLMStudioStats(t *testing.T) {
	v0 := []byte(`{"id":"chatcmpl-1","object":"chat.completion","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":128},
		"stats":{"tokens_per_second":61.7,"time_to_first_token":0.092,"generation_time":2.07,"stop_reason":"eosFound"},
		"model_info":{"arch":"llama"},"runtime":{"name":"llama.cpp-linux-x86_64-avx2"}}`)
	s, ok := ParseLMStudioStats(v0)
	if !ok || s.TokensPerSecond != 61.7 || s.TimeToFirstToken != 92*time.Millisecond || s.GenerationTime != 2070*time.Millisecond ||
		s.StopReason != "eosFound" || s.ModelLoadTime != 0 {
		t.Errorf("v0 %+v %v", s, ok)
	}
	v1 := []byte(`{"output":[],"stats":{"input_tokens":12,"total_output_tokens":40,"reasoning_output_tokens":0,
		"tokens_per_second":50.5,"time_to_first_token_seconds":0.25,"model_load_time_seconds":3.5}}`)
	s, ok = ParseLMStudioStats(v1)
	if !ok || s.InputTokens != 12 || s.OutputTokens != 40 || s.TimeToFirstToken != 250*time.Millisecond || s.ModelLoadTime != 3500*time.Millisecond {
		t.Errorf("v1 %+v %v", s, ok)
	}
	for _, body := range []string{
		`{"choices":[]}`, `{"stats":null}`, `{"stats":{}}`, `not json`, ``,
		`{"stats":{"tokens_per_second":-1,"time_to_first_token":1e300,"generation_time":"2"}}`,
	} {
		if s, ok := ParseLMStudioStats([]byte(body)); ok {
			t.Errorf("%s: %+v", body, s)
		}
	}
}

func TestLMStudioEndToEnd(t *testing.T) {
	_, m, url := newLMStudioFake(t)
	// Five requests with the real client through the OpenAI routes; the
	// not-loaded model is loaded just in time by the first.
	recs := runClient(t, url+"/v1", "gemma-3-4b-it", 5, true)
	for _, r := range recs {
		if r.OutputSource != record.SourceUsage {
			t.Errorf("output tokens from %s", r.OutputSource)
		}
	}
	loaded, err := m.Models(context.Background(), LoadedSet)
	if err != nil || len(loaded) != 2 {
		t.Errorf("after a just-in-time load: %+v %v", loaded, err)
	}

	// A non-streaming /api/v0 answer carries LM Studio's stats, which agree
	// with its usage and with what the client saw.
	body := []byte(`{"model":"qwen2.5-7b-instruct","messages":[{"role":"user","content":"hello there"}],"max_tokens":32}`)
	start := time.Now()
	resp, err := http.Post(url+"/api/v0/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d: %s %v", resp.StatusCode, data, err)
	}
	s, ok := ParseLMStudioStats(data)
	if !ok {
		t.Fatalf("no stats in %s", data)
	}
	var usage struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(data, &usage); err != nil || usage.Usage.CompletionTokens != 32 {
		t.Fatalf("usage %+v %v", usage, err)
	}
	if n := s.TokensPerSecond * s.GenerationTime.Seconds(); n < 31.5 || n > 32.5 {
		t.Errorf("tokens_per_second × generation_time = %.2f, usage says 32", n)
	}
	if s.TimeToFirstToken < 20*time.Millisecond || s.TimeToFirstToken+s.GenerationTime > elapsed || s.StopReason != "maxPredictedTokensReached" {
		t.Errorf("stats %+v, client saw %v", s, elapsed)
	}
}
