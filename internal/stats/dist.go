package stats

import (
	"math"
	"slices"

	mstats "github.com/aclements/go-moremath/stats"
)

// Confidence is the coverage of the confidence intervals in a Dist.
const Confidence = 0.95

// Sample counts below which a percentile is little more than the maximum
// (docs/metrics.md §5): the figure is still computed, but carries a warning.
const (
	MinSamplesP95 = 20
	MinSamplesP99 = 100
)

// Dist summarises one latency-like metric over a sample set. Figures that
// cannot be computed are NaN in memory and null in JSON: all of them when N
// is 0, Std when N < 2, MeanCI when N < 2, MedianCI when N is too small for
// 95 % coverage from order statistics (N < 6).
type Dist struct {
	N                            int        // number of samples
	Mean, Std                    float64    // arithmetic mean; sample standard deviation (n−1)
	Min, P50, P90, P95, P99, Max float64    // type-7 percentiles
	MedianCI, MeanCI             [2]float64 // 95 % CIs: median by order statistics, mean by Student t
}

// nan is a quiet NaN, the in-memory "not computed".
var nan = math.NaN()

// emptyDist is the Dist of no samples: every figure NaN.
func emptyDist() Dist {
	return Dist{
		Mean: nan, Std: nan, Min: nan, P50: nan, P90: nan, P95: nan, P99: nan, Max: nan,
		MedianCI: [2]float64{nan, nan}, MeanCI: [2]float64{nan, nan},
	}
}

// Empty reports whether the Dist has no samples.
func (d Dist) Empty() bool { return d.N == 0 }

// NewDist summarises xs. It sorts a copy (xs is not modified) and ignores
// NaN and infinite values.
func NewDist(xs []float64) Dist {
	c := make([]float64, 0, len(xs))
	for _, x := range xs {
		if finite(x) {
			c = append(c, x)
		}
	}
	slices.Sort(c)
	return distSorted(c)
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// distSorted summarises an ascending slice of finite values.
func distSorted(xs []float64) Dist {
	if len(xs) == 0 {
		return emptyDist()
	}
	mean := meanFrom(xs, sum(xs))
	var ss, comp float64
	if len(xs) >= 2 {
		ss, comp = sqDev(xs, mean)
	}
	return finishDist(xs, mean, ss, comp)
}

// distSorted2 is distSorted of a and of b, with the same results. Each of
// their sums is a chain of dependent additions, which the processor runs no
// faster than one addition's latency allows; two chains side by side run in
// about the time of one.
func distSorted2(a, b []float64) (Dist, Dist) {
	if len(a) < 2 || len(b) < 2 {
		return distSorted(a), distSorted(b)
	}
	sa, sb := sum2(a, b)
	ma, mb := meanFrom(a, sa), meanFrom(b, sb)
	ssa, ca, ssb, cb := sqDev2(a, ma, b, mb)
	return finishDist(a, ma, ssa, ca), finishDist(b, mb, ssb, cb)
}

// distsSorted sets out[i] to distSorted(xss[i]) for each i, two at a time
// (distSorted2).
func distsSorted(xss [][]float64, out []Dist) {
	for i := 0; i < len(xss); i += 2 {
		if i+1 == len(xss) {
			out[i] = distSorted(xss[i])
		} else {
			out[i], out[i+1] = distSorted2(xss[i], xss[i+1])
		}
	}
}

// finishDist completes the Dist of xs (ascending, not empty) from its mean
// and, when it has two samples or more, the sums of sqDev.
func finishDist(xs []float64, mean, ss, comp float64) Dist {
	n := len(xs)
	d := emptyDist()
	d.N = n
	d.Min, d.Max = xs[0], xs[n-1]
	d.P50 = Percentile(xs, 50)
	d.P90 = Percentile(xs, 90)
	d.P95 = Percentile(xs, 95)
	d.P99 = Percentile(xs, 99)
	d.Mean = mean
	if n >= 2 {
		// Two-pass sample variance with the compensation term (the second
		// sum is 0 in exact arithmetic and corrects rounding in the mean).
		d.Std = math.Sqrt(max(ss-comp*comp/float64(n), 0) / float64(n-1))
		t := -mstats.InvCDF(mstats.TDist{V: float64(n - 1)})((1 - Confidence) / 2)
		w := t * d.Std / math.Sqrt(float64(n))
		d.MeanCI = [2]float64{mean - w, mean + w}
	}
	ci := mstats.QuantileCI(n, 0.5, Confidence)
	if ci.LoOrder >= 1 && ci.HiOrder <= n {
		d.MedianCI = [2]float64{xs[ci.LoOrder-1], xs[ci.HiOrder-1]}
	}
	return d
}

// sum returns the sum of xs, added left to right.
func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// sum2 returns sum(a) and sum(b), adding in step while both last.
func sum2(a, b []float64) (sa, sb float64) {
	m := min(len(a), len(b))
	a1, b1 := a[:m], b[:m]
	for i := range a1 {
		sa += a1[i]
		sb += b1[i]
	}
	for _, x := range a[m:] {
		sa += x
	}
	for _, x := range b[m:] {
		sb += x
	}
	return sa, sb
}

// sqDev returns the sums, left to right, of the squared deviations of xs
// from mean and of the deviations.
func sqDev(xs []float64, mean float64) (ss, comp float64) {
	for _, x := range xs {
		dx := x - mean
		ss += dx * dx
		comp += dx
	}
	return ss, comp
}

// sqDev2 returns sqDev(a, ma) and sqDev(b, mb), in step while both last.
func sqDev2(a []float64, ma float64, b []float64, mb float64) (ssa, ca, ssb, cb float64) {
	m := min(len(a), len(b))
	a1, b1 := a[:m], b[:m]
	for i := range a1 {
		da := a1[i] - ma
		ssa += da * da
		ca += da
		db := b1[i] - mb
		ssb += db * db
		cb += db
	}
	for _, x := range a[m:] {
		da := x - ma
		ssa += da * da
		ca += da
	}
	for _, x := range b[m:] {
		db := x - mb
		ssb += db * db
		cb += db
	}
	return ssa, ca, ssb, cb
}

// meanFrom returns the mean of xs (not empty) given their sum: the plain
// mean when it is finite, else Welford's running mean, which cannot
// overflow.
func meanFrom(xs []float64, sum float64) float64 {
	if m := sum / float64(len(xs)); finite(m) {
		return m
	}
	var m float64
	for i, x := range xs {
		m += (x - m) / float64(i+1)
	}
	return m
}

// Percentile returns the p-th percentile (p in [0,100], clamped) of an
// ascending slice by linear interpolation between closest ranks: numpy's
// default, Hyndman & Fan type 7. It returns NaN for an empty slice or a NaN p.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(p) {
		return nan
	}
	p = min(max(p, 0), 100)
	h := float64(n-1) * p / 100
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	f := h - float64(lo)
	a, b := sorted[lo], sorted[lo+1]
	if f == 0 || a == b {
		return a
	}
	return a + (b-a)*f
}
