package telemetry

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// series builds a Series of samples at the given millisecond offsets, each
// filled by fill.
func series(offsets []int64, fill func(i int, s *Sample)) *Series {
	s := &Series{Start: t0, IntervalMS: 1000, RAPLDomains: []string{"package-0"}}
	for i, off := range offsets {
		smp := Sample{T: off}
		fill(i, &smp)
		s.Samples = append(s.Samples, smp)
	}
	return s
}

func at(ms int64) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestSummarizeConstantPower(t *testing.T) {
	s := series([]int64{0, 1000, 2000}, func(i int, s *Sample) {
		s.GPUs = []GPUSample{{Index: 0, Vendor: "nvidia", PowerW: fp(100)}}
	})
	sum := Summarize(s, at(0), at(2000))
	checkF(t, "energy", sum.EnergyJ, fp(200))
	checkF(t, "span", sum.EnergySpanS, fp(2))
	if !slices.Equal(sum.EnergySources, []string{"nvidia-gpu0"}) {
		t.Errorf("sources %v", sum.EnergySources)
	}
	checkF(t, "J/token", sum.JoulesPerToken(400), fp(0.5))
	checkF(t, "tokens/J", sum.TokensPerJoule(400), fp(2))
	checkF(t, "J/token with 0 tokens", sum.JoulesPerToken(0), nil)
	checkF(t, "tokens/J with 0 tokens", sum.TokensPerJoule(0), nil)
}

func TestSummarizeRampAndClipping(t *testing.T) {
	// GPU power 0, 50, 100 W and package power 10 W at 0, 1, 2 s: the
	// piecewise-linear total is 10 + 50t.
	s := series([]int64{0, 1000, 2000}, func(i int, s *Sample) {
		s.GPUs = []GPUSample{{Index: 0, Vendor: "nvidia", PowerW: fp(float64(50 * i))}}
		s.PackagePowerW = fp(10)
	})
	sum := Summarize(s, at(0), at(2000))
	checkF(t, "full ramp", sum.EnergyJ, fp(100+20))
	if !slices.Equal(sum.EnergySources, []string{"nvidia-gpu0", "rapl-package-0"}) {
		t.Errorf("sources %v", sum.EnergySources)
	}
	// [0.5 s, 1.5 s]: ∫ 10 + 50t dt = 10 + 25·(1.5² − 0.5²) = 60 J; the edges
	// interpolate with the samples outside the window.
	sum = Summarize(s, at(500), at(1500))
	checkF(t, "clipped", sum.EnergyJ, fp(60))
	checkF(t, "clipped span", sum.EnergySpanS, fp(1))
	if sum.N != 1 {
		t.Errorf("n = %d, want 1 (only the sample at 1 s)", sum.N)
	}
	// A window reaching past the samples integrates only what they cover.
	sum = Summarize(s, at(-5000), at(1000))
	checkF(t, "before first sample", sum.EnergyJ, fp(10+25))
	checkF(t, "span before first sample", sum.EnergySpanS, fp(1))
	// A window between two samples still gets its share.
	sum = Summarize(s, at(1200), at(1400))
	checkF(t, "between samples", sum.EnergyJ, fp(10*0.2+25*(1.4*1.4-1.2*1.2)))
	if sum.N != 0 || sum.CPUPct.Mean != nil {
		t.Errorf("between samples: n %d, cpu %+v", sum.N, sum.CPUPct)
	}
}

func TestSummarizeMeansAndPeaks(t *testing.T) {
	s := series([]int64{0, 250, 500, 750}, func(i int, s *Sample) {
		s.CPUPct = fp([]float64{10, 30, 20, 90}[i])
		s.MemUsedBytes = up([]uint64{100, 400, 200, 900}[i])
		s.ProcCPUPct = fp([]float64{0, 0, 150, 0}[i])
		if i != 2 {
			s.ProcRSSBytes = up(1000)
		}
		s.GPUs = []GPUSample{
			{Index: 1, Vendor: "nvidia", UtilPct: fp(0), MemUsedMiB: fp(10)},
			{Index: 0, Vendor: "nvidia", UtilPct: fp(float64(i * 10)), TempC: fp(40 + float64(i))},
		}
	})
	sum := Summarize(s, at(0), at(500))
	if sum.N != 3 {
		t.Fatalf("n = %d", sum.N)
	}
	checkF(t, "cpu mean", sum.CPUPct.Mean, fp(20))
	checkF(t, "cpu peak", sum.CPUPct.Peak, fp(30))
	checkF(t, "mem mean", sum.MemUsedBytes.Mean, fp(700.0/3))
	checkF(t, "mem peak", sum.MemUsedBytes.Peak, fp(400))
	checkF(t, "proc cpu mean", sum.ProcCPUPct.Mean, fp(50))
	checkF(t, "proc cpu peak", sum.ProcCPUPct.Peak, fp(150))
	if sum.ProcRSSBytes.N != 2 {
		t.Errorf("rss n = %d, want 2", sum.ProcRSSBytes.N)
	}
	if len(sum.GPUs) != 2 || sum.GPUs[0].Index != 0 || sum.GPUs[1].Index != 1 {
		t.Fatalf("gpus %+v", sum.GPUs)
	}
	checkF(t, "gpu0 util mean", sum.GPUs[0].UtilPct.Mean, fp(10))
	checkF(t, "gpu0 util peak", sum.GPUs[0].UtilPct.Peak, fp(20))
	checkF(t, "gpu0 temp peak", sum.GPUs[0].TempC.Peak, fp(42))
	// Real zeros stay zeros; unknowns stay nil.
	checkF(t, "gpu1 util mean (zeros)", sum.GPUs[1].UtilPct.Mean, fp(0))
	checkF(t, "gpu1 util peak (zeros)", sum.GPUs[1].UtilPct.Peak, fp(0))
	checkF(t, "gpu1 power", sum.GPUs[1].PowerW.Mean, nil)
	checkF(t, "package power", sum.PackagePowerW.Mean, nil)
	checkF(t, "energy without power", sum.EnergyJ, nil)
	if len(sum.EnergySources) != 0 {
		t.Errorf("sources %v", sum.EnergySources)
	}
	checkF(t, "J/token without energy", sum.JoulesPerToken(10), nil)
}

func TestSummarizeSourceWithGapIsLeftOut(t *testing.T) {
	// GPU 0 has power throughout; GPU 1 misses one sample; the package
	// power is known throughout.
	s := series([]int64{0, 1000, 2000}, func(i int, s *Sample) {
		var p1 *float64
		if i != 1 {
			p1 = fp(500)
		}
		s.GPUs = []GPUSample{
			{Index: 0, Vendor: "nvidia", PowerW: fp(100)},
			{Index: 1, Vendor: "nvidia", PowerW: p1},
		}
		s.PackagePowerW = fp(20)
	})
	sum := Summarize(s, at(0), at(2000))
	checkF(t, "energy", sum.EnergyJ, fp(240))
	if !slices.Equal(sum.EnergySources, []string{"nvidia-gpu0", "rapl-package-0"}) {
		t.Errorf("sources %v", sum.EnergySources)
	}
	// Over [1.5 s, 2 s] GPU 1 is still out: the bracketing sample at 1 s
	// lacks it.
	sum = Summarize(s, at(1500), at(2000))
	if !slices.Equal(sum.EnergySources, []string{"nvidia-gpu0", "rapl-package-0"}) {
		t.Errorf("late window sources %v", sum.EnergySources)
	}
}

func TestSummarizeDegenerate(t *testing.T) {
	one := series([]int64{0}, func(_ int, s *Sample) { s.PackagePowerW = fp(5) })
	if sum := Summarize(one, at(0), at(1000)); sum.EnergyJ != nil || sum.N != 1 {
		t.Errorf("one sample: %+v", sum)
	}
	two := series([]int64{0, 1000}, func(_ int, s *Sample) { s.PackagePowerW = fp(5) })
	if sum := Summarize(two, at(1000), at(0)); sum.N != 0 || sum.EnergyJ != nil {
		t.Errorf("reversed window: %+v", sum)
	}
	if sum := Summarize(two, at(3000), at(4000)); sum.EnergyJ != nil {
		t.Errorf("window after the samples: %+v", sum)
	}
	if sum := Summarize(nil, at(0), at(1)); sum.N != 0 || sum.GPUs == nil || sum.EnergySources == nil {
		t.Errorf("nil series: %+v", sum)
	}
}

// TestSummarizeEdgeSamplesHoldNeighbourPower checks the one exception to
// "a gap never reads as 0 W": the series' first sample (taken at Start)
// and last (taken at Stop) may lack power and then hold their neighbour's,
// so that a window from start to stop is integrated whole; a gap anywhere
// else still drops the source.
func TestSummarizeEdgeSamplesHoldNeighbourPower(t *testing.T) {
	s := series([]int64{0, 1000, 2000, 2300}, func(i int, s *Sample) {
		if i == 1 || i == 2 {
			s.PackagePowerW = fp(float64(40 * i)) // 40 W at 1 s, 80 W at 2 s
			s.GPUs = []GPUSample{{Index: 0, Vendor: "amd", PowerW: fp(100)}}
		}
	})
	// P: 140 W held from 0 to 1 s, linear to 180 W at 2 s, held to 2.3 s.
	sum := Summarize(s, at(0), at(2300))
	checkF(t, "energy", sum.EnergyJ, fp(140+160+180*0.3))
	checkF(t, "span", sum.EnergySpanS, fp(2.3))
	if !slices.Equal(sum.EnergySources, []string{"amd-gpu0", "rapl-package-0"}) {
		t.Errorf("sources %v", sum.EnergySources)
	}
	// Means and peaks count only real readings.
	if sum.PackagePowerW.N != 2 || sum.GPUs[0].PowerW.N != 2 {
		t.Errorf("power stats over %d and %d samples, want 2 each", sum.PackagePowerW.N, sum.GPUs[0].PowerW.N)
	}
	// A window inside the first interval uses the held figure.
	sum = Summarize(s, at(100), at(600))
	checkF(t, "first interval", sum.EnergyJ, fp(140*0.5))

	// A gap in the middle is not an edge: the source is left out.
	gap := series([]int64{0, 1000, 2000, 3000}, func(i int, s *Sample) {
		if i != 2 {
			s.PackagePowerW = fp(10)
		}
		s.GPUs = []GPUSample{{Index: 0, Vendor: "amd", PowerW: fp(100)}}
	})
	sum = Summarize(gap, at(0), at(3000))
	checkF(t, "energy without the gapped source", sum.EnergyJ, fp(300))
	if !slices.Equal(sum.EnergySources, []string{"amd-gpu0"}) {
		t.Errorf("sources with a gap %v", sum.EnergySources)
	}
	// Two samples, neither with power: nothing to hold.
	none := series([]int64{0, 1000}, func(int, *Sample) {})
	if sum := Summarize(none, at(0), at(1000)); sum.EnergyJ != nil {
		t.Errorf("energy from no readings: %v", *sum.EnergyJ)
	}
}
