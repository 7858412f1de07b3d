package stats

import (
	"encoding/json"
	"math"
)

// distJSON is the wire form of a Dist: nil pointers are JSON null.
type distJSON struct {
	N        int         `json:"n"`
	Mean     *float64    `json:"mean"`
	Std      *float64    `json:"std"`
	Min      *float64    `json:"min"`
	P50      *float64    `json:"p50"`
	P90      *float64    `json:"p90"`
	P95      *float64    `json:"p95"`
	P99      *float64    `json:"p99"`
	Max      *float64    `json:"max"`
	MedianCI *[2]float64 `json:"median_ci"`
	MeanCI   *[2]float64 `json:"mean_ci"`
}

// num returns a pointer to x, or nil when x is not finite (or n is 0).
func num(n int, x float64) *float64 {
	if n == 0 || !finite(x) {
		return nil
	}
	return &x
}

// interval returns a pointer to ci, or nil unless both ends are finite.
func interval(n int, ci [2]float64) *[2]float64 {
	if n == 0 || !finite(ci[0]) || !finite(ci[1]) {
		return nil
	}
	return &ci
}

// MarshalJSON writes {"n","mean","std","min","p50","p90","p95","p99","max",
// "median_ci","mean_ci"}. With N == 0 every figure is null (never 0); a
// figure or interval that could not be computed is null.
func (d Dist) MarshalJSON() ([]byte, error) {
	n := max(d.N, 0)
	return json.Marshal(distJSON{
		N:    n,
		Mean: num(n, d.Mean), Std: num(n, d.Std),
		Min: num(n, d.Min), P50: num(n, d.P50), P90: num(n, d.P90),
		P95: num(n, d.P95), P99: num(n, d.P99), Max: num(n, d.Max),
		MedianCI: interval(n, d.MedianCI), MeanCI: interval(n, d.MeanCI),
	})
}

// UnmarshalJSON reads what MarshalJSON writes; null becomes NaN.
func (d *Dist) UnmarshalJSON(b []byte) error {
	var w distJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := emptyDist()
	if w.N <= 0 {
		*d = out
		return nil
	}
	get := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	out.N = w.N
	out.Mean, out.Std = get(w.Mean), get(w.Std)
	out.Min, out.P50, out.P90 = get(w.Min), get(w.P50), get(w.P90)
	out.P95, out.P99, out.Max = get(w.P95), get(w.P99), get(w.Max)
	if w.MedianCI != nil {
		out.MedianCI = *w.MedianCI
	}
	if w.MeanCI != nil {
		out.MeanCI = *w.MeanCI
	}
	*d = out
	return nil
}
