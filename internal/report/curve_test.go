package report

import (
	"testing"

	"flperf/internal/load"
	"flperf/internal/runner"
	"flperf/internal/stats"
)

func fp(v float64) *float64 { return &v }

// TestKnee checks the knee on synthetic curves whose knee is known.
func TestKnee(t *testing.T) {
	pt := func(level, tps, ttft float64) CurvePoint {
		return CurvePoint{Level: level, OutputTPS: fp(tps), TTFTP50: fp(ttft)}
	}
	for _, c := range []struct {
		name   string
		points []CurvePoint
		want   int
	}{
		// 4 slots: throughput doubles to c=4, then is flat while TTFT
		// doubles (queueing): the knee is c=4.
		{"saturates at 4", []CurvePoint{pt(1, 100, 50), pt(2, 198, 51), pt(4, 390, 53), pt(8, 400, 110), pt(16, 401, 230)}, 2},
		// Throughput still grows 15 % per doubling: not past the knee
		// although latency rises.
		{"still gaining", []CurvePoint{pt(1, 100, 50), pt(2, 115, 80), pt(4, 132, 130)}, -1},
		// Flat throughput but flat latency too (e.g. rate-bound): no knee.
		{"flat both", []CurvePoint{pt(1, 100, 50), pt(2, 105, 55), pt(4, 108, 58)}, -1},
		// Uneven levels: 1 → 4 is two doublings, 2 → 2.3 per doubling is
		// +9.1 % gain and latency x2 per doubling: past the knee at 1.
		{"two doublings", []CurvePoint{pt(1, 100, 50), pt(4, 119, 200)}, 0},
		// A level without ok requests breaks no rule.
		{"missing figure", []CurvePoint{pt(1, 100, 50), {Level: 2}, pt(4, 100, 400)}, -1},
		// Rates: 0.5 → 1 → 2 /s; saturated between 1 and 2.
		{"rate", []CurvePoint{pt(0.5, 50, 40), pt(1, 100, 41), pt(2, 104, 900)}, 1},
		{"one point", []CurvePoint{pt(1, 100, 50)}, -1},
	} {
		if got := Knee(c.points, "ttft_p50_ms"); got != c.want {
			t.Errorf("%s: knee %d, want %d", c.name, got, c.want)
		}
	}
	// The basis: not streamed, E2E decides.
	e := []CurvePoint{{Level: 1, OutputTPS: fp(100), E2EP50: fp(100)}, {Level: 2, OutputTPS: fp(101), E2EP50: fp(200)}}
	if got := Knee(e, "e2e_p50_ms"); got != 0 {
		t.Errorf("e2e basis: knee %d, want 0", got)
	}
	if got := Knee(e, "ttft_p50_ms"); got != -1 {
		t.Errorf("ttft basis without TTFT: knee %d, want -1", got)
	}
}

// TestRunCurve checks that the curve takes each model's pooled row per
// level, in ascending order, and names the knee's stage.
func TestRunCurve(t *testing.T) {
	g := func(model, stage string, tps, ttft float64) stats.Group {
		return stats.Group{Model: model, Stage: stage, OK: 10, Requests: 10, OutputTokensPerS: tps,
			TTFT: stats.Dist{N: 10, P50: ttft, P99: 2 * ttft}, TPOT: stats.Dist{N: 10, P50: 5, P99: 9}, E2E: stats.Dist{N: 10, P50: 3 * ttft}}
	}
	r := &runner.Result{Config: runner.Config{Mode: load.Concurrency, Concurrency: 1, Levels: []float64{4, 1, 2}, Models: []string{"a", "b"}, Stream: true}}
	r.Models = []stats.Group{g("a", "c=1", 100, 50), g("a", "c=2", 200, 52), g("a", "c=4", 205, 120),
		g("b", "c=1", 80, 40), g("b", "c=2", 160, 41), g("b", "c=4", 320, 42)}
	c := RunCurve(r)
	if c == nil || c.By != "concurrency" || len(c.Models) != 2 {
		t.Fatalf("curve %+v", c)
	}
	a, b := c.Models[0], c.Models[1]
	if len(a.Points) != 3 || a.Points[0].Stage != "c=1" || a.Points[2].Level != 4 || *a.Points[1].OutputTPS != 200 || *a.Points[2].TTFTP99 != 240 || *a.Points[0].TPOTP99 != 9 {
		t.Fatalf("model a's points: %+v", a.Points)
	}
	if a.Knee == nil || *a.Knee != "c=2" {
		t.Fatalf("model a's knee %v, want c=2", a.Knee)
	}
	if b.Knee != nil {
		t.Fatalf("model b's knee %v, want none (still scaling)", *b.Knee)
	}
	r.Config.Levels = nil
	if RunCurve(r) != nil {
		t.Fatal("a run of one level has a curve")
	}
}
