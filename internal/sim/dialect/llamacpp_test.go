package dialect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"flperf/internal/sim"
)

// promSamples parses a Prometheus text page into series ("name{labels}")
// → value, failing on a malformed line.
func promSamples(t *testing.T, page []byte) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(page))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if _, dup := out[line[:i]]; dup {
			t.Fatalf("series %q twice", line[:i])
		}
		out[line[:i]] = v
	}
	return out
}

// scrape reads url/metrics.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, body := ollamaDo(t, "GET", url+"/metrics", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return promSamples(t, body)
}

// scrapeUntil scrapes until ok holds, or 10 s have passed; it returns the last scrape.
func scrapeUntil(t *testing.T, url string, ok func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := scrape(t, url)
		if ok(s) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newLlamaCppFake(t *testing.T, p sim.Profile, opts LlamaCppOptions) (*LlamaCpp, string) {
	t.Helper()
	l, err := NewLlamaCpp(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(l)
	t.Cleanup(s.Close)
	return l, s.URL
}

func llamaTestProfile() sim.Profile {
	return sim.Profile{Name: "tinyllama-q4_0", TTFT: 10 * time.Millisecond, PrefillTPS: 5000, DecodeTPS: 1000, Seed: 5}
}

func TestLlamaCppLoading(t *testing.T) {
	_, url := newLlamaCppFake(t, llamaTestProfile(), LlamaCppOptions{LoadingHealthCalls: 1})
	// Every route answers 503 while loading; the health check counts.
	for _, path := range []string{"/v1/models", "/props", "/v1/chat/completions", "/health"} {
		resp, body := ollamaDo(t, "GET", url+path, "")
		var e struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if resp.StatusCode != 503 || json.Unmarshal(body, &e) != nil || e.Error.Code != 503 || e.Error.Message != "Loading model" || e.Error.Type != "unavailable_error" {
			t.Fatalf("%s while loading: %d %s", path, resp.StatusCode, body)
		}
	}
	resp, body := ollamaDo(t, "GET", url+"/health", "")
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Fatalf("health once loaded: %d %s", resp.StatusCode, body)
	}
}

func TestLlamaCppRoutes(t *testing.T) {
	p := llamaTestProfile()
	p.Slots = 3
	_, url := newLlamaCppFake(t, p, LlamaCppOptions{ContextLength: 1024})
	var props struct {
		Defaults struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
		TotalSlots int    `json:"total_slots"`
		ModelPath  string `json:"model_path"`
		BuildInfo  string `json:"build_info"`
	}
	resp, body := ollamaDo(t, "GET", url+"/props", "")
	if resp.Header.Get(sim.EngineHeader) != "simulated" || json.Unmarshal(body, &props) != nil ||
		props.Defaults.NCtx != 1024 || props.TotalSlots != 3 || props.ModelPath != "/models/tinyllama-q4_0.gguf" || props.BuildInfo != LlamaCppBuildInfo {
		t.Errorf("props %s", body)
	}
	var models struct {
		Data []struct {
			ID      string `json:"id"`
			OwnedBy string `json:"owned_by"`
			Meta    struct {
				NCtxTrain int `json:"n_ctx_train"`
			} `json:"meta"`
		} `json:"data"`
	}
	_, body = ollamaDo(t, "GET", url+"/v1/models", "")
	if json.Unmarshal(body, &models) != nil || len(models.Data) != 1 || models.Data[0].ID != "tinyllama-q4_0" ||
		models.Data[0].OwnedBy != "llamacpp" || models.Data[0].Meta.NCtxTrain != 131072 {
		t.Errorf("models %s", body)
	}
	var slots []map[string]any
	_, body = ollamaDo(t, "GET", url+"/slots", "")
	if json.Unmarshal(body, &slots) != nil || len(slots) != 3 || slots[2]["id"] != 2.0 || slots[0]["is_processing"] != false {
		t.Errorf("slots %s", body)
	}
	resp, body = ollamaDo(t, "GET", url+"/nope", "")
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"File Not Found"`) || resp.Header.Get(sim.EngineHeader) != "simulated" {
		t.Errorf("unknown route: %d %s", resp.StatusCode, body)
	}

	_, off := newLlamaCppFake(t, p, LlamaCppOptions{NoSlots: true, NoMetrics: true})
	for path, flag := range map[string]string{"/slots": "--slots", "/metrics": "--metrics"} {
		resp, body := ollamaDo(t, "GET", off+path, "")
		if resp.StatusCode != 501 || !strings.Contains(string(body), flag) || !strings.Contains(string(body), "not_supported_error") {
			t.Errorf("%s disabled: %d %s", path, resp.StatusCode, body)
		}
	}
}

// llamaTimings is the part of a timings object the test reads.
type llamaTimings struct {
	PromptN     int     `json:"prompt_n"`
	PromptMS    float64 `json:"prompt_ms"`
	PredictedN  int     `json:"predicted_n"`
	PredictedMS float64 `json:"predicted_ms"`
}

// lastTimings finds the timings of an answer: the body's, or the last
// stream frame's that has one.
func lastTimings(t *testing.T, body []byte) llamaTimings {
	t.Helper()
	var found *llamaTimings
	for _, chunk := range bytes.Split(body, []byte("\n")) {
		chunk = bytes.TrimPrefix(chunk, []byte("data: "))
		var f struct {
			Model   string        `json:"model"`
			Timings *llamaTimings `json:"timings"`
		}
		if json.Unmarshal(chunk, &f) == nil && f.Timings != nil {
			if f.Model != "tinyllama-q4_0" {
				t.Errorf("answer names model %q", f.Model)
			}
			found = f.Timings
		}
	}
	if found == nil {
		t.Fatalf("no timings in %s", body)
	}
	return *found
}

func TestLlamaCppMetricsCountWhatWasServed(t *testing.T) {
	_, url := newLlamaCppFake(t, llamaTestProfile(), LlamaCppOptions{})
	before := scrape(t, url)
	if before["llamacpp:prompt_tokens_total"] != 0 || before["llamacpp:requests_processing"] != 0 {
		t.Fatalf("fresh server: %v", before)
	}
	var want llamaTimings
	for i, body := range []string{
		// Any model name is served by the one model, as llama-server does.
		`{"model":"whatever","messages":[{"role":"user","content":"one two three"}],"max_tokens":12}`,
		`{"messages":[{"role":"user","content":"four five six seven"}],"max_tokens":20,"stream":true}`,
		`{"model":"x","messages":[{"role":"user","content":"eight"}],"max_tokens":7,"stream":true,"stream_options":{"include_usage":true}}`,
	} {
		resp, data := ollamaDo(t, "POST", url+"/v1/chat/completions", body)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, data)
		}
		tm := lastTimings(t, data)
		want.PromptN += tm.PromptN
		want.PromptMS += tm.PromptMS
		want.PredictedN += tm.PredictedN
		want.PredictedMS += tm.PredictedMS
	}
	if want.PredictedN != 12+20+7 {
		t.Fatalf("predicted %d", want.PredictedN)
	}
	got := scrapeUntil(t, url, func(s map[string]float64) bool { return s["llamacpp:tokens_predicted_total"] >= 39 })
	if got["llamacpp:prompt_tokens_total"] != float64(want.PromptN) || got["llamacpp:tokens_predicted_total"] != 39 || got["llamacpp:n_decode_total"] != 39 {
		t.Errorf("counters %v, answers' timings say %+v", got, want)
	}
	// Seconds match the answers' timings (which carry 3 decimals of ms).
	if math.Abs(got["llamacpp:prompt_seconds_total"]-want.PromptMS/1e3) > 1e-5 ||
		math.Abs(got["llamacpp:tokens_predicted_seconds_total"]-want.PredictedMS/1e3) > 1e-5 {
		t.Errorf("seconds %v %v, timings %v %v ms", got["llamacpp:prompt_seconds_total"], got["llamacpp:tokens_predicted_seconds_total"], want.PromptMS, want.PredictedMS)
	}
	if got["llamacpp:requests_processing"] != 0 || got["llamacpp:requests_deferred"] != 0 || got["llamacpp:n_tokens_max"] < 20 {
		t.Errorf("gauges %v", got)
	}
}

func TestLlamaCppProcessingAndDeferred(t *testing.T) {
	p := llamaTestProfile()
	p.DecodeTPS = 20 // 200 tokens: 10 s, cancelled long before
	_, url := newLlamaCppFake(t, p, LlamaCppOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions",
			strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":200,"stream":true}`))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body) // until cancelled
				resp.Body.Close()
			}
		}()
	}
	// One slot (--parallel 1): one processing, one deferred.
	s := scrapeUntil(t, url, func(s map[string]float64) bool {
		return s["llamacpp:requests_processing"] == 1 && s["llamacpp:requests_deferred"] == 1
	})
	if s["llamacpp:requests_processing"] != 1 || s["llamacpp:requests_deferred"] != 1 {
		t.Fatalf("processing %v deferred %v", s["llamacpp:requests_processing"], s["llamacpp:requests_deferred"])
	}
	var slots []map[string]any
	if _, body := ollamaDo(t, "GET", url+"/slots", ""); json.Unmarshal(body, &slots) != nil || len(slots) != 1 || slots[0]["is_processing"] != true {
		t.Errorf("slots while busy: %v", slots)
	}
	cancel()
	s = scrapeUntil(t, url, func(s map[string]float64) bool {
		return s["llamacpp:requests_processing"] == 0 && s["llamacpp:requests_deferred"] == 0
	})
	if s["llamacpp:requests_processing"] != 0 || s["llamacpp:requests_deferred"] != 0 {
		t.Errorf("after cancelling: processing %v deferred %v", s["llamacpp:requests_processing"], s["llamacpp:requests_deferred"])
	}
}
