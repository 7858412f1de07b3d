package runner

import (
	"strings"
	"testing"

	"flperf/internal/engine"
	"flperf/internal/stats"
)

// TestTruncation: the check names the groups whose engine counted fewer
// input tokens than asked for, or (Ollama) its whole window, with exact
// counts; it leaves the others alone, and MarkTruncated puts each once on
// its group however often it runs.
func TestTruncation(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	group := func(scenario string, min, max float64, il *stats.InputLengthFigures) stats.Group {
		return stats.Group{Model: "m", Scenario: scenario, InputTokens: stats.Dist{N: 2, Min: min, Max: max, Mean: (min + max) / 2}, InputLength: il}
	}
	res := &Result{Engine: engine.Info{Kind: engine.VLLM}}
	res.Suite.ContextWindows = map[string]int{"m": 1000}
	res.Groups = []stats.Group{
		group("exact", 500, 500, &stats.InputLengthFigures{N: 2, RequestedMean: f(500), MeasuredMean: f(500), Diff: f(0)}),
		group("short", 900, 1000, &stats.InputLengthFigures{N: 2, RequestedMean: f(1200), MeasuredMean: f(950), Diff: f(950.0/1200 - 1)}),
		group("window", 1000, 1000, nil), // vLLM refuses, never cuts: no finding without a request
	}
	truncation(res)
	tr := res.Suite.Truncated
	if len(tr) != 1 || tr[0].Scenario != "short" || tr[0].Requested != 1200 || tr[0].Counted != 900 || tr[0].CountedMax != 1000 || tr[0].Window != 1000 ||
		!strings.HasPrefix(tr[0].Message, "prompts cut: they asked for 1200 input tokens, but the engine counted 950 on average, as few as 900 (context window 1000): the engine kept only part of the prompt, or counts it otherwise") {
		t.Fatalf("truncated %+v", tr)
	}
	MarkTruncated(res)
	if w := res.Groups[1].Warnings; len(w) != 1 || w[0] != tr[0].Message || len(res.Groups[0].Warnings) != 0 {
		t.Errorf("group warnings %q / %q", w, res.Groups[0].Warnings)
	}
	if w := runWarnings(res); !strings.Contains(strings.Join(w, "\n"), "m / short: prompts cut") {
		t.Errorf("run warnings %q", w)
	}

	res = &Result{Engine: engine.Info{Kind: engine.Ollama}}
	res.Suite.ContextWindows = map[string]int{"m": 2048}
	res.Groups = []stats.Group{group("long", 2048, 2048, nil), group("fits", 300, 2047, nil)}
	truncation(res)
	if tr := res.Suite.Truncated; len(tr) != 1 || tr[0].Scenario != "long" || tr[0].Requested != 0 ||
		!strings.HasPrefix(tr[0].Message, "prompts cut: the engine counted 2048 input tokens, its whole context window (num_ctx 2048): the engine kept only part of the prompt without an error") {
		t.Fatalf("Ollama: truncated %+v", tr)
	}

	// Ollama 0.6 does not report the loaded num_ctx: a count of exactly
	// its default 2048 is a cut, any other count is not judged.
	res = &Result{Engine: engine.Info{Kind: engine.Ollama}}
	res.Groups = []stats.Group{group("long", 2048, 2048, nil), group("fits", 300, 2047, nil), group("big", 100, 4000, nil)}
	truncation(res)
	if tr := res.Suite.Truncated; len(tr) != 1 || tr[0].Scenario != "long" || tr[0].Window != 0 ||
		!strings.HasPrefix(tr[0].Message, "prompts cut: the engine counted 2048 input tokens, exactly Ollama's default context (num_ctx 2048; the loaded context is not reported)") {
		t.Fatalf("Ollama, window unknown: truncated %+v", tr)
	}
}
