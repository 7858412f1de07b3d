package stats

// Bin is one bin of a histogram: the samples in [Lo, Hi) (the last bin
// includes Hi).
type Bin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	Count int     `json:"count"`
}

// Histogram bins xs (sorted, finite) into n equal-width bins from its
// minimum to its maximum: one bin when every sample is equal, none for no
// samples. The app's latency distributions and the HTML report draw it.
func Histogram(xs []float64, n int) []Bin {
	if len(xs) == 0 || n <= 0 {
		return []Bin{}
	}
	lo, hi := xs[0], xs[len(xs)-1]
	if hi == lo {
		n = 1
	}
	width := (hi - lo) / float64(n)
	bins := make([]Bin, n)
	for i := range bins {
		bins[i].Lo = lo + float64(i)*width
		bins[i].Hi = lo + float64(i+1)*width
	}
	bins[n-1].Hi = hi
	for _, x := range xs {
		i := n - 1
		if width > 0 {
			i = min(int((x-lo)/width), n-1)
		}
		bins[i].Count++
	}
	return bins
}
