package runner

import (
	"strings"
	"testing"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/stats"
)

func f64(v float64) *float64 { return &v }

func TestCrossCheck(t *testing.T) {
	group := stats.Group{Model: "m", Scenario: "s", Requests: 10, OK: 10,
		TTFT:         stats.Dist{N: 10, Mean: 180},
		OutputTokens: stats.Dist{N: 10, Mean: 50}}
	mk := func(conc int, st engine.ServerStats, warm int) *Result {
		r := &Result{Config: Config{Mode: load.Sequential, Concurrency: 1}, Server: []StageServer{{Model: "m", Scenario: "s", ClientRequests: 10 + warm, ClientWarmups: warm, Stats: st}}}
		if conc > 1 {
			r.Config.Mode, r.Config.Concurrency = load.Concurrency, conc
		}
		r.Groups = []stats.Group{group}
		return r
	}
	agree := engine.ServerStats{RequestsFinished: f64(10), GenerationTokens: f64(500), MeanTTFT: f64(0.170)}
	if w := crossCheck(mk(1, agree, 0)); len(w) != 0 {
		t.Fatalf("agreeing figures warned: %q", w)
	}
	tokens := agree
	tokens.GenerationTokens = f64(520)
	if w := crossCheck(mk(1, tokens, 0)); len(w) != 1 || !strings.Contains(w[0], "500 output tokens, the engine 520") {
		t.Fatalf("token disagreement: %q", w)
	}
	// With warm-ups in the stage the engine's token count includes them:
	// no comparison.
	if w := crossCheck(mk(1, engine.ServerStats{RequestsFinished: f64(11), GenerationTokens: f64(560)}, 1)); len(w) != 0 {
		t.Fatalf("warm-up tokens compared: %q", w)
	}
	slow := agree
	slow.MeanTTFT = f64(0.100) // client 180 ms, engine 100 ms: 80 ms outside
	if w := crossCheck(mk(1, slow, 0)); len(w) != 1 || !strings.Contains(w[0], "80 ms are spent outside") {
		t.Fatalf("TTFT gap at concurrency 1: %q", w)
	}
	if w := crossCheck(mk(8, slow, 0)); len(w) != 0 {
		t.Fatalf("TTFT gap under concurrency is queueing, not a finding: %q", w)
	}
	other := agree
	other.RequestsFinished = f64(14)
	if w := crossCheck(mk(1, other, 0)); len(w) != 1 || !strings.Contains(w[0], "engine counted 14 requests, flperf sent 10") {
		t.Fatalf("foreign requests: %q", w)
	}
	if w := crossCheck(mk(1, engine.ServerStats{}, 0)); len(w) != 0 {
		t.Fatalf("unknown server figures warned: %q", w)
	}
}
