package dialect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
)

func batchTestProfile(name string) sim.Profile {
	return sim.Profile{Name: name, TTFT: 10 * time.Millisecond, PrefillTPS: 5000, DecodeTPS: 2000, TokensPerChunk: 3, Seed: 9}
}

func newBatchTestFake(t *testing.T, sglang bool, profiles ...sim.Profile) (*VLLM, string) {
	t.Helper()
	newFake := NewVLLM
	if sglang {
		newFake = NewSGLang
	}
	v, err := newFake(profiles...)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(v)
	t.Cleanup(s.Close)
	return v, s.URL
}

func TestVLLMRoutes(t *testing.T) {
	v, url := newBatchTestFake(t, false, batchTestProfile("m1"), batchTestProfile("m2"))
	v.MaxModelLen, v.Root = 16384, "org/Model-7B"
	resp, body := ollamaDo(t, "GET", url+"/health", "")
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get(sim.EngineHeader) != "simulated" {
		t.Errorf("health %d %q", resp.StatusCode, body)
	}
	if _, body = ollamaDo(t, "GET", url+"/version", ""); strings.TrimSpace(string(body)) != `{"version":"`+VLLMVersion+`"}` {
		t.Errorf("version %s", body)
	}
	var models struct {
		Data []struct {
			ID          string `json:"id"`
			OwnedBy     string `json:"owned_by"`
			Root        string `json:"root"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	_, body = ollamaDo(t, "GET", url+"/v1/models", "")
	if json.Unmarshal(body, &models) != nil || len(models.Data) != 2 || models.Data[1].ID != "m2" || models.Data[0].OwnedBy != "vllm" ||
		models.Data[0].Root != "org/Model-7B" || models.Data[0].MaxModelLen != 16384 {
		t.Errorf("models %s", body)
	}
	for _, path := range []string{"/get_server_info", "/get_model_info", "/props", "/api/version"} {
		if resp, body := ollamaDo(t, "GET", url+path, ""); resp.StatusCode != 404 || !strings.Contains(string(body), `"Not Found"`) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	// vLLM refuses stream_options on a non-streaming request.
	resp, body = ollamaDo(t, "POST", url+"/v1/chat/completions",
		`{"model":"m1","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "stream=True") {
		t.Errorf("stream_options without stream: %d %s", resp.StatusCode, body)
	}
}

func TestVLLMContinuousUsage(t *testing.T) {
	_, url := newBatchTestFake(t, false, batchTestProfile("m1"))
	_, body := ollamaDo(t, "POST", url+"/v1/chat/completions",
		`{"model":"m1","messages":[{"role":"user","content":"hi"}],"max_tokens":9,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}`)
	last := 0
	frames := 0
	for _, line := range strings.Split(string(body), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var f struct {
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &f); err != nil || f.Usage == nil || f.Usage.CompletionTokens < last {
			t.Fatalf("frame %s: usage %+v", data, f.Usage)
		}
		last = f.Usage.CompletionTokens
		frames++
	}
	if last != 9 || frames < 4 {
		t.Errorf("%d frames, last usage %d", frames, last)
	}
}

// histogramOK checks that a histogram's buckets are cumulative, end in
// +Inf equal to _count, and returns _sum and _count.
func histogramOK(t *testing.T, s map[string]float64, name, labels string) (sum, count float64) {
	t.Helper()
	type bucket struct{ le, v float64 }
	var bs []bucket
	for k, v := range s {
		rest, ok := strings.CutPrefix(k, name+"_bucket{"+labels+`,le="`)
		if !ok {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		bs = append(bs, bucket{le, v})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	if len(bs) < 2 {
		t.Fatalf("%s{%s}: %d buckets", name, labels, len(bs))
	}
	for i := 1; i < len(bs); i++ {
		if bs[i].v < bs[i-1].v {
			t.Errorf("%s: bucket le=%v has %v < %v", name, bs[i].le, bs[i].v, bs[i-1].v)
		}
	}
	count = s[name+"_count{"+labels+"}"]
	if last := bs[len(bs)-1]; last.le < 1e300 || last.v != count {
		t.Errorf("%s: +Inf bucket %v, count %v", name, last.v, count)
	}
	return s[name+"_sum{"+labels+"}"], count
}

// chatUsage sends a chat completion and returns its usage.
func chatUsage(t *testing.T, url, body string) (prompt, completion int) {
	t.Helper()
	resp, data := ollamaDo(t, "POST", url+"/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "data: ")
		var f struct {
			Usage *struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if json.Unmarshal([]byte(line), &f) == nil && f.Usage != nil {
			prompt, completion = f.Usage.PromptTokens, f.Usage.CompletionTokens
		}
	}
	return prompt, completion
}

func TestVLLMMetricsCountWhatWasServed(t *testing.T) {
	_, url := newBatchTestFake(t, false, batchTestProfile("m1"), batchTestProfile("m2"))
	before := scrape(t, url)
	const m1 = `engine="0",model_name="m1"`
	if v, ok := before[`vllm:request_success_total{engine="0",finished_reason="length",model_name="m1"}`]; !ok || v != 0 {
		t.Fatalf("vLLM's series exist from the start, at 0: %v %v", v, ok)
	}
	prompt, completion := 0, 0
	for i, body := range []string{
		`{"model":"m1","messages":[{"role":"user","content":"alpha beta"}],"max_tokens":10}`,
		`{"model":"m1","messages":[{"role":"user","content":[{"type":"text","text":"gamma delta epsilon"}]}],"max_tokens":15,"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m1","messages":[{"role":"system","content":"zeta"},{"role":"user","content":"eta"}],"max_tokens":4,"stream":true,"stream_options":{"include_usage":true}}`,
	} {
		p, c := chatUsage(t, url, body)
		if c == 0 {
			t.Fatalf("request %d: no usage", i)
		}
		prompt += p
		completion += c
	}
	s := scrapeUntil(t, url, func(s map[string]float64) bool {
		return s[`vllm:request_success_total{engine="0",finished_reason="length",model_name="m1"}`] >= 3
	})
	if got := s[`vllm:request_success_total{engine="0",finished_reason="length",model_name="m1"}`]; got != 3 {
		t.Errorf("finished (length) %v, want 3", got)
	}
	if s[`vllm:prompt_tokens_total{`+m1+`}`] != float64(prompt) || s[`vllm:generation_tokens_total{`+m1+`}`] != float64(completion) {
		t.Errorf("tokens %v/%v, usage says %d/%d", s[`vllm:prompt_tokens_total{`+m1+`}`], s[`vllm:generation_tokens_total{`+m1+`}`], prompt, completion)
	}
	if s[`vllm:generation_tokens_total{engine="0",model_name="m2"}`] != 0 {
		t.Error("m2 counted m1's tokens")
	}
	for _, h := range []string{"vllm:time_to_first_token_seconds", "vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds",
		"vllm:request_prefill_time_seconds", "vllm:request_decode_time_seconds", "vllm:request_time_per_output_token_seconds"} {
		sum, count := histogramOK(t, s, h, m1)
		if count != 3 || sum < 0 {
			t.Errorf("%s: count %v sum %v", h, count, sum)
		}
	}
	ttft, _ := histogramOK(t, s, "vllm:time_to_first_token_seconds", m1)
	e2e, _ := histogramOK(t, s, "vllm:e2e_request_latency_seconds", m1)
	if ttft < 3*0.010 || e2e <= ttft {
		t.Errorf("TTFT sum %v (3 requests, 10 ms each at least), e2e sum %v", ttft, e2e)
	}
	// Inter-token gaps: every token but each request's first chunk.
	if _, n := histogramOK(t, s, "vllm:inter_token_latency_seconds", m1); n != float64(completion-1-3-3) {
		t.Errorf("ITL count %v, want %d", n, completion-1-3-3)
	}
	if _, n := histogramOK(t, s, "vllm:request_generation_tokens", m1); n != 3 {
		t.Errorf("generation tokens histogram count %v", n)
	}
}

func TestVLLMCutRequestCountsAsAborted(t *testing.T) {
	p := batchTestProfile("m1")
	p.Faults.Cut = 1
	_, url := newBatchTestFake(t, false, p)
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions",
		strings.NewReader(`{"model":"m1","messages":[{"role":"user","content":"hi"}],"max_tokens":20,"stream":true}`))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body) // ends with an error: the connection is cut
		resp.Body.Close()
	}
	s := scrapeUntil(t, url, func(s map[string]float64) bool {
		return s[`vllm:request_success_total{engine="0",finished_reason="abort",model_name="m1"}`] >= 1
	})
	if s[`vllm:request_success_total{engine="0",finished_reason="abort",model_name="m1"}`] != 1 ||
		s[`vllm:request_success_total{engine="0",finished_reason="length",model_name="m1"}`] != 0 {
		t.Errorf("a cut request: %v", s)
	}
	if g := s[`vllm:generation_tokens_total{engine="0",model_name="m1"}`]; g <= 0 || g >= 20 {
		t.Errorf("generated %v tokens before the cut", g)
	}
}

func TestVLLMRunningAndWaiting(t *testing.T) {
	p := batchTestProfile("m1")
	p.Slots, p.DecodeTPS = 1, 20
	_, url := newBatchTestFake(t, false, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 3 {
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions",
			strings.NewReader(`{"model":"m1","messages":[{"role":"user","content":"hi"}],"max_tokens":300,"stream":true}`))
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	const run, wait, kv = `vllm:num_requests_running{engine="0",model_name="m1"}`, `vllm:num_requests_waiting{engine="0",model_name="m1"}`, `vllm:kv_cache_usage_perc{engine="0",model_name="m1"}`
	s := scrapeUntil(t, url, func(s map[string]float64) bool { return s[run] == 1 && s[wait] == 2 })
	if s[run] != 1 || s[wait] != 2 || s[kv] != 1 {
		t.Fatalf("running %v waiting %v kv %v", s[run], s[wait], s[kv])
	}
	cancel()
	s = scrapeUntil(t, url, func(s map[string]float64) bool { return s[run] == 0 && s[wait] == 0 })
	if s[run] != 0 || s[wait] != 0 {
		t.Errorf("after cancelling: running %v waiting %v", s[run], s[wait])
	}
}

func TestSGLangRoutesAndLazySeries(t *testing.T) {
	v, url := newBatchTestFake(t, true, batchTestProfile("qwen"))
	v.Root = "/models/Qwen2.5"
	var info struct {
		ModelPath string `json:"model_path"`
		Version   string `json:"version"`
	}
	if _, body := ollamaDo(t, "GET", url+"/get_model_info", ""); json.Unmarshal(body, &info) != nil || info.ModelPath != "/models/Qwen2.5" {
		t.Errorf("model info %s", body)
	}
	if _, body := ollamaDo(t, "GET", url+"/get_server_info", ""); json.Unmarshal(body, &info) != nil || info.Version != SGLangVersion {
		t.Errorf("server info %s", body)
	}
	if resp, _ := ollamaDo(t, "GET", url+"/version", ""); resp.StatusCode != 404 {
		t.Errorf("/version: %d", resp.StatusCode)
	}
	if _, body := ollamaDo(t, "GET", url+"/v1/models", ""); !strings.Contains(string(body), `"owned_by":"sglang"`) {
		t.Errorf("models %s", body)
	}
	const reqs = `sglang:num_requests_total{model_name="qwen"}`
	before := scrape(t, url)
	if _, ok := before[reqs]; ok {
		t.Errorf("SGLang creates its request series on first use: %v", before)
	}
	if _, ok := before[`sglang:num_running_reqs{model_name="qwen"}`]; !ok {
		t.Error("no running gauge")
	}
	_, c := chatUsage(t, url, `{"model":"qwen","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true,"stream_options":{"include_usage":true}}`)
	s := scrapeUntil(t, url, func(s map[string]float64) bool { return s[reqs] == 1 })
	if s[reqs] != 1 || s[`sglang:generation_tokens_total{model_name="qwen"}`] != float64(c) {
		t.Errorf("after one request: %v", s)
	}
	if _, n := histogramOK(t, s, "sglang:time_to_first_token_seconds", `model_name="qwen"`); n != 1 {
		t.Errorf("TTFT count %v", n)
	}
	v2, url2 := newBatchTestFake(t, true, batchTestProfile("qwen"))
	v2.NoMetrics = true
	if resp, _ := ollamaDo(t, "GET", url2+"/metrics", ""); resp.StatusCode != 404 {
		t.Errorf("metrics off: %d", resp.StatusCode)
	}
}
