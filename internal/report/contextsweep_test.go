package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// sweepGroup is a group of a context sweep with the figures RunContextSweep reads.
func sweepGroup(model string, length int, in, ttftP50, ttftMean, tpot float64) stats.Group {
	d := func(p50, mean float64) stats.Dist { return stats.Dist{N: 4, P50: p50, Mean: mean, Min: p50, Max: p50} }
	return stats.Group{Model: model, Scenario: runner.SweepScenario(length), Requests: 4, OK: 4,
		InputTokens: d(in, in), TTFT: d(ttftP50, ttftMean), PrefillTPS: d(1000*in/ttftP50, 1000*in/ttftMean), TPOT: d(tpot, tpot)}
}

// TestRunContextSweep builds a sweep's figures from a result whose TTFT
// p50 is exactly 10 ms + 0.5 ms per input token: the fit gives 2000
// tokens/s and 10 ms; a skipped length and a cut one are shown and left
// out of the fit; the table and the Markdown show the same.
func TestRunContextSweep(t *testing.T) {
	r := &runner.Result{Config: runner.Config{Models: []string{"m"}, ContextSweep: []int{100, 200, 400, 800, 1600}, Stream: true}}
	r.Groups = []stats.Group{
		sweepGroup("m", 100, 100, 60, 61, 2),
		sweepGroup("m", 200, 200, 110, 112, 2.5),
		sweepGroup("m", 400, 400, 210, 209, 3),
		sweepGroup("m", 800, 512, 266, 266, 3), // cut to 512 by the engine
	}
	r.Suite.Truncated = []runner.Truncation{{Model: "m", Scenario: "context-800", Requested: 800, Counted: 512, CountedMax: 512, Message: "prompts cut"}}
	r.Suite.ContextFit = []runner.ContextFit{{Model: "m", Scenario: "context-1600", Action: runner.FitSkipped, Message: "beyond the window"}}
	cs := RunContextSweep(r)
	if cs == nil || len(cs.Models) != 1 || len(cs.Models[0].Points) != 5 {
		t.Fatalf("sweep %+v", cs)
	}
	m := cs.Models[0]
	p := m.Points[1]
	if p.Requested != 200 || p.N != 4 || *p.InputTokens != 200 || *p.TTFTP50 != 110 || *p.TTFTMean != 112 ||
		*p.PrefillP50 != 1000*200/110.0 || *p.TPOTP50 != 2.5 || p.Skipped != "" || p.Truncated {
		t.Errorf("point 200: %+v", p)
	}
	if !m.Points[3].Truncated || m.Points[4].Skipped != "beyond the window" || m.Points[4].TTFTP50 != nil {
		t.Errorf("cut and skipped points: %+v %+v", m.Points[3], m.Points[4])
	}
	f := m.Prefill
	if f == nil || f.Points != 3 || math.Abs(f.TPS-2000) > 1e-9 || math.Abs(f.FixedMS-10) > 1e-9 {
		t.Fatalf("fit %+v, want 2000 tokens/s and 10 ms over 3 points", f)
	}
	var table, md bytes.Buffer
	if err := Table(&table, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"m     200        200   4       110   112         1818  1786      2.50  2.50",
		"m     800    512 cut", "m    1600    skipped", "m: prefill 2000 tokens/s fitted over 3 lengths (TTFT ≈ 10.00 ms + input tokens ÷ 2000/s)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#### Context sweep", "| m | 800 | 512 (cut) | 4 |", "| m | 1600 | skipped |", "- m: prefill 2000 tokens/s fitted over 3 lengths"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if RunContextSweep(&runner.Result{}) != nil {
		t.Error("a run that is no sweep has a sweep")
	}
	// Two points of one length, or TTFT falling with the input: no fit.
	if f := fitPrefill([]ContextSweepPoint{{InputTokens: fp(100), TTFTP50: fp(50)}, {InputTokens: fp(100), TTFTP50: fp(60)}}); f != nil {
		t.Errorf("one length: fit %+v", f)
	}
	if f := fitPrefill([]ContextSweepPoint{{InputTokens: fp(100), TTFTP50: fp(50)}, {InputTokens: fp(200), TTFTP50: fp(40)}}); f != nil {
		t.Errorf("falling TTFT: fit %+v", f)
	}
}
