package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	mstats "github.com/aclements/go-moremath/stats"

	"flperf/internal/record"
)

// DefaultAlpha is the significance level of a Comparison when none is
// given: a change is shown as "~" (no change) when p > DefaultAlpha, as
// benchstat does.
const DefaultAlpha = 0.05

// MinCompareSamples is the fewest samples each side needs for a p-value.
// With fewer, the two-sided Mann-Whitney U test cannot reach p ≤ 0.05 even
// when every candidate sample is beyond every base sample (with 3 + 3 the
// smallest possible p is 0.1), so benchstat reports none; so do we.
const MinCompareSamples = 4

// MinGeomeanRows is the fewest per-scenario rows of a metric for which a
// Comparison adds a geometric-mean row (with one row the geomean would only
// repeat it).
const MinGeomeanRows = 2

// Metric is one per-request figure that a Comparison can compare.
type Metric struct {
	Key            string // stable key, as in JSON reports: "ttft_ms"
	Name           string // short display name: "TTFT"
	Unit           string // display unit: "ms", "tok/s"
	HigherIsBetter bool   // rates: true; latencies: false
	// Samples appends the record's samples of the metric to dst and
	// returns it: none when the record has no such figure, one for most
	// metrics, one per token for ITL. Only ok, non-warm-up records are
	// passed in.
	Samples func(r *record.Record, dst []float64) []float64
}

// Metrics lists the comparable metrics, in report order. Their definitions
// are those of the Aggregator (docs/metrics.md §3), so a comparison and a
// summary of the same records agree.
var Metrics = []Metric{
	{Key: "ttft_ms", Name: "TTFT", Unit: "ms", Samples: ttftSamples},
	{Key: "ttfo_ms", Name: "TTFO", Unit: "ms", Samples: ttfoSamples},
	{Key: "tpot_ms", Name: "TPOT", Unit: "ms", Samples: tpotSamples},
	{Key: "itl_ms", Name: "ITL", Unit: "ms", Samples: itlSamples},
	{Key: "e2e_ms", Name: "E2E", Unit: "ms", Samples: e2eSamples},
	{Key: "decode_tps", Name: "decode", Unit: "tok/s", HigherIsBetter: true, Samples: decodeSamples},
	{Key: "output_tps", Name: "output", Unit: "tok/s", HigherIsBetter: true, Samples: outputRateSamples},
}

// MetricByKey returns the metric of Metrics with the given key.
func MetricByKey(key string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}

// ttftSamples appends t_first − t_send in ms.
func ttftSamples(r *record.Record, dst []float64) []float64 {
	if d, ok := r.TTFT(); ok {
		dst = append(dst, ms(d))
	}
	return dst
}

// ttfoSamples appends t_first_answer − t_send in ms.
func ttfoSamples(r *record.Record, dst []float64) []float64 {
	if d, ok := r.TTFO(); ok {
		dst = append(dst, ms(d))
	}
	return dst
}

// tpotMS returns the record's TPOT in ms, or false when it has none (or
// all its tokens came in one event, leaving no decode time to measure).
func tpotMS(r *record.Record) (float64, bool) {
	if d, ok := r.TPOT(); ok && d > 0 {
		return ms(d), true
	}
	return 0, false
}

// tpotSamples appends (t_last − t_first)/(N_out − 1) in ms.
func tpotSamples(r *record.Record, dst []float64) []float64 {
	if v, ok := tpotMS(r); ok {
		dst = append(dst, v)
	}
	return dst
}

// itlSamples appends the record's per-token ITL samples in ms, as the
// Aggregator takes them (Record.ITL's, in its order).
func itlSamples(r *record.Record, dst []float64) []float64 {
	if len(r.Chunks) < 2 {
		return dst
	}
	var b sampleBuf
	b.addITL(r)
	for _, blk := range append(b.full, b.cur) {
		for _, d := range blk {
			dst = append(dst, ms(d))
		}
	}
	return dst
}

// e2eSamples appends t_end − t_send in ms.
func e2eSamples(r *record.Record, dst []float64) []float64 {
	if d, ok := r.E2E(); ok {
		dst = append(dst, ms(d))
	}
	return dst
}

// decodeSamples appends 1000 / TPOT ms, in tokens/s.
func decodeSamples(r *record.Record, dst []float64) []float64 {
	if v, ok := tpotMS(r); ok {
		dst = append(dst, 1000/v)
	}
	return dst
}

// outputRateSamples appends N_out / E2E, in tokens/s, when the output
// token count is known.
func outputRateSamples(r *record.Record, dst []float64) []float64 {
	out, src, _ := r.Output()
	outKnown := out > 0 || (out == 0 && known(src))
	if d, ok := r.E2E(); ok && outKnown {
		dst = append(dst, float64(out)/(ms(d)/1000))
	}
	return dst
}

// Row compares one metric of one group across the two sides.
type Row struct {
	Model    string // model name; "" when the sides are paired by scenario only
	Scenario string // scenario name; "" on a pooled row
	Stage    string // the load level of a sweep ("c=4"); "" on a pooled row and in a run of one level
	Pooled   bool   // the row pools every scenario compared for Model
	Metric   string // Metric.Key

	Base, Cand   Dist    // the two sample sets: median (P50) and its 95 % CI
	Delta        float64 // relative change of the medians, (cand − base)/base; NaN when the base median is 0 or unknown
	P            float64 // two-sided Mann-Whitney U p-value; NaN when not computed (see Note)
	NBase, NCand int     // samples per side
	Significant  bool    // P ≤ the comparison's alpha
	Worse        bool    // Significant and the median moved in the bad direction for the metric
	Note         string  // why P is missing, or "all samples are equal" (P is then 1)
}

// GeoRow is benchstat's geomean row for one metric: the geometric mean of
// the per-scenario medians on each side and its relative change. It carries
// no p-value: a geometric mean is not tested.
type GeoRow struct {
	Metric     string  // Metric.Key
	Base, Cand float64 // geometric means of the medians
	Delta      float64 // Cand/Base − 1
	Worse      bool    // the geomean moved in the bad direction for the metric (untested)
}

// Comparison is the result of Compare (docs/metrics.md §6).
type Comparison struct {
	BaseLabel, CandLabel string   // set by the caller ("base" and "candidate" by default)
	Alpha                float64  // significance level
	Metrics              []Metric // the metrics compared, in order
	Rows                 []Row    // metric by metric; per model, its scenarios then its pooled row
	Geomean              []GeoRow // one per metric with at least MinGeomeanRows per-scenario rows
	Warnings             []string // one-sided scenarios or models, small samples, …; each says what to do
	// Energy compares the energy per output token where both sides
	// measured it; Compare leaves it empty (the records carry no energy):
	// the caller fills it from the runs' resource summaries.
	Energy []EnergyRow `json:"energy,omitempty"`
	// Capacity puts two capacity searches side by side when either side
	// was one (the caller fills it from the runs); nil otherwise.
	Capacity *CapacityPair `json:"capacity,omitempty"`
	// Legacy says, for each side imported from the original FLPerformance,
	// that none of its figures is compared (the caller fills it; such a
	// side has no records). Views put it first; a regression gate refuses
	// to pass or fail on it.
	Legacy []string `json:"legacy,omitempty"`
}

// pairKey identifies one group of a comparison side.
type pairKey struct{ model, scenario, stage string }

// side is one side of a comparison: its usable records by group.
type side struct {
	groups map[pairKey][]*record.Record
	order  []pairKey
	models []string // distinct models, first-seen order
}

// newSide groups the ok, non-warm-up records of recs. With byModel false
// the model is left out of the key, so records are grouped by scenario only.
func newSide(recs []record.Record, byModel bool) *side {
	s := &side{groups: map[pairKey][]*record.Record{}}
	seen := map[string]bool{}
	for i := range recs {
		r := &recs[i]
		if r.Warmup || r.Outcome != record.OK {
			continue
		}
		if !seen[r.Model] {
			seen[r.Model] = true
			s.models = append(s.models, r.Model)
		}
		k := pairKey{scenario: r.Scenario, stage: r.Stage}
		if byModel {
			k.model = r.Model
		}
		if _, ok := s.groups[k]; !ok {
			s.order = append(s.order, k)
		}
		s.groups[k] = append(s.groups[k], r)
	}
	return s
}

// usableModels returns the distinct models of the ok, non-warm-up records.
func usableModels(recs []record.Record) []string {
	return newSide(recs, false).models
}

// Compare compares two sides, base and cand, metric by metric (Metrics when
// metrics is empty) at significance level alpha (DefaultAlpha when alpha is
// not in (0, 1)). The caller picks the records of each side (a run, or a
// model of a run) and sets the labels on the result. Warm-up and non-ok
// records are ignored.
//
// Pairing: when the two sides share at least one model name (two runs of
// the same models), groups are paired by model × scenario × stage (the load
// level of a sweep, docs/metrics.md §7), and models found
// on one side only are left out with a warning. When they share none (model
// X against model Y), groups are paired by scenario only: each side's
// records of a scenario are pooled over its models, with a warning when a
// side holds more than one model, and rows have Model "". Scenarios found on
// one side only are left out with a warning.
//
// Rows: for each metric, for each model (base order), one row per paired
// scenario (base order) and then one pooled row over the paired scenarios
// only, so that a scenario run on one side cannot tilt it. The pooled row is
// there even for a single scenario, so that a CI gate can read pooled rows
// alone. A metric with no samples on either side of a group (TTFT of a
// non-streaming run) has no row. The p-value is the two-sided Mann-Whitney U
// test's; each side needs MinCompareSamples samples, else P is NaN and Note
// says why; when every sample of both sides is equal, P is 1. TTFO is
// compared only when some request's TTFO differs from its TTFT (a
// reasoning model); otherwise it would repeat TTFT, and a warning says so.
func Compare(base, cand []record.Record, metrics []Metric, alpha float64) Comparison {
	if !(alpha > 0 && alpha < 1) {
		alpha = DefaultAlpha
	}
	if len(metrics) == 0 {
		metrics = Metrics
	}
	c := Comparison{BaseLabel: "base", CandLabel: "candidate", Alpha: alpha, Rows: []Row{}, Geomean: []GeoRow{}, Warnings: []string{}}
	warn := func(format string, args ...any) { c.Warnings = append(c.Warnings, fmt.Sprintf(format, args...)) }
	for _, m := range metrics {
		switch {
		case m.Samples == nil:
		case m.Key == "ttfo_ms" && !hasReasoning(base) && !hasReasoning(cand):
			warn("TTFO equals TTFT for every request (no reasoning output): not compared separately")
		default:
			c.Metrics = append(c.Metrics, m)
		}
	}

	bm, cm := usableModels(base), usableModels(cand)
	shared := intersect(bm, cm)
	byModel := len(shared) > 0
	b, k := newSide(base, byModel), newSide(cand, byModel)
	for _, x := range []struct {
		name   string
		s      *side
		models []string
	}{{"base", b, bm}, {"candidate", k, cm}} {
		switch {
		case len(x.s.order) == 0:
			warn("the %s has no ok measured requests: nothing to compare", x.name)
		case !byModel && len(x.models) > 1:
			warn("the %s holds %d models (%s) and the sides share none, so its records are pooled per scenario; compare one model against one", x.name, len(x.models), quoteList(x.models))
		}
	}
	if len(b.order) == 0 || len(k.order) == 0 {
		return c
	}
	if byModel {
		for _, m := range bm {
			if !slices.Contains(cm, m) {
				warn("model %q is only in the base: not compared", m)
			}
		}
		for _, m := range cm {
			if !slices.Contains(bm, m) {
				warn("model %q is only in the candidate: not compared", m)
			}
		}
	}

	// Paired groups per model, in base order; one-sided scenarios warned.
	models := shared
	if !byModel {
		models = []string{""}
	}
	paired := map[string][]pairKey{}
	for _, key := range b.order {
		if byModel && !slices.Contains(shared, key.model) {
			continue
		}
		if _, ok := k.groups[key]; ok {
			paired[key.model] = append(paired[key.model], key)
		} else {
			warn("%s is only in the base: not compared", groupName(key, byModel))
		}
	}
	for _, key := range k.order {
		if byModel && !slices.Contains(shared, key.model) {
			continue
		}
		if _, ok := b.groups[key]; !ok {
			warn("%s is only in the candidate: not compared", groupName(key, byModel))
		}
	}

	noP := 0
	for _, m := range c.Metrics {
		var geoRows []Row
		for _, model := range models {
			var poolB, poolC []float64
			for _, key := range paired[model] {
				xb, xc := samplesOf(m, b.groups[key]), samplesOf(m, k.groups[key])
				poolB, poolC = append(poolB, xb...), append(poolC, xc...)
				if r, ok := compareSamples(m, xb, xc, alpha); ok {
					r.Model, r.Scenario, r.Stage = key.model, key.scenario, key.stage
					c.Rows = append(c.Rows, r)
					geoRows = append(geoRows, r)
					if math.IsNaN(r.P) {
						noP++
					}
				}
			}
			if r, ok := compareSamples(m, poolB, poolC, alpha); ok {
				r.Model, r.Pooled = model, true
				c.Rows = append(c.Rows, r)
			}
		}
		g, skipped, ok := geomean(m, geoRows)
		if ok {
			c.Geomean = append(c.Geomean, g)
		}
		if skipped > 0 && len(geoRows) >= MinGeomeanRows {
			warn("the %s geomean leaves out %d of %d scenarios whose median is not positive", m.Name, skipped, len(geoRows))
		}
	}
	if noP > 0 {
		warn("%d comparisons have fewer than %d samples on a side and no p-value; run at least 10 requests per scenario on each side", noP, MinCompareSamples)
	}
	return c
}

// hasReasoning reports whether some ok, non-warm-up record's first answer
// token came after its first token (docs/metrics.md §3: TTFO is reported only
// when it differs from TTFT).
func hasReasoning(recs []record.Record) bool {
	for i := range recs {
		r := &recs[i]
		if !r.Warmup && r.Outcome == record.OK && r.FirstAnswer != r.FirstToken {
			return true
		}
	}
	return false
}

// samplesOf returns the finite samples of metric m over recs.
func samplesOf(m Metric, recs []*record.Record) []float64 {
	var xs []float64
	for _, r := range recs {
		xs = m.Samples(r, xs)
	}
	out := xs[:0]
	for _, x := range xs {
		if finite(x) {
			out = append(out, x)
		}
	}
	return out
}

// compareSamples compares two sample sets of metric m; ok is false when
// both are empty (the metric was not measured).
func compareSamples(m Metric, xb, xc []float64, alpha float64) (Row, bool) {
	if len(xb) == 0 && len(xc) == 0 {
		return Row{}, false
	}
	r := Row{
		Metric: m.Key, Base: NewDist(xb), Cand: NewDist(xc),
		NBase: len(xb), NCand: len(xc), Delta: nan, P: nan,
	}
	if mb, mc := r.Base.P50, r.Cand.P50; finite(mb) && finite(mc) && mb != 0 {
		if d := (mc - mb) / mb; finite(d) {
			r.Delta = d
		}
	}
	switch {
	case r.NBase == 0:
		r.Note = "no samples in the base"
	case r.NCand == 0:
		r.Note = "no samples in the candidate"
	case r.NBase < MinCompareSamples || r.NCand < MinCompareSamples:
		r.Note = fmt.Sprintf("need ≥ %d samples on each side for a p-value", MinCompareSamples)
	default:
		res, err := mstats.MannWhitneyUTest(xb, xc, mstats.LocationDiffers)
		switch {
		case errors.Is(err, mstats.ErrSamplesEqual):
			r.P, r.Note = 1, "all samples are equal"
		case err != nil:
			r.Note = "no p-value: " + err.Error()
		default:
			r.P = res.P
		}
	}
	if !math.IsNaN(r.P) {
		r.Significant = r.P <= alpha
		r.Worse = r.Significant && worse(m, r.Base.P50, r.Cand.P50)
	}
	return r, true
}

// worse reports whether going from base to cand is bad for metric m.
func worse(m Metric, base, cand float64) bool {
	if m.HigherIsBetter {
		return cand < base
	}
	return cand > base
}

// geomean computes the geomean row of metric m over its per-scenario rows,
// skipping rows whose medians are not both positive (skipped counts them);
// ok is false with fewer than MinGeomeanRows usable rows.
func geomean(m Metric, rows []Row) (g GeoRow, skipped int, ok bool) {
	var sb, sc float64
	n := 0
	for _, r := range rows {
		mb, mc := r.Base.P50, r.Cand.P50
		if r.NBase == 0 || r.NCand == 0 {
			continue
		}
		if !(mb > 0 && mc > 0) || !finite(mb) || !finite(mc) {
			skipped++
			continue
		}
		sb += math.Log(mb)
		sc += math.Log(mc)
		n++
	}
	if n < MinGeomeanRows {
		return GeoRow{}, skipped, false
	}
	g = GeoRow{Metric: m.Key, Base: math.Exp(sb / float64(n)), Cand: math.Exp(sc / float64(n))}
	g.Delta = g.Cand/g.Base - 1
	g.Worse = worse(m, g.Base, g.Cand)
	return g, skipped, true
}

// groupName names a group in a warning.
func groupName(k pairKey, byModel bool) string {
	at := ""
	if k.stage != "" {
		at = fmt.Sprintf(" at %s", k.stage)
	}
	if byModel {
		return fmt.Sprintf("scenario %q%s of model %q", k.scenario, at, k.model)
	}
	return fmt.Sprintf("scenario %q%s", k.scenario, at)
}

// intersect returns the elements of a also in b, in a's order.
func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// quoteList returns the quoted names joined by ", ".
func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
