package dialect

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
)

func newLMStudioTestFake(t *testing.T, profiles ...sim.Profile) (*LMStudio, string) {
	t.Helper()
	l, err := NewLMStudio(profiles...)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l)
	t.Cleanup(s.Close)
	return l, s.URL
}

func lmsProfile(name string) sim.Profile {
	return sim.Profile{Name: name, TTFT: 10 * time.Millisecond, DecodeTPS: 2000, Seed: 4}
}

type lmsV0List struct {
	Object string `json:"object"`
	Data   []struct {
		ID               string `json:"id"`
		Type             string `json:"type"`
		Arch             string `json:"arch"`
		Quantization     string `json:"quantization"`
		State            string `json:"state"`
		MaxContextLength int    `json:"max_context_length"`
	} `json:"data"`
}

func lmsStates(t *testing.T, url string) map[string]string {
	t.Helper()
	var list lmsV0List
	resp, body := ollamaDo(t, "GET", url+"/api/v0/models", "")
	if resp.StatusCode != 200 || json.Unmarshal(body, &list) != nil || list.Object != "list" {
		t.Fatalf("/api/v0/models: %d %s", resp.StatusCode, body)
	}
	out := map[string]string{}
	for _, m := range list.Data {
		out[m.ID] = m.Type + " " + m.State
	}
	return out
}

func TestLMStudioModelsAndJITLoad(t *testing.T) {
	l, url := newLMStudioTestFake(t, lmsProfile("llama-3.2-1b"), lmsProfile("qwen3-4b"))
	l.LoadTime = 50 * time.Millisecond
	if err := l.SetLoaded("qwen3-4b", false); err != nil {
		t.Fatal(err)
	}
	if err := l.SetLoaded("nope", true); err == nil {
		t.Error("SetLoaded of an unknown model")
	}
	want := map[string]string{"llama-3.2-1b": "llm loaded", "qwen3-4b": "llm not-loaded", LMStudioEmbeddingModel: "embeddings not-loaded"}
	if got := lmsStates(t, url); len(got) != 3 || got["llama-3.2-1b"] != want["llama-3.2-1b"] || got["qwen3-4b"] != want["qwen3-4b"] || got[LMStudioEmbeddingModel] != want[LMStudioEmbeddingModel] {
		t.Errorf("states %v, want %v", got, want)
	}
	resp, body := ollamaDo(t, "GET", url+"/api/v0/models/qwen3-4b", "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"state":"not-loaded"`) || !strings.Contains(string(body), `"quantization":"Q4_K_M"`) {
		t.Errorf("one model: %d %s", resp.StatusCode, body)
	}
	if resp, _ := ollamaDo(t, "GET", url+"/api/v0/models/missing", ""); resp.StatusCode != 404 {
		t.Errorf("missing model: %d", resp.StatusCode)
	}
	// With just-in-time loading, /v1/models lists every downloaded model.
	if _, body := ollamaDo(t, "GET", url+"/v1/models", ""); strings.Count(string(body), `"id"`) != 3 {
		t.Errorf("/v1/models %s", body)
	}
	// A chat with the not-loaded model loads it first.
	start := time.Now()
	resp, body = ollamaDo(t, "POST", url+"/v1/chat/completions", `{"model":"qwen3-4b","messages":[{"role":"user","content":"hi"}],"max_tokens":3}`)
	if resp.StatusCode != 200 || time.Since(start) < l.LoadTime {
		t.Fatalf("JIT chat: %d after %v: %s", resp.StatusCode, time.Since(start), body)
	}
	if got := lmsStates(t, url); got["qwen3-4b"] != "llm loaded" {
		t.Errorf("after a JIT load: %v", got)
	}
	// The embedding model cannot chat.
	if resp, body := ollamaDo(t, "POST", url+"/v1/chat/completions", `{"model":"`+LMStudioEmbeddingModel+`","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 400 {
		t.Errorf("embedding chat: %d %s", resp.StatusCode, body)
	}
	if resp, body := ollamaDo(t, "GET", url+"/api/v1/nothing", ""); resp.StatusCode != 404 || !strings.Contains(string(body), "Unexpected endpoint or method. (GET /api/v1/nothing)") {
		t.Errorf("unknown route: %d %s", resp.StatusCode, body)
	}
	if _, err := NewLMStudio(lmsProfile(LMStudioEmbeddingModel)); err == nil {
		t.Error("a profile named like the embedding model was accepted")
	}
}

func TestLMStudioStats(t *testing.T) {
	l, url := newLMStudioTestFake(t, lmsProfile("llama-3.2-1b"))
	if err := l.SetModel("llama-3.2-1b", LMStudioModel{Arch: "llama", Quantization: "Q6_K", MaxContextLength: 8192}); err != nil {
		t.Fatal(err)
	}
	const ask = `{"model":"llama-3.2-1b","messages":[{"role":"user","content":"hello"}],"max_tokens":20`
	type answer struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
		Stats *struct {
			TokensPerSecond  float64 `json:"tokens_per_second"`
			TimeToFirstToken float64 `json:"time_to_first_token"`
			GenerationTime   float64 `json:"generation_time"`
			StopReason       string  `json:"stop_reason"`
		} `json:"stats"`
		ModelInfo *struct {
			Quant         string `json:"quant"`
			ContextLength int    `json:"context_length"`
		} `json:"model_info"`
	}
	resp, body := ollamaDo(t, "POST", url+"/api/v0/chat/completions", ask+"}")
	var a answer
	if resp.StatusCode != 200 || json.Unmarshal(body, &a) != nil || a.Stats == nil || a.ModelInfo == nil {
		t.Fatalf("v0 answer %d: %s", resp.StatusCode, body)
	}
	if a.Usage.CompletionTokens != 20 || a.Stats.StopReason != "maxPredictedTokensReached" || a.Stats.TimeToFirstToken < 0.010 ||
		a.Stats.GenerationTime <= 0 || a.ModelInfo.Quant != "Q6_K" || a.ModelInfo.ContextLength != 8192 {
		t.Errorf("stats %+v model info %+v", a.Stats, a.ModelInfo)
	}
	if n := a.Stats.TokensPerSecond * a.Stats.GenerationTime; n < 19.5 || n > 20.5 {
		t.Errorf("tokens_per_second × generation_time = %v, want 20", n)
	}
	// No stats on the OpenAI routes, nor in v0 streams.
	for _, c := range []struct{ path, body string }{
		{"/v1/chat/completions", ask + "}"},
		{"/api/v0/chat/completions", ask + `,"stream":true}`},
	} {
		resp, body := ollamaDo(t, "POST", url+c.path, c.body)
		if resp.StatusCode != 200 || strings.Contains(string(body), `"stats"`) {
			t.Errorf("%s %s: %d %s", c.path, c.body, resp.StatusCode, body)
		}
	}
	// Errors pass through the v0 route untouched.
	if resp, body := ollamaDo(t, "POST", url+"/api/v0/chat/completions", `{"model":"llama-3.2-1b","messages":[]}`); resp.StatusCode != 400 || strings.Contains(string(body), "stats") {
		t.Errorf("v0 error: %d %s", resp.StatusCode, body)
	}
}
