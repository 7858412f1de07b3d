package telemetry

import (
	"fmt"
	"sort"
	"time"
)

// Stat is the mean and peak of one figure over the samples of a window that
// have it. Mean and Peak are nil when none has it (N == 0).
type Stat struct {
	N    int      `json:"n"`    // samples with the figure
	Mean *float64 `json:"mean"` // arithmetic mean over those samples (they are evenly spaced)
	Peak *float64 `json:"peak"` // largest value
}

// GPUSummary summarises one GPU over a window.
type GPUSummary struct {
	Index      int    `json:"index"`
	Vendor     string `json:"vendor"`
	UtilPct    Stat   `json:"util_pct"`
	MemUsedMiB Stat   `json:"mem_used_mib"`
	PowerW     Stat   `json:"power_w"`
	TempC      Stat   `json:"temp_c"`
}

// Summary reduces a Series to one window (a stage, a scenario, a run).
//
// Means and peaks are over the samples whose time lies in [From, To].
//
// EnergyJ is the integral over the window of the total power P(t), the sum
// of the sources listed in EnergySources: each GPU's board power as its tool
// reports it ("nvidia-gpu0": nvidia-smi power.draw; "amd-gpu0": rocm-smi
// graphics package power) and the CPU package power from RAPL
// ("rapl-package-0"…; on Intel it covers cores, uncore and the integrated
// GPU, not DRAM). It is not wall-socket energy: memory, disks, fans, other
// devices and power-supply losses are not in it. P(t) is linear between
// consecutive samples (trapezoid rule); at the window's edges it is
// interpolated with the samples just outside the window, and only the part
// of the window between the first and last sample is integrated
// (EnergySpanS says how long that is). A Sampler takes a sample when it
// starts and when it stops, so every window between Start and Stop is
// integrated whole. A source counts only when every sample used (those in
// the window and the two bracketing it) has a value for it, so that a gap
// never reads as 0 W, with one exception at the series' two ends: the first
// sample (taken at Start, before any interval has passed) and the last
// (taken at Stop, maybe too soon after the previous tick for a rate) may
// lack a power figure, and then take their neighbour's (the power measured
// over the first interval is held back to the start; the last measured
// power is held to the end). For a RAPL source, whose figure is the mean
// power over the interval before it, holding the first interval's figure
// back to the start makes that interval's energy exact. EnergyJ is nil
// when no source qualifies or fewer than two samples bracket the window.
type Summary struct {
	From          time.Time    `json:"from"`
	To            time.Time    `json:"to"`
	N             int          `json:"n"` // samples in the window
	CPUPct        Stat         `json:"cpu_pct"`
	MemUsedBytes  Stat         `json:"mem_used_bytes"`
	ProcCPUPct    Stat         `json:"proc_cpu_pct"`
	ProcRSSBytes  Stat         `json:"proc_rss_bytes"`
	PackagePowerW Stat         `json:"package_power_w"`
	GPUs          []GPUSummary `json:"gpus"`
	EnergyJ       *float64     `json:"energy_j"`
	EnergySources []string     `json:"energy_sources"`
	EnergySpanS   *float64     `json:"energy_span_s"`
}

// JoulesPerToken returns EnergyJ / outputTokens, or nil when the energy is
// unknown or outputTokens is not positive.
func (s Summary) JoulesPerToken(outputTokens int) *float64 {
	if s.EnergyJ == nil || outputTokens <= 0 {
		return nil
	}
	v := *s.EnergyJ / float64(outputTokens)
	return &v
}

// TokensPerJoule returns outputTokens / EnergyJ, or nil when the energy is
// unknown or not positive, or outputTokens is not positive.
func (s Summary) TokensPerJoule(outputTokens int) *float64 {
	if s.EnergyJ == nil || *s.EnergyJ <= 0 || outputTokens <= 0 {
		return nil
	}
	v := float64(outputTokens) / *s.EnergyJ
	return &v
}

// acc accumulates a Stat.
type acc struct {
	n         int
	sum, peak float64
}

func (a *acc) add(v float64) {
	if a.n == 0 || v > a.peak {
		a.peak = v
	}
	a.sum += v
	a.n++
}

func (a *acc) addF(p *float64) {
	if p != nil {
		a.add(*p)
	}
}

func (a *acc) addU(p *uint64) {
	if p != nil {
		a.add(float64(*p))
	}
}

func (a acc) stat() Stat {
	if a.n == 0 {
		return Stat{}
	}
	mean, peak := a.sum/float64(a.n), a.peak
	return Stat{N: a.n, Mean: &mean, Peak: &peak}
}

type gpuKey struct {
	vendor string
	index  int
}

func (k gpuKey) source() string { return fmt.Sprintf("%s-gpu%d", k.vendor, k.index) }

type gpuAcc struct{ util, mem, power, temp acc }

// Summarize summarises the samples of s that lie in [from, to]; see Summary
// for exactly what each figure includes.
func Summarize(s *Series, from, to time.Time) Summary {
	sum := Summary{From: from, To: to, GPUs: []GPUSummary{}, EnergySources: []string{}}
	if s == nil || to.Before(from) {
		return sum
	}
	var cpuA, memA, pcpuA, rssA, pkgA acc
	gpus := map[gpuKey]*gpuAcc{}
	for i := range s.Samples {
		at := s.At(i)
		if at.Before(from) || at.After(to) {
			continue
		}
		smp := &s.Samples[i]
		sum.N++
		cpuA.addF(smp.CPUPct)
		memA.addU(smp.MemUsedBytes)
		pcpuA.addF(smp.ProcCPUPct)
		rssA.addU(smp.ProcRSSBytes)
		pkgA.addF(smp.PackagePowerW)
		for _, g := range smp.GPUs {
			k := gpuKey{g.Vendor, g.Index}
			a := gpus[k]
			if a == nil {
				a = &gpuAcc{}
				gpus[k] = a
			}
			a.util.addF(g.UtilPct)
			a.mem.addF(g.MemUsedMiB)
			a.power.addF(g.PowerW)
			a.temp.addF(g.TempC)
		}
	}
	sum.CPUPct, sum.MemUsedBytes = cpuA.stat(), memA.stat()
	sum.ProcCPUPct, sum.ProcRSSBytes = pcpuA.stat(), rssA.stat()
	sum.PackagePowerW = pkgA.stat()
	keys := make([]gpuKey, 0, len(gpus))
	for k := range gpus {
		keys = append(keys, k)
	}
	sortGPUKeys(keys)
	for _, k := range keys {
		a := gpus[k]
		sum.GPUs = append(sum.GPUs, GPUSummary{
			Index: k.index, Vendor: k.vendor,
			UtilPct: a.util.stat(), MemUsedMiB: a.mem.stat(), PowerW: a.power.stat(), TempC: a.temp.stat(),
		})
	}
	energy(s, from, to, &sum)
	return sum
}

func sortGPUKeys(keys []gpuKey) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].vendor != keys[j].vendor {
			return keys[i].vendor < keys[j].vendor
		}
		return keys[i].index < keys[j].index
	})
}

// energy fills EnergyJ, EnergySources and EnergySpanS (see Summary).
func energy(s *Series, from, to time.Time, sum *Summary) {
	n := len(s.Samples)
	if n < 2 {
		return
	}
	a, b := from, to
	if first := s.At(0); a.Before(first) {
		a = first
	}
	if last := s.At(n - 1); b.After(last) {
		b = last
	}
	if !a.Before(b) {
		return
	}
	// i0: the last sample at or before a; i1: the first at or after b.
	i0 := sort.Search(n, func(i int) bool { return s.At(i).After(a) }) - 1
	i1 := sort.Search(n, func(i int) bool { return !s.At(i).Before(b) })

	// The first and last samples of the series stand in with their
	// neighbour's figure where they lack one (see Summary).
	stand := func(i int) *Sample {
		switch {
		case i == 0:
			return &s.Samples[1]
		case i == n-1:
			return &s.Samples[n-2]
		}
		return &s.Samples[i]
	}
	pkgAt := func(i int) *float64 {
		if p := s.Samples[i].PackagePowerW; p != nil {
			return p
		}
		return stand(i).PackagePowerW
	}
	gpuPower := func(smp *Sample, k gpuKey) *float64 {
		for _, g := range smp.GPUs {
			if g.Vendor == k.vendor && g.Index == k.index {
				return g.PowerW
			}
		}
		return nil
	}
	gpuAt := func(i int, k gpuKey) *float64 {
		if p := gpuPower(&s.Samples[i], k); p != nil {
			return p
		}
		return gpuPower(stand(i), k)
	}

	// A source qualifies when every used sample has it.
	pkg := true
	seen := map[gpuKey]bool{}
	for i := i0; i <= i1; i++ {
		if pkgAt(i) == nil {
			pkg = false
		}
		for _, smp := range []*Sample{&s.Samples[i], stand(i)} {
			for _, g := range smp.GPUs {
				seen[gpuKey{g.Vendor, g.Index}] = true
			}
		}
	}
	var gpuKeys []gpuKey
	for k := range seen {
		ok := true
		for i := i0; i <= i1 && ok; i++ {
			ok = gpuAt(i, k) != nil
		}
		if ok {
			gpuKeys = append(gpuKeys, k)
		}
	}
	sortGPUKeys(gpuKeys)
	if !pkg && len(gpuKeys) == 0 {
		return
	}
	for _, k := range gpuKeys {
		sum.EnergySources = append(sum.EnergySources, k.source())
	}
	if pkg {
		if len(s.RAPLDomains) == 0 {
			sum.EnergySources = append(sum.EnergySources, "rapl-package")
		}
		for _, d := range s.RAPLDomains {
			sum.EnergySources = append(sum.EnergySources, "rapl-"+d)
		}
	}
	power := func(i int) float64 {
		var p float64
		if pkg {
			p += *pkgAt(i)
		}
		for _, k := range gpuKeys {
			p += *gpuAt(i, k)
		}
		return p
	}

	var joules float64
	for k := i0; k < i1; k++ {
		t0, t1 := s.At(k), s.At(k+1)
		p0, p1 := power(k), power(k+1)
		seg := t1.Sub(t0).Seconds()
		if seg <= 0 {
			continue
		}
		lo, hi := t0, t1
		if lo.Before(a) {
			lo = a
		}
		if hi.After(b) {
			hi = b
		}
		if !lo.Before(hi) {
			continue
		}
		at := func(t time.Time) float64 { return p0 + (p1-p0)*t.Sub(t0).Seconds()/seg }
		joules += (at(lo) + at(hi)) / 2 * hi.Sub(lo).Seconds()
	}
	span := b.Sub(a).Seconds()
	sum.EnergyJ, sum.EnergySpanS = &joules, &span
}
