package stats

import (
	"math"
	"testing"
	"time"

	"flperf/internal/record"
)

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }

// TestEngineFigures checks the engine's own per-response figures: only ok
// records that carried them count, the engine TTFT is its TTFT else load +
// prefill, the decode rate is tokens over decode time, the overhead is the
// client's TTFT minus the engine's per request, and a group without any has
// no engine block at all (nil, not zeros).
func TestEngineFigures(t *testing.T) {
	a := okRec("m", "s", 0, 100*msec, 500*msec, 50)
	a.Server = &record.ServerTimings{PromptMS: f64(60), LoadMS: f64(10), DecodeMS: f64(400), DecodeTokens: intp(40)} // TTFT 70, 100 tok/s, overhead 30
	b := okRec("m", "s", time.Second, 90*msec, 500*msec, 50)
	b.Server = &record.ServerTimings{TTFTMS: f64(80), DecodeTPS: f64(50)} // LM Studio-style: TTFT 80, 50 tok/s, overhead 10
	c := okRec("m", "s", 2*time.Second, 95*msec, 500*msec, 50)            // no engine figures
	d := failRec("m", "s", 3*time.Second, 50*msec, record.HTTPError)
	d.Server = &record.ServerTimings{PromptMS: f64(1)} // failed: not summarised
	other := okRec("n", "s", 0, 90*msec, 500*msec, 50)
	s := summarize(Options{}, a, b, c, d, other)
	g := s.Groups[0]
	if g.Engine == nil || g.Engine.N != 2 {
		t.Fatalf("engine figures %+v", g.Engine)
	}
	e := g.Engine
	if e.TTFT.N != 2 || math.Abs(e.TTFT.Mean-75) > 1e-9 || e.TTFT.Min != 70 || e.TTFT.Max != 80 {
		t.Errorf("engine TTFT %+v, want 70 and 80 ms", e.TTFT)
	}
	if e.DecodeTPS.N != 2 || e.DecodeTPS.Min != 50 || e.DecodeTPS.Max != 100 {
		t.Errorf("engine decode %+v, want 50 and 100 tok/s", e.DecodeTPS)
	}
	if e.Overhead.N != 2 || math.Abs(e.Overhead.Min-10) > 1e-9 || math.Abs(e.Overhead.Max-30) > 1e-9 {
		t.Errorf("overhead %+v, want 10 and 30 ms", e.Overhead)
	}
	if s.Groups[1].Engine != nil {
		t.Errorf("a group without engine figures has %+v", s.Groups[1].Engine)
	}
	if s.Total.Engine == nil || s.Total.Engine.N != 2 {
		t.Errorf("pooled engine figures %+v", s.Total.Engine)
	}
	// A real zero prefill (a fully cached prompt) stays a zero.
	z := okRec("z", "s", 0, 5*msec, 50*msec, 5)
	z.Server = &record.ServerTimings{PromptMS: f64(0)}
	if e := summarize(Options{}, z).Groups[0].Engine; e == nil || e.TTFT.N != 1 || e.TTFT.Mean != 0 || e.Overhead.Mean != 5 {
		t.Errorf("zero prefill: %+v", e)
	}
}
