package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/backend"
	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
	"flperf/internal/suite"
)

// TestContextRefusal reads the context-window refusals of the engines,
// and nothing else.
func TestContextRefusal(t *testing.T) {
	for _, c := range []struct {
		name           string
		status         int
		body           string
		prompt, window int
		ok             bool
	}{
		{"llama.cpp", 400, `{"error":{"code":400,"message":"request (4476 tokens) exceeds the available context size (4096 tokens)","type":"exceed_context_size_error","n_prompt_tokens":4476,"n_ctx":4096}}`, 4476, 4096, true},
		{"llama.cpp, body cut", 400, `{"error":{"code":400,"message":"request (5584 tokens) exceeds the available context size (4096 tokens), try increasing it","type":"exceed_con`, 5584, 4096, true},
		{"vLLM", 400, `{"object":"error","message":"This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (2000 in the messages, 100 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}`, 2000, 2048, true},
		{"vLLM, input tokens", 400, `{"error":{"message":"'max_tokens' or 'max_completion_tokens' is too large: 100. This model's maximum context length is 2048 tokens and your request has 1990 input tokens (100 > 2048 - 1990).","type":"BadRequestError","param":null,"code":400}}`, 1990, 2048, true},
		{"OpenAI", 400, `{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9850 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`, 9850, 8192, true},
		{"OpenAI, code only", 400, `{"error":{"message":"too long","type":"invalid_request_error","code":"context_length_exceeded"}}`, 0, 0, true},
		{"SGLang", 400, `{"object":"error","message":"The input (5000 tokens) is longer than the model's context length (4096 tokens).","type":"BadRequestError","code":400}`, 5000, 4096, true},
		{"another 400", 400, `{"error":{"message":"Unrecognized request argument supplied: stream_options","type":"invalid_request_error"}}`, 0, 0, false},
		{"a 500 naming a context", 500, `{"error":{"message":"request (10 tokens) exceeds the available context size (8 tokens)","type":"exceed_context_size_error","n_ctx":8}}`, 0, 0, false},
	} {
		rec := record.Record{Outcome: record.HTTPError, Status: c.status, Error: c.body}
		prompt, window, msg, ok := ContextRefusal(&rec)
		if ok != c.ok || prompt != c.prompt || window != c.window || (ok && (msg == "" || strings.HasPrefix(msg, `{"error"`) && c.name != "llama.cpp, body cut")) {
			t.Errorf("%s: %d %d %q %v, want %d %d %v", c.name, prompt, window, msg, ok, c.prompt, c.window, c.ok)
		}
	}
	if _, _, _, ok := ContextRefusal(&record.Record{Outcome: record.OK, Status: 200}); ok {
		t.Error("an answer read as a refusal")
	}
}

// chatCounter serves h and counts the chat requests whose body holds each
// marker.
type chatCounter struct {
	h       http.Handler
	markers []string
	mu      sync.Mutex
	n       map[string]int
}

func (c *chatCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/chat/completions") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		c.mu.Lock()
		for _, m := range c.markers {
			if bytes.Contains(body, []byte(m)) {
				c.n[m]++
			}
		}
		c.mu.Unlock()
	}
	c.h.ServeHTTP(w, r)
}

func (c *chatCounter) count(m string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[m]
}

// contextSuite has a long scenario (a prompt of 100 one-token words, 104 with the nonce) and
// a short one, long first.
func contextSuite(t *testing.T) *suite.Suite {
	t.Helper()
	long := strings.TrimSpace(strings.Repeat("prolix ", 100))
	st, err := suite.Parse("context.json", fmt.Appendf(nil, `{"name":"context","scenarios":[
		{"name":"long","prompt":%q,"max_tokens":4},
		{"name":"short","prompt":"brief words","max_tokens":4}]}`, long))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestStageStopsAtContextRefusal runs a stage whose prompt the simulated
// llama.cpp (slots of 64 tokens) refuses: scheduling stops at the first
// refusal (sequential: the engine sees exactly one request of the stage;
// at concurrency 4, at most the four in flight), the refusals stay
// failures with the engine's message, the stop is recorded with the
// engine's counts and said in the warnings, and the next stage runs in
// full.
func TestStageStopsAtContextRefusal(t *testing.T) {
	for _, conc := range []int{1, 4} {
		l, err := dialect.NewLlamaCpp(sim.Profile{Name: "m.gguf", TTFT: time.Millisecond, DecodeTPS: 20000, Slots: 4, Seed: 5}, dialect.LlamaCppOptions{ContextLength: 64})
		if err != nil {
			t.Fatal(err)
		}
		cc := &chatCounter{h: l, markers: []string{"prolix", "brief"}, n: map[string]int{}}
		s := httptest.NewServer(cc)
		st := contextSuite(t)
		mode := load.Sequential
		if conc > 1 {
			mode = load.Concurrency
		}
		cfg := Config{Mode: mode, Concurrency: conc, Requests: 12, Seed: 1, Stream: true, CacheBust: true,
			Models: []string{"m.gguf"}, Endpoint: s.URL + "/v1", Timeout: Duration(30 * time.Second)}
		sink := &collect{}
		var logged []string
		r := &Runner{Client: backend.New(s.URL+"/v1", backend.Options{}), Engine: engine.Info{Kind: engine.LlamaCpp, Endpoint: s.URL + "/v1"},
			Suite: st, Scenarios: st.Scenarios, Config: cfg, Sinks: []Sink{sink},
			Log: func(level, msg string) { logged = append(logged, level+" "+msg) }}
		res, err := r.Run(context.Background())
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		sent := cc.count("prolix")
		if sent < 1 || sent > conc || (conc == 1 && sent != 1) || cc.count("brief") != 12 {
			t.Errorf("c=%d: the engine got %d requests of the long stage (want 1 to %d), %d of the short one", conc, sent, conc, cc.count("brief"))
		}
		long, short := group(res, "m.gguf", "long"), group(res, "m.gguf", "short")
		if long == nil || short == nil || long.Requests != sent || long.OK != 0 || short.OK != 12 {
			t.Fatalf("c=%d: groups %+v", conc, res.Groups)
		}
		for _, rec := range sink.recs {
			if rec.Scenario == "long" && (rec.Outcome != record.HTTPError || rec.Status != 400 || !strings.Contains(rec.Error, "exceed_context_size_error")) {
				t.Errorf("c=%d: refused request recorded as %s %d %q", conc, rec.Outcome, rec.Status, rec.Error)
			}
		}
		want := ContextFit{Model: "m.gguf", Scenario: "long", Action: FitStopped, PromptTokens: 104, MaxTokens: 4, ContextLength: 64,
			Method: FitEngine, Requests: sent, Message: "request (104 tokens) exceeds the available context size (64 tokens)"}
		if len(res.Suite.ContextFit) != 1 || !reflect.DeepEqual(res.Suite.ContextFit[0], want) {
			t.Fatalf("c=%d: context fit %+v, want %+v", conc, res.Suite.ContextFit, want)
		}
		if res.Status != Completed || !contains(res.Warnings, want.String()) || !contains(logged, "warn "+want.String()) {
			t.Errorf("c=%d: status %s, warnings %q, log %q", conc, res.Status, res.Warnings, logged)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		var back Result
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Suite.ContextFit, res.Suite.ContextFit) || !bytes.Contains(b, []byte(`"context_fit":[{"model":"m.gguf","scenario":"long","action":"stopped","prompt_tokens":104,`)) {
			t.Errorf("c=%d: JSON round trip: %v %+v\n%s", conc, err, back.Suite.ContextFit, b)
		}
	}
}

// TestSkippedStagesAreNotRun gives the runner a stage skipped before the
// run: none of its requests is sent, the model's warm-up moves to the
// first stage that runs, the progress total leaves it out, and the skip is
// in the result and its warnings.
func TestSkippedStagesAreNotRun(t *testing.T) {
	l, err := dialect.NewLlamaCpp(sim.Profile{Name: "m.gguf", TTFT: time.Millisecond, DecodeTPS: 20000, Seed: 5}, dialect.LlamaCppOptions{ContextLength: 64})
	if err != nil {
		t.Fatal(err)
	}
	cc := &chatCounter{h: l, markers: []string{"prolix", "brief"}, n: map[string]int{}}
	s := httptest.NewServer(cc)
	defer s.Close()
	st := contextSuite(t)
	skip := ContextFit{Model: "m.gguf", Scenario: "long", Action: FitSkipped, PromptTokens: 104, MaxTokens: 4, ContextLength: 64, Method: FitExact, Message: "test"}
	warn := ContextFit{Model: "m.gguf", Scenario: "short", Action: FitWarned, PromptTokens: 2, MaxTokens: 4, ContextLength: 64, Method: FitExact, Message: "warned"}
	sink := &collect{}
	var totals []int
	r := &Runner{Client: backend.New(s.URL+"/v1", backend.Options{}), Engine: engine.Info{Kind: engine.LlamaCpp, Endpoint: s.URL + "/v1"},
		Suite: st, Scenarios: st.Scenarios, Sinks: []Sink{sink}, ContextFit: []ContextFit{skip, warn},
		Config:   Config{Mode: load.Sequential, Concurrency: 1, Requests: 3, Warmup: 1, Seed: 1, Stream: true, Models: []string{"m.gguf"}, Endpoint: s.URL + "/v1", Timeout: Duration(30 * time.Second)},
		Progress: func(p Progress) { totals = append(totals, p.Total) }}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cc.count("prolix") != 0 || cc.count("brief") != 4 || len(sink.recs) != 4 || !sink.recs[0].Warmup || sink.recs[0].Scenario != "short" {
		t.Fatalf("the engine got %d long and %d short requests; records %d", cc.count("prolix"), cc.count("brief"), len(sink.recs))
	}
	if group(res, "m.gguf", "long") != nil || len(totals) == 0 || totals[0] != 4 {
		t.Errorf("groups %+v, progress totals %v", res.Groups, totals)
	}
	if !reflect.DeepEqual(res.Suite.ContextFit, []ContextFit{skip, warn}) || !contains(res.Warnings, skip.String()) || !contains(res.Warnings, warn.String()) {
		t.Errorf("context fit %+v, warnings %q", res.Suite.ContextFit, res.Warnings)
	}
	if !strings.HasPrefix(skip.String(), `context: model m.gguf, scenario "long" skipped before any request: test`) {
		t.Errorf("skip line %q", skip.String())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
