package report

import (
	"fmt"
	"math"
	"slices"

	"flperf/internal/runner"
	"flperf/internal/stats"
)

// The knee's thresholds (docs/metrics.md §7): a step to the next level is
// past the knee when output throughput gains less than KneeGain per
// doubling of the load while the knee latency rises by more than KneeRise
// per doubling.
const (
	KneeGain = 0.10
	KneeRise = 0.20
)

// Curve is a sweep's throughput–latency curve: per model, one point per
// load level (its scenarios pooled), and the knee. The app draws it; it is
// computed here once, so that every view shows the same knee.
type Curve struct {
	By        string       `json:"by"`         // "concurrency" or "rate"
	KneeGain  float64      `json:"knee_gain"`  // KneeGain
	KneeRise  float64      `json:"knee_rise"`  // KneeRise
	KneeBasis string       `json:"knee_basis"` // the latency the knee watches: "ttft_p50_ms", or "e2e_p50_ms" when not streamed
	Models    []CurveModel `json:"models"`
}

// CurveModel is one model's line.
type CurveModel struct {
	Model  string       `json:"model"`
	Points []CurvePoint `json:"points"` // ascending load
	// Knee is the stage label of the knee level, null when the sweep
	// never reached it (every step still gained throughput, or latency
	// stayed flat).
	Knee *string `json:"knee"`
}

// CurvePoint is one load level of one model. Figures are null where the
// level has none (no ok request; TTFT of a non-streamed run).
type CurvePoint struct {
	Stage     string   `json:"stage"` // "c=4", "rate=2/s"
	Level     float64  `json:"level"` // requests in flight, or arrivals per second
	N         int      `json:"n"`     // ok requests
	ErrorRate float64  `json:"error_rate"`
	OutputTPS *float64 `json:"output_tps"` // output tokens per second over the level's window
	TTFTP50   *float64 `json:"ttft_p50_ms"`
	TTFTP99   *float64 `json:"ttft_p99_ms"`
	TPOTP50   *float64 `json:"tpot_p50_ms"`
	TPOTP99   *float64 `json:"tpot_p99_ms"`
	E2EP50    *float64 `json:"e2e_p50_ms"`
}

// RunCurve returns the curve of a sweep, nil for a run of one level.
func RunCurve(r *runner.Result) *Curve {
	levels := r.Config.Sweep()
	if levels == nil {
		return nil
	}
	c := &Curve{By: string(r.Config.Mode), KneeGain: KneeGain, KneeRise: KneeRise, KneeBasis: "ttft_p50_ms", Models: []CurveModel{}}
	if !r.Config.Stream {
		c.KneeBasis = "e2e_p50_ms"
	}
	for _, model := range r.Config.Models {
		m := CurveModel{Model: model, Points: []CurvePoint{}}
		for _, l := range levels {
			i := slices.IndexFunc(r.Models, func(g stats.Group) bool { return g.Model == model && g.Stage == l.Label() })
			if i < 0 {
				continue
			}
			m.Points = append(m.Points, point(&r.Models[i], l))
		}
		if len(m.Points) == 0 {
			continue
		}
		if k := Knee(m.Points, c.KneeBasis); k >= 0 {
			m.Knee = &m.Points[k].Stage
		}
		c.Models = append(c.Models, m)
	}
	return c
}

// point is the curve point of a model's pooled row at level l.
func point(g *stats.Group, l runner.Level) CurvePoint {
	p := CurvePoint{Stage: l.Label(), Level: l.Value(), N: g.OK, ErrorRate: g.ErrorRate}
	if g.OK > 0 {
		p.OutputTPS = fnum(g.OutputTokensPerS)
	}
	pct := func(d *stats.Dist, v float64) *float64 {
		if d.N == 0 {
			return nil
		}
		return fnum(v)
	}
	p.TTFTP50, p.TTFTP99 = pct(&g.TTFT, g.TTFT.P50), pct(&g.TTFT, g.TTFT.P99)
	p.TPOTP50, p.TPOTP99 = pct(&g.TPOT, g.TPOT.P50), pct(&g.TPOT, g.TPOT.P99)
	p.E2EP50 = pct(&g.E2E, g.E2E.P50)
	return p
}

// Knee returns the index of the knee among points (ascending load), -1
// when there is none (docs/metrics.md §7): the first level i whose step to
// level i+1 gains less than KneeGain of output throughput per doubling of
// the load, (T[i+1]/T[i])^(1/d) − 1 with d = log2(L[i+1]/L[i]), while the
// basis latency rises by more than KneeRise per doubling,
// (X[i+1]/X[i])^(1/d) − 1. A step with a figure missing at either end is
// never past the knee.
func Knee(points []CurvePoint, basis string) int {
	lat := func(p *CurvePoint) *float64 {
		if basis == "e2e_p50_ms" {
			return p.E2EP50
		}
		return p.TTFTP50
	}
	for i := 0; i+1 < len(points); i++ {
		a, b := &points[i], &points[i+1]
		if a.Level <= 0 || b.Level <= a.Level || a.OutputTPS == nil || b.OutputTPS == nil || *a.OutputTPS <= 0 {
			continue
		}
		la, lb := lat(a), lat(b)
		if la == nil || lb == nil || *la <= 0 {
			continue
		}
		d := math.Log2(b.Level / a.Level)
		gain := math.Pow(*b.OutputTPS / *a.OutputTPS, 1/d) - 1
		rise := math.Pow(*lb / *la, 1/d) - 1
		if gain < KneeGain && rise > KneeRise {
			return i
		}
	}
	return -1
}

// knees prints, for a sweep, each model's knee (docs/metrics.md §7).
func knees(ew *errWriter, r *runner.Result) {
	c := RunCurve(r)
	if c == nil {
		return
	}
	ew.printf("\nKnee of the throughput–latency curve (the last level before output throughput gains < %.0f%% per doubling while %s rises > %.0f%%)\n",
		100*c.KneeGain, c.KneeBasis, 100*c.KneeRise)
	for _, m := range c.Models {
		if m.Knee == nil {
			ew.printf("  %s: none within the levels run (throughput still grew, or latency stayed flat)\n", clean(ModelName(m.Model)))
			continue
		}
		k := slices.IndexFunc(m.Points, func(p CurvePoint) bool { return p.Stage == *m.Knee })
		p := m.Points[k]
		ew.printf("  %s: %s (%s output tok/s)\n", clean(ModelName(m.Model)), p.Stage, numPtr(p.OutputTPS))
	}
}

// numPtr formats a figure that may be unknown.
func numPtr(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprint(num(*v))
}
