package stats

import (
	"reflect"
	"testing"
)

// TestHistogram: equal-width bins from the minimum to the maximum, the
// maximum in the last bin, one bin for equal samples, none for none.
func TestHistogram(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		n    int
		want []Bin
	}{
		{nil, 4, []Bin{}},
		{[]float64{3, 3, 3}, 4, []Bin{{3, 3, 3}}},
		{[]float64{0, 1, 2, 3, 4}, 2, []Bin{{0, 2, 2}, {2, 4, 3}}},
		{[]float64{10, 11, 19, 20}, 5, []Bin{{10, 12, 2}, {12, 14, 0}, {14, 16, 0}, {16, 18, 0}, {18, 20, 2}}},
	} {
		if got := Histogram(c.xs, c.n); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Histogram(%v, %d) = %v, want %v", c.xs, c.n, got, c.want)
		}
	}
}
