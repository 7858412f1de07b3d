package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/report"
	"flperf/internal/sim"
	"flperf/internal/sim/dialect"
)

// chatSpy passes requests to a simulated engine and keeps every chat body,
// with the log lines written before the first one arrived.
type chatSpy struct {
	h         http.Handler
	mu        sync.Mutex
	bodies    []map[string]any
	log       []string
	logBefore []string // log as it was when the first chat arrived
}

func (s *chatSpy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/chat/completions") || r.URL.Path == "/api/chat" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		s.mu.Lock()
		if s.bodies == nil {
			s.logBefore = append([]string{}, s.log...)
		}
		s.bodies = append(s.bodies, m)
		s.mu.Unlock()
	}
	s.h.ServeHTTP(w, r)
}

func (s *chatSpy) logf(level, msg string) {
	s.mu.Lock()
	s.log = append(s.log, level+" "+msg)
	s.mu.Unlock()
}

// earlyStopper is a model whose answers end after 5 tokens unless the
// request forces the length.
func earlyStopper(name string) sim.Profile {
	return sim.Profile{Name: name, TTFT: time.Millisecond, DecodeTPS: 20000, OutputTokens: 5, Usage: true, ContinuousUsage: true, Seed: 7}
}

// TestFixedOutput runs one scenario with max_tokens 24 on a model that stops
// after 5 tokens, on each simulated dialect, with and without --fixed-output.
// Without it every answer is short and flagged. With it, llama.cpp gets
// ignore_eos (no min_tokens, which it lacks) and vLLM and SGLang ignore_eos
// with min_tokens 24: every answer has exactly 24 tokens, nothing is
// flagged, and the table says how the length was fixed. Ollama and LM Studio
// cannot be asked: the warning comes before any request, nothing extra is
// sent, and the answers stay short and flagged.
func TestFixedOutput(t *testing.T) {
	const maxTok = 24
	for _, c := range []struct {
		name    string
		kind    engine.Kind
		native  bool
		newSim  func() (http.Handler, error)
		how     string
		minSent bool
	}{
		{"llama.cpp", engine.LlamaCpp, false, func() (http.Handler, error) {
			return dialect.NewLlamaCpp(earlyStopper("tiny.gguf"), dialect.LlamaCppOptions{})
		}, engine.ForceIgnoreEOS, false},
		{"vLLM", engine.VLLM, false, func() (http.Handler, error) { return dialect.NewVLLM(earlyStopper("org/tiny")) }, engine.ForceIgnoreEOSMinTokens, true},
		{"SGLang", engine.SGLang, false, func() (http.Handler, error) { return dialect.NewSGLang(earlyStopper("org/tiny")) }, engine.ForceIgnoreEOSMinTokens, true},
		{"Ollama /v1", engine.Ollama, false, func() (http.Handler, error) { return dialect.NewOllama(earlyStopper("tiny:1b")) }, engine.ForceUnsupported, false},
		{"Ollama native", engine.Ollama, true, func() (http.Handler, error) { return dialect.NewOllama(earlyStopper("tiny:1b")) }, engine.ForceUnsupported, false},
		{"LM Studio", engine.LMStudio, false, func() (http.Handler, error) { return dialect.NewLMStudio(earlyStopper("tiny")) }, engine.ForceUnsupported, false},
	} {
		for _, fixed := range []bool{false, true} {
			h, err := c.newSim()
			if err != nil {
				t.Fatal(err)
			}
			spy := &chatSpy{h: h}
			srv := httptest.NewServer(spy)
			eng, _, err := Choose(context.Background(), Choice{Endpoint: srv.URL}, nil)
			if err != nil || eng.Kind != c.kind {
				t.Fatalf("%s: identify: %v %+v", c.name, err, eng)
			}
			rs, err := (&Spec{Scenarios: []string{"Simple Q&A - Short"}, Requests: intp(4), Warmup: intp(0), MaxTokens: maxTok,
				FixedOutput: fixed, OllamaNative: c.native, SampleInterval: "off"}).Validate(Check{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Prepare(context.Background(), rs, eng, spy.logf)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			res, err := r.Run(context.Background())
			srv.Close()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			name := c.name
			if fixed {
				name += " --fixed-output"
			}
			forced := fixed && c.how != engine.ForceUnsupported
			g := res.Groups[0]
			wantN, wantShort := 5.0, 4
			if forced {
				wantN, wantShort = maxTok, 0
			}
			if g.OK != 4 || g.Short != wantShort || g.OutputTokens.Min != wantN || g.OutputTokens.Max != wantN {
				t.Errorf("%s: %d ok, %d short, output tokens %g..%g; want 4 ok, %d short, all %g", name, g.OK, g.Short, g.OutputTokens.Min, g.OutputTokens.Max, wantShort, wantN)
			}
			shortWarned := strings.Contains(strings.Join(g.Warnings, "\n"), "were short")
			if shortWarned != (wantShort > 0) {
				t.Errorf("%s: short-response warning %v, want %v: %q", name, shortWarned, wantShort > 0, g.Warnings)
			}
			for i, b := range spy.bodies {
				_, eos := b["ignore_eos"]
				mt, hasMin := b["min_tokens"]
				if eos != forced || hasMin != (forced && c.minSent) || (hasMin && mt != float64(maxTok)) {
					t.Errorf("%s: request %d sent ignore_eos %v, min_tokens %v", name, i, b["ignore_eos"], b["min_tokens"])
				}
			}
			wantHow := ""
			if fixed {
				wantHow = c.how
			}
			if res.Config.OutputForcedBy != wantHow || res.Config.FixedOutput != fixed {
				t.Errorf("%s: config records fixed_output %v by %q, want %v by %q", name, res.Config.FixedOutput, res.Config.OutputForcedBy, fixed, wantHow)
			}
			_, why := engine.FixedOutput(c.kind)
			before := strings.Join(spy.logBefore, "\n")
			warned := strings.Contains(before, "warn fixed_output is unsupported on ") && strings.Contains(before, why)
			if warned != (fixed && !forced) {
				t.Errorf("%s: warned before the first request %v, want %v: %q", name, warned, fixed && !forced, spy.logBefore)
			}
			var table, js bytes.Buffer
			if err := report.Table(&table, res); err != nil {
				t.Fatal(err)
			}
			if err := report.JSON(&js, res); err != nil {
				t.Fatal(err)
			}
			wantTable := map[string]string{"": "", engine.ForceUnsupported: "fixed output length asked but unsupported by the engine"}[wantHow]
			if forced {
				wantTable = "output length fixed by " + c.how
			}
			if wantTable != "" && !strings.Contains(table.String(), wantTable) {
				t.Errorf("%s: table lacks %q:\n%s", name, wantTable, table.String())
			}
			if fixed && !strings.Contains(js.String(), `"output_forced_by": "`+c.how+`"`) {
				t.Errorf("%s: JSON lacks output_forced_by %q", name, c.how)
			}
			if !fixed && (strings.Contains(table.String(), "output length fixed") || strings.Contains(table.String(), "unsupported by the engine") || strings.Contains(js.String(), "output_forced_by")) {
				t.Errorf("%s: a run without the option reports a fixed output length", name)
			}
		}
	}
}
