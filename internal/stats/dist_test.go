package stats

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// near reports whether got is within tol of want (absolute).
func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func seq(lo, hi int) []float64 {
	var xs []float64
	for i := lo; i <= hi; i++ {
		xs = append(xs, float64(i))
	}
	return xs
}

func TestPercentileType7(t *testing.T) {
	// Type 7: h = (n−1)·p/100, x = s[⌊h⌋] + (h−⌊h⌋)·(s[⌊h⌋+1] − s[⌊h⌋]).
	tests := []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, 50, 2.5},  // h = 1.5 → 2 + 0.5
		{[]float64{1, 2, 3, 4}, 90, 3.7},  // h = 2.7 → 3 + 0.7
		{[]float64{1, 2, 3, 4}, 25, 1.75}, // h = 0.75 → 1 + 0.75
		{[]float64{1, 2, 3, 4}, 0, 1},
		{[]float64{1, 2, 3, 4}, 100, 4},
		{[]float64{1, 2, 3, 4}, -5, 1},  // clamped to p0
		{[]float64{1, 2, 3, 4}, 250, 4}, // clamped to p100
		{seq(1, 100), 99, 99.01},        // h = 98.01 → 99 + 0.01
		{seq(1, 100), 95, 95.05},        // h = 94.05 → 95 + 0.05
		{seq(1, 100), 50, 50.5},         // h = 49.5
		{[]float64{7}, 99, 7},
		{[]float64{3, 3, 3}, 42, 3},
		// Nearest-rank (the original's defect) would give 5 for p95 of five
		// values; type 7 interpolates: h = 3.8 → 40 + 0.8·10.
		{[]float64{10, 20, 30, 40, 50}, 95, 48},
	}
	for _, tc := range tests {
		if got := Percentile(tc.xs, tc.p); !near(got, tc.want, 1e-9) {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile(empty) = %v, want NaN", got)
	}
	if got := Percentile([]float64{1, 2}, math.NaN()); !math.IsNaN(got) {
		t.Errorf("Percentile(p=NaN) = %v, want NaN", got)
	}
}

func TestNewDistKnownSample(t *testing.T) {
	in := []float64{9, 4, 2, 5, 4, 7, 4, 5} // sorted: 2 4 4 4 5 5 7 9
	orig := slices.Clone(in)
	d := NewDist(in)
	if !slices.Equal(in, orig) {
		t.Fatalf("NewDist modified its input: %v", in)
	}
	// mean 40/8 = 5; Σ(x−5)² = 9+1+1+1+0+0+4+16 = 32; std = √(32/7).
	// p90: h = 6.3 → 7 + 0.3·2 = 7.6; p95: h = 6.65 → 8.3; p99: h = 6.93 → 8.86.
	// Median CI: Binomial(8, ½) weights 1 8 28 56 70 56 28 8 1 (/256), grown
	// from the mode with a left bias: [1,7) holds 246/256 = 0.961 ≥ 0.95, so
	// the bounds are order statistics 1 and 7: 2 and 7.
	want := Dist{N: 8, Mean: 5, Std: math.Sqrt(32.0 / 7), Min: 2, P50: 4.5, P90: 7.6, P95: 8.3, P99: 8.86, Max: 9,
		MedianCI: [2]float64{2, 7}}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"mean", d.Mean, want.Mean}, {"std", d.Std, want.Std}, {"min", d.Min, want.Min},
		{"p50", d.P50, want.P50}, {"p90", d.P90, want.P90}, {"p95", d.P95, want.P95},
		{"p99", d.P99, want.P99}, {"max", d.Max, want.Max},
		{"median_ci lo", d.MedianCI[0], 2}, {"median_ci hi", d.MedianCI[1], 7},
	}
	if d.N != 8 {
		t.Errorf("N = %d, want 8", d.N)
	}
	for _, c := range checks {
		if !near(c.got, c.want, 1e-9) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestMeanCIStudentT(t *testing.T) {
	// 1..10: mean 5.5, s² = 82.5/9, s = 3.02765; t(0.975, 9) = 2.262 (table);
	// half width = 2.262 · 3.02765 / √10 = 2.1658.
	d := NewDist(seq(1, 10))
	s := math.Sqrt(82.5 / 9)
	half := 2.262 * s / math.Sqrt(10)
	if !near(d.Std, s, 1e-12) {
		t.Errorf("std = %v, want %v", d.Std, s)
	}
	// The table value is rounded to 3 decimals: allow 0.0005·s/√10.
	tol := 0.0005*s/math.Sqrt(10) + 1e-9
	if !near(d.MeanCI[0], 5.5-half, tol) || !near(d.MeanCI[1], 5.5+half, tol) {
		t.Errorf("mean CI = %v, want [%v, %v]", d.MeanCI, 5.5-half, 5.5+half)
	}
	// Constant samples: zero-width interval, not NaN.
	c := NewDist([]float64{3, 3, 3})
	if c.MeanCI != [2]float64{3, 3} || c.Std != 0 {
		t.Errorf("constant sample: std %v, mean CI %v", c.Std, c.MeanCI)
	}
	// A constant that is not exact in binary: rounding must not make the
	// variance negative (NaN std).
	c = NewDist(slices.Repeat([]float64{0.1}, 7))
	if !(c.Std >= 0 && c.Std < 1e-15) || !finite(c.MeanCI[0]) {
		t.Errorf("constant 0.1 sample: std %v, mean CI %v", c.Std, c.MeanCI)
	}
}

func TestNewDistEmptyAndNonFinite(t *testing.T) {
	for _, xs := range [][]float64{nil, {}, {math.NaN()}, {math.Inf(1), math.Inf(-1)}} {
		d := NewDist(xs)
		if d.N != 0 || !d.Empty() {
			t.Errorf("NewDist(%v).N = %d, want 0", xs, d.N)
		}
		for _, v := range []float64{d.Mean, d.Std, d.Min, d.P50, d.P90, d.P95, d.P99, d.Max, d.MedianCI[0], d.MedianCI[1], d.MeanCI[0], d.MeanCI[1]} {
			if !math.IsNaN(v) {
				t.Errorf("NewDist(%v): figure %v, want NaN (an empty dist must never read as 0)", xs, v)
			}
		}
	}
	d := NewDist([]float64{1, math.NaN(), 3, math.Inf(1)})
	if d.N != 2 || d.Mean != 2 || d.Max != 3 {
		t.Errorf("non-finite values not ignored: %+v", d)
	}
	one := NewDist([]float64{4})
	if one.N != 1 || one.P99 != 4 || !math.IsNaN(one.Std) || !math.IsNaN(one.MeanCI[0]) {
		t.Errorf("n=1: %+v (want std and mean CI NaN)", one)
	}
}

func TestMedianCI(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 200; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = r.ExpFloat64() * 100
		}
		d := NewDist(xs)
		ci := d.MedianCI
		if n < 6 {
			// 5 samples: the whole range covers only 1 − 2/32 = 93.75 % < 95 %.
			if !math.IsNaN(ci[0]) || !math.IsNaN(ci[1]) {
				t.Errorf("n=%d: median CI %v, want NaN (too few samples for 95 %%)", n, ci)
			}
			continue
		}
		if !(ci[0] <= d.P50 && d.P50 <= ci[1]) {
			t.Errorf("n=%d: median CI %v does not contain the median %v", n, ci, d.P50)
		}
		if ci[0] < d.Min || ci[1] > d.Max {
			t.Errorf("n=%d: median CI %v outside [min, max]", n, ci)
		}
		if n == 6 && (ci[0] != d.Min || ci[1] != d.Max) {
			// Binomial(6, ½): [1,6) holds 62/64 = 0.969: the CI is [min, max].
			t.Errorf("n=6: median CI %v, want [min %v, max %v]", ci, d.Min, d.Max)
		}
		if !(d.MeanCI[0] <= d.Mean && d.Mean <= d.MeanCI[1]) {
			t.Errorf("n=%d: mean CI %v does not contain the mean %v", n, d.MeanCI, d.Mean)
		}
	}
	if d := NewDist([]float64{1}); !math.IsNaN(d.MeanCI[0]) {
		t.Errorf("n=1: mean CI %v, want NaN", d.MeanCI)
	}
}

func TestDistJSON(t *testing.T) {
	keys := []string{"n", "mean", "std", "min", "p50", "p90", "p95", "p99", "max", "median_ci", "mean_ci"}
	decode := func(d Dist) map[string]any {
		t.Helper()
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("unmarshal %s: %v", b, err)
		}
		if len(m) != len(keys) {
			t.Errorf("keys %v, want %v", m, keys)
		}
		return m
	}
	for _, d := range []Dist{{}, NewDist(nil)} {
		m := decode(d)
		for _, k := range keys[1:] {
			if v, ok := m[k]; !ok || v != nil {
				t.Errorf("empty dist: %q = %v, want null", k, v)
			}
		}
		if m["n"] != 0.0 {
			t.Errorf("empty dist: n = %v, want 0", m["n"])
		}
	}
	m := decode(NewDist([]float64{1, 2, 3}))
	if m["median_ci"] != nil || m["mean_ci"] == nil || m["p50"] != 2.0 {
		t.Errorf("n=3: %v (want median_ci null, mean_ci set, p50 2)", m)
	}
	m = decode(NewDist([]float64{5}))
	if m["std"] != nil || m["mean_ci"] != nil || m["max"] != 5.0 {
		t.Errorf("n=1: %v (want std and mean_ci null)", m)
	}
}

func TestDistJSONRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for _, n := range []int{0, 1, 2, 3, 6, 8, 50, 1000} {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = r.NormFloat64()*30 + 200
		}
		d := NewDist(xs)
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Dist
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		a := []float64{d.Mean, d.Std, d.Min, d.P50, d.P90, d.P95, d.P99, d.Max, d.MedianCI[0], d.MedianCI[1], d.MeanCI[0], d.MeanCI[1]}
		c := []float64{back.Mean, back.Std, back.Min, back.P50, back.P90, back.P95, back.P99, back.Max, back.MedianCI[0], back.MedianCI[1], back.MeanCI[0], back.MeanCI[1]}
		if back.N != d.N || !slices.EqualFunc(a, c, same) {
			t.Errorf("n=%d: round trip\n got %+v\nwant %+v", n, back, d)
		}
		b2, _ := json.Marshal(back)
		if string(b2) != string(b) {
			t.Errorf("n=%d: re-marshal differs:\n%s\n%s", n, b, b2)
		}
	}
	var d Dist
	if err := json.Unmarshal([]byte(`{"n":"x"}`), &d); err == nil {
		t.Error("bad JSON accepted")
	}
}
