package telemetry

import "time"

// Series is the time series a Sampler recorded over one window.
type Series struct {
	// Start is when sampling began; every Sample.T is an offset from it.
	// In memory it carries a monotonic reading, so Summarize windows taken
	// from the same process's clock line up exactly.
	Start time.Time `json:"start"`
	// IntervalMS is the configured sampling interval.
	IntervalMS int64 `json:"interval_ms"`
	// Samples in time order: the first taken when sampling started (T =
	// 0; it has no figure that is a rate over an interval), one per tick
	// (ticks missed while the machine was too busy are skipped, not
	// queued), and the last taken when sampling stopped (its T rounded up
	// to the next millisecond; see Sampler).
	Samples []Sample `json:"samples"`
	// RAPLDomains names the RAPL package domains summed into
	// Sample.PackagePowerW ("package-0", "package-1"…); empty when RAPL
	// was not readable.
	RAPLDomains []string `json:"rapl_domains,omitempty"`
	// Notes explains every figure that is missing or degraded (a tool that
	// died, a file that was not readable), once each.
	Notes []string `json:"notes"`
	// Cost is what the sampler itself consumed.
	Cost Cost `json:"cost"`
}

// Sample is one tick. Pointer fields are nil (omitted from JSON) when the
// figure is unknown on this platform or at this moment; a real zero is a
// non-nil pointer to 0.
type Sample struct {
	// T is the tick's time in milliseconds since Series.Start.
	T int64 `json:"t"`
	// CPUPct is system-wide CPU busy time over the last interval, 0–100,
	// from the difference of two CPU time readings.
	CPUPct *float64 `json:"cpu_pct,omitempty"`
	// CPUPerCore is the same per logical core (0–100 each), rounded to
	// 0.1 and kept as float32 to bound memory on many-core machines.
	CPUPerCore []float32 `json:"cpu_per_core,omitempty"`
	// MemUsedBytes is total − available memory: page cache and reclaimable
	// buffers do not count as used.
	MemUsedBytes *uint64 `json:"mem_used_bytes,omitempty"`
	// MemTotalBytes is the physical memory size.
	MemTotalBytes *uint64 `json:"mem_total_bytes,omitempty"`
	// ProcCPUPct is the serving process's CPU time over the last interval
	// as a percentage of one core (400 = four cores busy).
	ProcCPUPct *float64 `json:"proc_cpu_pct,omitempty"`
	// ProcRSSBytes is the serving process's resident memory.
	ProcRSSBytes *uint64 `json:"proc_rss_bytes,omitempty"`
	// GPUs holds the latest reading of each GPU, ordered by vendor then
	// index; nil when no GPU tool is available.
	GPUs []GPUSample `json:"gpus,omitempty"`
	// PackagePowerW is the CPU package power from RAPL, summed over the
	// Series.RAPLDomains, averaged over the last interval.
	PackagePowerW *float64 `json:"package_power_w,omitempty"`
}

// GPUSample is one GPU's reading. Pointer fields are nil when the tool
// reported the figure as unavailable ("[N/A]", "[Not Supported]", "N/A", or
// empty).
type GPUSample struct {
	// Index is the tool's GPU index (nvidia-smi index, rocm-smi cardN).
	Index int `json:"index"`
	// Vendor is "nvidia" or "amd".
	Vendor string `json:"vendor"`
	// UtilPct is the GPU utilisation, 0–100.
	UtilPct *float64 `json:"util_pct,omitempty"`
	// MemUsedMiB is the GPU memory in use, MiB.
	MemUsedMiB *float64 `json:"mem_used_mib,omitempty"`
	// MemTotalMiB is the GPU memory size, MiB.
	MemTotalMiB *float64 `json:"mem_total_mib,omitempty"`
	// PowerW is the board power draw, watts.
	PowerW *float64 `json:"power_w,omitempty"`
	// TempC is the GPU temperature, degrees Celsius (rocm-smi: edge sensor,
	// else junction).
	TempC *float64 `json:"temp_c,omitempty"`
}

// Cost is the sampler's own consumption over the window.
type Cost struct {
	// TickCPUMsTotal is the wall time spent taking samples, summed over
	// all of them: an upper bound on the CPU time it used.
	TickCPUMsTotal float64 `json:"tick_cpu_ms_total"`
	// Ticks is the number of samples taken: the ticks and the samples at
	// start and stop.
	Ticks int `json:"ticks"`
	// PerTickUS is TickCPUMsTotal per tick, in microseconds.
	PerTickUS float64 `json:"per_tick_us"`
	// ReaderMs is the wall time spent parsing GPU tool output in the
	// sampler's reader goroutines.
	ReaderMs float64 `json:"reader_ms"`
	// ChildCPUMs is the user + system CPU time of the GPU tool children
	// (the nvidia-smi loop, every rocm-smi poll), from their rusage.
	ChildCPUMs float64 `json:"child_cpu_ms"`
	// WindowMs is the sampled window's length.
	WindowMs float64 `json:"window_ms"`
	// PctOfOneCore is (TickCPUMsTotal + ReaderMs + ChildCPUMs) / WindowMs
	// as a percentage of one core.
	PctOfOneCore float64 `json:"pct_of_one_core"`
}

// At returns the absolute time of sample i.
func (s *Series) At(i int) time.Time {
	return s.Start.Add(time.Duration(s.Samples[i].T) * time.Millisecond)
}
