package capacity

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	mstats "github.com/aclements/go-moremath/stats"

	"flperf/internal/record"
	"flperf/internal/stats"
)

// Sample is what one measured request of a level says about the
// objectives: its latencies in milliseconds (NaN: the request has no such
// figure) and whether it failed.
type Sample struct {
	TTFT, TPOT, E2E float64 // ms; TTFT and E2E queue-inclusive (Metric)
	Failed          bool    // timeout, HTTP, stream or connection error (docs/metrics.md §4)
}

// SampleOf is the sample of rec; ok is false for a record no level counts:
// a warm-up, or a request the user canceled.
func SampleOf(rec *record.Record) (s Sample, ok bool) {
	if rec.Warmup || rec.Outcome == record.Canceled {
		return s, false
	}
	s = Sample{TTFT: math.NaN(), TPOT: math.NaN(), E2E: math.NaN(), Failed: rec.Outcome.Failed()}
	if s.Failed {
		return s, true
	}
	qw := rec.QueueWait()
	if d, ok := rec.TTFT(); ok {
		s.TTFT = ms(qw + d)
	}
	if d, ok := rec.E2E(); ok {
		s.E2E = ms(qw + d)
	}
	if d, ok := rec.TPOT(); ok && d > 0 {
		s.TPOT = ms(d)
	}
	return s, true
}

// value is the sample's figure for metric m.
func (s Sample) value(m Metric) float64 {
	switch m {
	case TTFT:
		return s.TTFT
	case TPOT:
		return s.TPOT
	}
	return s.E2E
}

// Measured is one objective as a level met it or not.
type Measured struct {
	Objective Objective `json:"objective"`
	// N is the samples the percentile is over: the level's requests with
	// the figure, and its failed requests, each counted as a latency beyond
	// every target.
	N      int `json:"n"`
	Failed int `json:"failed"`
	// Value is the percentile (type 7, docs/metrics.md §5) and CI its 95 %
	// confidence interval from order statistics, in ms; nil where it cannot
	// be computed (too few samples) or lies among the failed requests.
	Value *float64    `json:"value_ms"`
	CI    *[2]float64 `json:"ci_ms"`
	// Needed is the samples an upper confidence bound of this percentile
	// needs (MinSamples).
	Needed int  `json:"needed"`
	Pass   bool `json:"pass"`
	// Why says what failed, or why the level could not be judged; "" when
	// it passed.
	Why string `json:"why,omitempty"`
}

// judge decides one objective over the level's samples.
func judge(o Objective, samples []Sample) Measured {
	m := Measured{Objective: o, Needed: MinSamples(o.Percentile)}
	xs := make([]float64, 0, len(samples))
	for _, s := range samples {
		switch v := s.value(o.Metric); {
		case s.Failed:
			m.Failed++
			xs = append(xs, math.Inf(1))
		case !math.IsNaN(v):
			xs = append(xs, v)
		}
	}
	slices.Sort(xs)
	m.N = len(xs)
	q := o.Percentile / 100
	if v := stats.Percentile(xs, o.Percentile); !math.IsNaN(v) && !math.IsInf(v, 0) {
		m.Value = &v
	}
	target := ms(o.Target)
	ci := mstats.QuantileCI(m.N, q, stats.Confidence)
	if m.N > 0 && ci.LoOrder >= 1 && ci.HiOrder <= m.N {
		lo, hi := xs[ci.LoOrder-1], xs[ci.HiOrder-1]
		if !math.IsInf(hi, 0) {
			m.CI = &[2]float64{lo, hi}
		}
		m.Pass = hi <= target
	}
	switch {
	case m.Pass:
	case m.N < m.Needed:
		m.Why = fmt.Sprintf("%s: %d samples, an upper confidence bound needs %d", o.Label(), m.N, m.Needed)
	case m.CI == nil:
		m.Why = fmt.Sprintf("%s: %d of %d requests failed", o.Label(), m.Failed, m.N)
	case m.Value != nil && *m.Value > target:
		m.Why = fmt.Sprintf("%s is %s > %s", o.Label(), fmtMS(*m.Value), fmtDur(o.Target))
	default:
		m.Why = fmt.Sprintf("%s is %s, but its upper confidence bound %s > %s", o.Label(), fmtMS(*m.Value), fmtMS(m.CI[1]), fmtDur(o.Target))
	}
	return m
}

// minSamples caches MinSamples per percentile.
var minSamples sync.Map // float64 → int

// maxSamplesSearched bounds MinSamples' search (p99.9 needs a few thousand).
const maxSamplesSearched = 1 << 20

// MinSamples is the fewest samples n from which on the 95 % confidence
// interval of the p-th percentile from order statistics — the method the
// statistics package uses for the median (docs/metrics.md §5) — has an
// upper end inside the sample, for n and for every larger n (the ends move
// in steps: at p95 it holds at 76 samples, not at 77 to 89, and always
// from 90). Below it no upper confidence bound exists, and no level can
// pass. p99 needs 441, p95 90, p90 39, p50 6: more than the 100 and 20
// below which a p99 or a p95 is reported with a warning, because a bound
// on a percentile needs more samples than the percentile itself.
func MinSamples(p float64) int {
	if v, ok := minSamples.Load(p); ok {
		return v.(int)
	}
	q := p / 100
	fits := func(n int) bool {
		ci := mstats.QuantileCI(n, q, stats.Confidence)
		return ci.LoOrder >= 1 && ci.HiOrder <= n
	}
	n := 1
	for n < maxSamplesSearched && !fits(n) {
		n++
	}
	// The interval's ends move in steps: make sure it does not fall out of
	// the sample again soon after (it does, a few times, near the start).
	for m := n + 1; m <= 2*n+64 && m < maxSamplesSearched; m++ {
		if !fits(m) {
			n = m + 1
		}
	}
	minSamples.Store(p, n)
	return n
}

// Needed is the samples a level must run for slo: the most any of its
// objectives needs.
func Needed(slo SLO) int {
	n := 0
	for _, o := range slo {
		n = max(n, MinSamples(o.Percentile))
	}
	return n
}

// fmtMS writes a latency in ms the way the one-line answer does: "71 ms",
// "1.62 s".
func fmtMS(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 1000:
		return fmt.Sprintf("%.3g s", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.3g ms", v)
}

// fmtDur writes a target: "2 s", "100 ms".
func fmtDur(d time.Duration) string { return fmtMS(ms(d)) }
