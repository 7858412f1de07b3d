package stats

import (
	"math"
	"slices"

	mstats "github.com/aclements/go-moremath/stats"
)

// Confidence is the coverage of the confidence intervals in a Dist.
const Confidence = 0.95

// Sample counts below which a percentile is little more than the maximum
// (metrics.md §5): the figure is still computed, but carries a warning.
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
	n := len(xs)
	if n == 0 {
		return emptyDist()
	}
	d := emptyDist()
	d.N = n
	d.Min, d.Max = xs[0], xs[n-1]
	d.P50 = Percentile(xs, 50)
	d.P90 = Percentile(xs, 90)
	d.P95 = Percentile(xs, 95)
	d.P99 = Percentile(xs, 99)

	mean := meanOf(xs)
	d.Mean = mean
	if n >= 2 {
		// Two-pass sample variance with the compensation term (the second
		// sum is 0 in exact arithmetic and corrects rounding in the mean).
		var ss, comp float64
		for _, x := range xs {
			dx := x - mean
			ss += dx * dx
			comp += dx
		}
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

// meanOf returns the mean of xs (not empty): a plain sum when it stays
// finite, else Welford's running mean, which cannot overflow.
func meanOf(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
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
