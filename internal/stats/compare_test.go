package stats

import (
	"math"
	"strings"
	"testing"
	"time"

	"flperf/internal/record"
)

// cmpRec returns an ok streamed record with the given TTFT and TPOT: 11
// output tokens (usage), the last token 10 TPOTs after the first, the end
// 1 ms later.
func cmpRec(model, scenario string, ttft, tpot time.Duration) record.Record {
	last := ttft + 10*tpot
	return record.Record{
		Model: model, Scenario: scenario, Stream: true, MaxTok: 11,
		Scheduled: t0, Sent: t0,
		FirstToken: ttft, FirstAnswer: ttft, LastToken: last, End: last + msec,
		OutputTokens: 11, OutputSource: record.SourceUsage, InputTokens: 5, InputSource: record.SourceUsage,
		FinishReason: "length", Outcome: record.OK, Status: 200,
	}
}

// cmpSide returns one record per TTFT value (ms), with TPOT 10 ms.
func cmpSide(model, scenario string, ttftMS ...float64) []record.Record {
	var out []record.Record
	for _, v := range ttftMS {
		out = append(out, cmpRec(model, scenario, time.Duration(v*float64(msec)), 10*msec))
	}
	return out
}

// findRow returns the row of metric key for model/scenario (pooled when
// scenario is "*"), failing the test if there is none.
func findRow(t *testing.T, c Comparison, model, scenario, key string) Row {
	t.Helper()
	for _, r := range c.Rows {
		if r.Metric == key && r.Model == model && ((scenario == "*" && r.Pooled) || (!r.Pooled && r.Scenario == scenario)) {
			return r
		}
	}
	t.Fatalf("no %s row for %q/%q in %d rows", key, model, scenario, len(c.Rows))
	return Row{}
}

// hasRow reports whether c has a non-pooled row of key for scenario.
func hasRow(c Comparison, scenario, key string) bool {
	for _, r := range c.Rows {
		if r.Metric == key && !r.Pooled && r.Scenario == scenario {
			return true
		}
	}
	return false
}

// hasCmpWarning reports whether some warning of c contains sub.
func hasCmpWarning(c Comparison, sub string) bool {
	for _, w := range c.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// metricsOf returns the Metrics with the given keys.
func metricsOf(t *testing.T, keys ...string) []Metric {
	t.Helper()
	var ms []Metric
	for _, k := range keys {
		m, ok := MetricByKey(k)
		if !ok {
			t.Fatalf("MetricByKey(%q) not found", k)
		}
		ms = append(ms, m)
	}
	return ms
}

func TestCompareDetectsShift(t *testing.T) {
	// 20 samples around 100 ms against the same ×1.2; the candidate also
	// decodes 1.2× faster (TPOT / 1.2).
	var base, cand []record.Record
	for i := range 20 {
		ttft := time.Duration(90+i) * msec
		tpot := 10*msec + time.Duration(i)*10*time.Microsecond
		base = append(base, cmpRec("m", "chat", ttft, tpot))
		cand = append(cand, cmpRec("m", "chat", ttft*12/10, tpot*10/12))
	}
	c := Compare(base, cand, nil, 0)
	if c.Alpha != DefaultAlpha || c.BaseLabel != "base" || c.CandLabel != "candidate" {
		t.Errorf("defaults: alpha %g labels %q %q", c.Alpha, c.BaseLabel, c.CandLabel)
	}
	for _, scen := range []string{"chat", "*"} {
		r := findRow(t, c, "m", scen, "ttft_ms")
		if !r.Significant || !(r.P < 0.001) || r.NBase != 20 || r.NCand != 20 {
			t.Errorf("ttft %s: significant %v p %g n %d+%d", scen, r.Significant, r.P, r.NBase, r.NCand)
		}
		if !near(r.Delta, 0.2, 1e-9) || !near(r.Base.P50, 99.5, 1e-9) || !near(r.Cand.P50, 119.4, 1e-9) {
			t.Errorf("ttft %s: delta %g medians %g → %g, want +20%%", scen, r.Delta, r.Base.P50, r.Cand.P50)
		}
		if !r.Worse {
			t.Errorf("ttft %s: a 20%% slower TTFT is not Worse", scen)
		}
		if r.Note != "" {
			t.Errorf("ttft %s: note %q", scen, r.Note)
		}
	}
	d := findRow(t, c, "m", "chat", "decode_tps")
	if !d.Significant || !near(d.Delta, 0.2, 0.001) || d.Worse {
		t.Errorf("decode +20%%: significant %v delta %g worse %v; a faster decode is not worse", d.Significant, d.Delta, d.Worse)
	}
	p := findRow(t, c, "m", "chat", "tpot_ms")
	if !p.Significant || !near(p.Delta, -1.0/6, 0.001) || p.Worse {
		t.Errorf("tpot: significant %v delta %g worse %v", p.Significant, p.Delta, p.Worse)
	}
	// TTFO equals TTFT in every record: not compared, with a warning.
	for _, r := range c.Rows {
		if r.Metric == "ttfo_ms" {
			t.Fatalf("TTFO row without reasoning: %+v", r)
		}
	}
	if !hasCmpWarning(c, "TTFO equals TTFT") {
		t.Errorf("warnings: %q", c.Warnings)
	}
	cand[3].FirstAnswer += 50 * msec // one reasoning request: TTFO is compared
	if r := findRow(t, Compare(base, cand, nil, 0), "m", "chat", "ttfo_ms"); r.NCand != 20 || r.Cand.Max != ms(cand[3].FirstAnswer) {
		t.Errorf("ttfo row: %+v", r)
	}
	// The Mann-Whitney p does not depend on which side is which.
	rev := Compare(cand, base, metricsOf(t, "ttft_ms"), 0)
	if r := findRow(t, rev, "m", "chat", "ttft_ms"); !near(r.P, findRow(t, c, "m", "chat", "ttft_ms").P, 1e-12) || r.Worse {
		t.Errorf("reversed: p %g worse %v", r.P, r.Worse)
	}
}

func TestCompareNoChange(t *testing.T) {
	var b, k []float64
	for i := range 10 {
		b = append(b, float64(100+2*i))
		k = append(k, float64(101+2*i))
	}
	c := Compare(cmpSide("m", "s", b...), cmpSide("m", "s", k...), metricsOf(t, "ttft_ms"), 0.05)
	r := findRow(t, c, "m", "s", "ttft_ms")
	if r.Significant || r.Worse || !(r.P > 0.05) || math.IsNaN(r.P) {
		t.Errorf("interleaved samples: p %g significant %v worse %v", r.P, r.Significant, r.Worse)
	}
	same := Compare(cmpSide("m", "s", b...), cmpSide("m", "s", b...), metricsOf(t, "ttft_ms"), 0.05)
	if r := findRow(t, same, "m", "s", "ttft_ms"); r.P != 1 || r.Significant || r.Delta != 0 {
		t.Errorf("identical samples: p %g significant %v delta %g", r.P, r.Significant, r.Delta)
	}
}

func TestCompareAllEqual(t *testing.T) {
	c := Compare(cmpSide("m", "s", 50, 50, 50, 50, 50), cmpSide("m", "s", 50, 50, 50, 50), metricsOf(t, "ttft_ms"), 0)
	r := findRow(t, c, "m", "s", "ttft_ms")
	if r.P != 1 || r.Significant || r.Note != "all samples are equal" {
		t.Errorf("all values equal: p %g significant %v note %q, want p=1", r.P, r.Significant, r.Note)
	}
}

func TestCompareSampleSizeBoundary(t *testing.T) {
	ttft := metricsOf(t, "ttft_ms")
	small := Compare(cmpSide("m", "s", 1, 2, 3), cmpSide("m", "s", 10, 11, 12), ttft, 0)
	r := findRow(t, small, "m", "s", "ttft_ms")
	if !math.IsNaN(r.P) || r.Significant || r.Worse || !strings.Contains(r.Note, "≥ 4 samples") {
		t.Errorf("3+3 samples: p %g significant %v note %q", r.P, r.Significant, r.Note)
	}
	if !near(r.Delta, 11.0/2-1, 1e-12) {
		t.Errorf("delta is still reported without p: %g", r.Delta)
	}
	if !hasCmpWarning(small, "no p-value") {
		t.Errorf("no small-sample warning: %q", small.Warnings)
	}
	// 4 + 4 fully separated: the exact two-sided p is 2/C(8,4).
	four := Compare(cmpSide("m", "s", 1, 2, 3, 4), cmpSide("m", "s", 10, 11, 12, 13), ttft, 0)
	r = findRow(t, four, "m", "s", "ttft_ms")
	if !near(r.P, 2.0/70, 1e-12) || !r.Significant || !r.Worse || r.Note != "" {
		t.Errorf("4+4 separated: p %g (want %g) significant %v note %q", r.P, 2.0/70, r.Significant, r.Note)
	}
	if hasCmpWarning(four, "no p-value") {
		t.Errorf("unexpected small-sample warning: %q", four.Warnings)
	}
	// A side without samples of the metric.
	none := Compare(cmpSide("m", "s", 1, 2, 3, 4), []record.Record{{Model: "m", Scenario: "s", Outcome: record.OK, End: msec}}, ttft, 0)
	r = findRow(t, none, "m", "s", "ttft_ms")
	if r.NCand != 0 || !math.IsNaN(r.P) || !math.IsNaN(r.Delta) || r.Note != "no samples in the candidate" {
		t.Errorf("empty candidate: n %d p %g delta %g note %q", r.NCand, r.P, r.Delta, r.Note)
	}
}

func TestCompareGeomean(t *testing.T) {
	var base, cand []record.Record
	for i, s := range []string{"a", "b", "c"} {
		v := math.Pow(10, float64(i+1)) // 10, 100, 1000 ms
		base = append(base, cmpSide("m", s, v, v, v, v, v)...)
		cand = append(cand, cmpSide("m", s, 2*v, 2*v, 2*v, 2*v, 2*v)...)
	}
	c := Compare(base, cand, metricsOf(t, "ttft_ms", "decode_tps"), 0)
	if len(c.Geomean) != 2 {
		t.Fatalf("geomean rows: %+v", c.Geomean)
	}
	g := c.Geomean[0]
	if g.Metric != "ttft_ms" || !near(g.Base, 100, 1e-9) || !near(g.Cand, 200, 1e-9) || !near(g.Delta, 1, 1e-12) || !g.Worse {
		t.Errorf("ttft geomean: %+v, want 100 → 200, +100%%, worse", g)
	}
	// Decode did not change: same TPOT on both sides.
	if d := c.Geomean[1]; d.Metric != "decode_tps" || !near(d.Delta, 0, 1e-12) || d.Worse {
		t.Errorf("decode geomean: %+v", d)
	}
	// The pooled row pools the samples (its median is the middle scenario's
	// here); it is not part of the geomean.
	r := findRow(t, c, "m", "*", "ttft_ms")
	if r.NBase != 15 || !near(r.Base.P50, 100, 1e-9) {
		t.Errorf("pooled row: n %d median %g", r.NBase, r.Base.P50)
	}
	// Uneven medians 10, 20, 1000 ms: the geomean is ∛200000, which a
	// geomean that took in the pooled row (median 20) would miss.
	base, cand = nil, nil
	for i, v := range []float64{10, 20, 1000} {
		s := string(rune('a' + i))
		base = append(base, cmpSide("m", s, v, v, v, v)...)
		cand = append(cand, cmpSide("m", s, 3*v, 3*v, 3*v, 3*v)...)
	}
	c = Compare(base, cand, metricsOf(t, "ttft_ms"), 0)
	if g := c.Geomean[0]; !near(g.Base, math.Cbrt(200000), 1e-9) || !near(g.Cand, 3*math.Cbrt(200000), 1e-9) || !near(g.Delta, 2, 1e-12) {
		t.Errorf("uneven geomean: %+v, want %g → %g", g, math.Cbrt(200000), 3*math.Cbrt(200000))
	}
	one := Compare(cmpSide("m", "a", 1, 2, 3, 4), cmpSide("m", "a", 1, 2, 3, 4), metricsOf(t, "ttft_ms"), 0)
	if len(one.Geomean) != 0 {
		t.Errorf("geomean over one scenario: %+v", one.Geomean)
	}
}

func TestCompareOneSidedScenario(t *testing.T) {
	base := append(cmpSide("m", "both", 1, 2, 3, 4, 5), cmpSide("m", "base-only", 100, 100, 100, 100)...)
	cand := append(cmpSide("m", "both", 1, 2, 3, 4, 5), cmpSide("m", "cand-only", 900, 900, 900, 900)...)
	c := Compare(base, cand, metricsOf(t, "ttft_ms"), 0)
	if hasRow(c, "base-only", "ttft_ms") || hasRow(c, "cand-only", "ttft_ms") || !hasRow(c, "both", "ttft_ms") {
		t.Errorf("rows: %+v", c.Rows)
	}
	if !hasCmpWarning(c, `scenario "base-only" of model "m" is only in the base`) ||
		!hasCmpWarning(c, `scenario "cand-only" of model "m" is only in the candidate`) {
		t.Errorf("warnings: %q", c.Warnings)
	}
	// The pooled row pools the paired scenario only.
	if p := findRow(t, c, "m", "*", "ttft_ms"); p.NBase != 5 || p.NCand != 5 || p.Significant {
		t.Errorf("pooled row: n %d+%d significant %v", p.NBase, p.NCand, p.Significant)
	}
}

func TestCompareExcludesFailuresAndWarmup(t *testing.T) {
	base := cmpSide("m", "s", 10, 11, 12, 13, 14, 15)
	cand := cmpSide("m", "s", 10, 11, 12, 13, 14, 15)
	clean := Compare(base, cand, nil, 0)

	slow := cmpRec("m", "s", time.Minute, time.Second)
	slow.Warmup = true
	cand = append(cand, slow)
	for _, o := range []record.Outcome{record.Timeout, record.HTTPError, record.StreamError, record.ConnectError, record.Canceled, "bogus"} {
		r := cmpRec("m", "s", time.Minute, time.Second) // failed records may carry times: still never counted
		r.Outcome = o
		cand = append(cand, r)
	}
	dirty := Compare(base, cand, nil, 0)
	if len(dirty.Rows) != len(clean.Rows) {
		t.Fatalf("rows %d, want %d", len(dirty.Rows), len(clean.Rows))
	}
	for i := range dirty.Rows {
		d, c := dirty.Rows[i], clean.Rows[i]
		if d.NCand != c.NCand || d.Cand.P50 != c.Cand.P50 || d.Cand.Max != c.Cand.Max || d.P != c.P {
			t.Errorf("%s: warm-up or failed records counted: n %d vs %d, max %g vs %g", d.Metric, d.NCand, c.NCand, d.Cand.Max, c.Cand.Max)
		}
	}
	// A side of warm-ups and failures only has nothing to compare.
	only := Compare(base, cand[6:], nil, 0)
	if len(only.Rows) != 0 || !hasCmpWarning(only, "the candidate has no ok measured requests") {
		t.Errorf("rows %d warnings %q", len(only.Rows), only.Warnings)
	}
}

func TestComparePairing(t *testing.T) {
	ttft := metricsOf(t, "ttft_ms")
	ab := append(cmpSide("A", "s", 1, 2, 3, 4), cmpSide("B", "s", 5, 6, 7, 8)...)

	// Same models: paired by model × scenario.
	c := Compare(ab, ab, ttft, 0)
	if a, b := findRow(t, c, "A", "s", "ttft_ms"), findRow(t, c, "B", "s", "ttft_ms"); a.NBase != 4 || b.NBase != 4 || a.Base.P50 == b.Base.P50 {
		t.Errorf("per-model rows mixed: %+v %+v", a, b)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}

	// Model A against model B: paired by scenario only.
	x := Compare(cmpSide("A", "s", 1, 2, 3, 4), cmpSide("B", "s", 5, 6, 7, 8), ttft, 0)
	r := findRow(t, x, "", "s", "ttft_ms")
	if r.NBase != 4 || r.NCand != 4 || !near(r.Cand.P50, 6.5, 1e-9) || len(x.Warnings) != 0 {
		t.Errorf("A vs B: %+v warnings %q", r, x.Warnings)
	}

	// Two models against a third: pooled per scenario, with a warning.
	y := Compare(ab, cmpSide("C", "s", 1, 2, 3, 4), ttft, 0)
	if r := findRow(t, y, "", "s", "ttft_ms"); r.NBase != 8 || !hasCmpWarning(y, `the base holds 2 models ("A", "B")`) {
		t.Errorf("A+B vs C: n %d warnings %q", r.NBase, y.Warnings)
	}

	// Overlapping model sets: paired by model, the extra model warned.
	z := Compare(ab, cmpSide("A", "s", 1, 2, 3, 4), ttft, 0)
	for _, row := range z.Rows {
		if row.Model != "A" {
			t.Errorf("row for model %q", row.Model)
		}
	}
	if !hasCmpWarning(z, `model "B" is only in the base`) {
		t.Errorf("warnings: %q", z.Warnings)
	}
}

func TestMetricByKey(t *testing.T) {
	keys := map[string]bool{}
	for _, m := range Metrics {
		got, ok := MetricByKey(m.Key)
		if !ok || got.Key != m.Key || got.Name == "" || got.Unit == "" || got.Samples == nil {
			t.Errorf("MetricByKey(%q) = %+v, %v", m.Key, got, ok)
		}
		if keys[m.Key] {
			t.Errorf("duplicate key %q", m.Key)
		}
		keys[m.Key] = true
	}
	for _, k := range []string{"", "ttft", "TTFT_MS", "prefill", "nope"} {
		if _, ok := MetricByKey(k); ok {
			t.Errorf("MetricByKey(%q) found", k)
		}
	}
	for _, k := range []string{"ttft_ms", "ttfo_ms", "tpot_ms", "itl_ms", "e2e_ms", "decode_tps", "output_tps"} {
		if !keys[k] {
			t.Errorf("Metrics lacks %q", k)
		}
	}
	if m, _ := MetricByKey("decode_tps"); !m.HigherIsBetter {
		t.Error("decode_tps: higher is better")
	}
	if m, _ := MetricByKey("e2e_ms"); m.HigherIsBetter {
		t.Error("e2e_ms: lower is better")
	}
}

func TestMetricsMatchAggregator(t *testing.T) {
	// The same records summarised by the Aggregator and by the metrics'
	// Samples must give the same distributions.
	var recs []record.Record
	for i := range 12 {
		r := cmpRec("m", "s", time.Duration(20+i)*msec, time.Duration(5+i%3)*msec)
		r.FirstAnswer = r.FirstToken + time.Duration(i)*msec
		r.OutputTokens = 11 + i%4
		r.Chunks = []record.Chunk{{At: r.FirstToken, Est: 1}, {At: r.FirstToken + 4*msec, Tokens: 0, Est: 3}, {At: r.LastToken, Est: 2 + i%2}}
		recs = append(recs, r)
	}
	one := cmpRec("m", "s", 30*msec, 0) // one event: no TPOT, no decode rate
	one.OutputTokens, one.LastToken = 5, 30*msec
	recs = append(recs, one)
	var a Aggregator
	for i := range recs {
		a.Add(&recs[i])
	}
	g := a.Summary(Options{}).Groups[0]
	want := map[string]Dist{"ttft_ms": g.TTFT, "ttfo_ms": g.TTFO, "tpot_ms": g.TPOT, "itl_ms": g.ITL,
		"e2e_ms": g.E2E, "decode_tps": g.DecodeTPS, "output_tps": g.OutputTPS}
	ptrs := make([]*record.Record, len(recs))
	for i := range recs {
		ptrs[i] = &recs[i]
	}
	for _, m := range Metrics {
		got := NewDist(samplesOf(m, ptrs))
		w := want[m.Key]
		if got.N != w.N || !near(got.P50, w.P50, 1e-9) || !near(got.Mean, w.Mean, 1e-9) || !near(got.Max, w.Max, 1e-9) {
			t.Errorf("%s: compare n %d p50 %g mean %g; aggregator n %d p50 %g mean %g", m.Key, got.N, got.P50, got.Mean, w.N, w.P50, w.Mean)
		}
	}
	if g.ITL.N <= len(recs) {
		t.Errorf("ITL should be per token: n %d", g.ITL.N)
	}
}

func TestCompareHostileSamples(t *testing.T) {
	// A metric that yields non-finite values: they are dropped, never tested.
	weird := Metric{Key: "weird", Name: "weird", Unit: "x", Samples: func(r *record.Record, dst []float64) []float64 {
		return append(dst, math.NaN(), math.Inf(1), ms(r.FirstToken))
	}}
	zero := Metric{Key: "zero", Name: "zero", Unit: "x", Samples: func(r *record.Record, dst []float64) []float64 {
		return append(dst, 0)
	}}
	noSamples := Metric{Key: "nil"} // no Samples func: skipped
	c := Compare(cmpSide("m", "s", 1, 2, 3, 4), cmpSide("m", "s", 5, 6, 7, 8), []Metric{weird, zero, noSamples}, math.NaN())
	if c.Alpha != DefaultAlpha || len(c.Metrics) != 2 {
		t.Errorf("alpha %g metrics %d", c.Alpha, len(c.Metrics))
	}
	r := findRow(t, c, "m", "s", "weird")
	if r.NBase != 4 || r.NCand != 4 || math.IsNaN(r.P) {
		t.Errorf("non-finite samples not dropped: %+v", r)
	}
	z := findRow(t, c, "m", "s", "zero")
	if !math.IsNaN(z.Delta) || z.P != 1 || z.Significant {
		t.Errorf("zero base median: delta %g p %g", z.Delta, z.P)
	}
	// Non-positive medians cannot enter a geomean: left out, with a warning.
	two := append(cmpSide("m", "s", 1, 2, 3, 4), cmpSide("m", "t", 1, 2, 3, 4)...)
	g := Compare(two, two, []Metric{zero}, 0)
	if len(g.Geomean) != 0 || !hasCmpWarning(g, "geomean leaves out 2 of 2 scenarios") {
		t.Errorf("zero geomean: %+v warnings %q", g.Geomean, g.Warnings)
	}
	if e := Compare(nil, nil, nil, 0); e.Rows == nil || e.Geomean == nil || e.Warnings == nil || len(e.Rows) != 0 {
		t.Errorf("empty comparison: %+v", e)
	}
}
