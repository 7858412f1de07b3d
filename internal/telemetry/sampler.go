package telemetry

import (
	"context"
	"fmt"
	"io"
	"math"
	"os/exec"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

// DefaultInterval is the sampling interval when Options.Interval is zero.
const DefaultInterval = 250 * time.Millisecond

// MinInterval is the shortest interval Start accepts.
const MinInterval = 10 * time.Millisecond

// GPUMode chooses whether the sampler reads GPUs.
type GPUMode int

// GPU modes.
const (
	// GPUAuto reads NVIDIA GPUs through nvidia-smi and AMD GPUs through
	// rocm-smi when those tools are on PATH (the default).
	GPUAuto GPUMode = iota
	// GPUOff reads no GPU: every GPU figure is nil.
	GPUOff
)

// Options configures a Sampler. The zero value samples every 250 ms, with
// GPUs when their tools are present and no serving process.
type Options struct {
	// Interval between ticks; 0 means DefaultInterval.
	Interval time.Duration
	// PID is the serving process whose CPU and resident memory are
	// sampled; 0 means none (see PIDForPort).
	PID int32
	// GPU chooses whether GPUs are read.
	GPU GPUMode
	// Raw, when set, receives the raw output of the GPU tools as the
	// sampler reads it: every nvidia-smi line (newline-terminated) and
	// every rocm-smi JSON document. Writes are serialised.
	Raw io.Writer

	// Test seams; zero values mean the real thing.
	run      runFunc
	lookPath lookPathFunc
	raplRoot string        // "" means defaultRAPLRoot
	raplCtr  counterFunc   // nil means readCounter
	rocmPoll time.Duration // 0 means max(Interval, rocmMinPoll)
}

// Sampler samples resources in the background from Start until Stop. Its
// goroutines never touch the caller's requests: it costs the measured
// process one tick of work per interval and nothing else.
//
// It takes a sample when it starts, one per tick, and one when it stops,
// so that every window between Start and Stop lies between two samples and
// its energy is integrated over the whole window (Summary).
type Sampler struct {
	interval time.Duration
	start    time.Time
	cancel   context.CancelFunc
	quit     chan struct{} // closed by Stop: take the last sample and end
	done     chan struct{}
	notes    *noteLog
	gpus     []gpuCollector
	rapl     *raplReader

	stopOnce sync.Once
	series   *Series

	// Owned by the loop goroutine until done is closed.
	samples  []Sample
	prevAt   time.Time
	prevCPU  []cpu.TimesStat
	proc     *process.Process
	pid      int32
	prevProc float64 // seconds of CPU of the process at prevAt; <0 when unknown
	tickTime time.Duration
	ticks    int
	gpuBuf   []GPUSample
}

// Start begins sampling until Stop is called or ctx ends (after which Stop
// still returns what was sampled). It takes a first reading of the
// counters, starts the GPU tools, takes the first Sample (T = 0: memory and
// resident memory, and whatever the GPU tools already reported; no figure
// that is a rate over an interval, since none has passed) and returns; the
// next Sample comes one interval later. Only an invalid Options is an
// error: sources that are unavailable are noted in the Series and their
// figures are nil.
func Start(ctx context.Context, opts Options) (*Sampler, error) {
	interval := opts.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	if interval < MinInterval {
		return nil, fmt.Errorf("telemetry: interval %v is shorter than %v", opts.Interval, MinInterval)
	}
	if opts.PID < 0 {
		return nil, fmt.Errorf("telemetry: negative PID %d", opts.PID)
	}
	run, lookPath, raplRoot := opts.run, opts.lookPath, opts.raplRoot
	if run == nil {
		run = execRun
	}
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	if raplRoot == "" {
		raplRoot = defaultRAPLRoot
	}
	raw := opts.Raw
	if raw != nil {
		raw = &syncWriter{w: raw}
	}

	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{
		interval: interval,
		cancel:   cancel,
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		notes:    &noteLog{},
		prevProc: -1,
		pid:      opts.PID,
	}
	s.start = time.Now()
	s.prevAt = s.start
	if t, err := cpu.TimesWithContext(ctx, true); err == nil {
		s.prevCPU = t
	} else {
		s.notes.addf("CPU times not readable (%v); CPU figures come from the second tick on, if at all", err)
	}
	if opts.PID > 0 {
		if p, err := process.NewProcessWithContext(ctx, opts.PID); err == nil {
			s.proc = p
			if t, err := p.TimesWithContext(ctx); err == nil {
				s.prevProc = t.User + t.System
			}
		} else {
			s.notes.addf("process %d not found (%v); process figures are null", opts.PID, err)
		}
	}
	s.rapl = openRAPL(raplRoot, opts.raplCtr, s.start, s.notes)
	if opts.GPU == GPUAuto {
		if path, err := lookPath(nvidiaSMI); err == nil {
			if c, err := startNvidia(ctx, path, interval, raw, s.notes); err == nil {
				s.gpus = append(s.gpus, c)
			} else {
				s.notes.addf("nvidia-smi could not be started (%v); NVIDIA GPU figures are null", err)
			}
		}
		if path, err := lookPath(rocmSMI); err == nil {
			poll := opts.rocmPoll
			if poll == 0 {
				poll = max(interval, rocmMinPoll)
			}
			s.gpus = append(s.gpus, startROCm(ctx, path, interval, poll, run, raw, s.notes))
		}
	}
	s.first(ctx)
	go s.loop(ctx)
	return s, nil
}

// first takes the Sample at T = 0, when sampling starts.
func (s *Sampler) first(ctx context.Context) {
	now := time.Now()
	smp := Sample{T: 0}
	s.memory(ctx, &smp)
	if s.proc != nil {
		if m, err := s.proc.MemoryInfoWithContext(ctx); err == nil {
			rss := m.RSS
			smp.ProcRSSBytes = &rss
		}
	}
	s.gpuSnapshot(now, &smp)
	s.samples = append(s.samples, smp)
	s.ticks++
	s.tickTime += time.Since(now)
}

// loop ticks until Stop or the end of ctx, then takes the last Sample. A
// tick that overruns the interval makes the ticker drop ticks rather than
// queue them.
func (s *Sampler) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.tick(context.WithoutCancel(ctx), true)
			return
		case <-s.quit:
			s.tick(ctx, true)
			return
		case <-t.C:
			s.tick(ctx, false)
		}
	}
}

// tick takes one Sample. The last one (when sampling stops) has its T
// rounded up to the next millisecond, so that the series reaches every
// moment before Stop; when it comes less than half an interval after the
// previous tick its rates (CPU, process CPU, package power) are left out,
// since counters read so close together are too coarse to give one (the
// energy integral then holds the previous sample's power to the end; see
// Summary).
func (s *Sampler) tick(ctx context.Context, last bool) {
	now := time.Now()
	dt := now.Sub(s.prevAt)
	s.prevAt = now
	since := now.Sub(s.start)
	smp := Sample{T: since.Milliseconds()}
	rates := true
	if last {
		smp.T = int64((since + time.Millisecond - 1) / time.Millisecond)
		rates = dt >= s.interval/2
	}

	if cur, err := cpu.TimesWithContext(ctx, true); err == nil {
		if rates {
			smp.CPUPct, smp.CPUPerCore = cpuPercent(s.prevCPU, cur)
		}
		s.prevCPU = cur
	} else {
		s.notes.addf("CPU times not readable (%v)", err)
		s.prevCPU = nil
	}

	s.memory(ctx, &smp)

	if s.proc != nil {
		s.sampleProcess(ctx, &smp, dt)
		if !rates {
			smp.ProcCPUPct = nil
		}
	}

	s.gpuSnapshot(now, &smp)

	if p := s.rapl.read(now); rates {
		smp.PackagePowerW = p
	}

	s.samples = append(s.samples, smp)
	s.ticks++
	s.tickTime += time.Since(now)
}

// memory fills the system memory figures.
func (s *Sampler) memory(ctx context.Context, smp *Sample) {
	if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil && vm.Total > 0 {
		total := vm.Total
		used := vm.Total - min(vm.Available, vm.Total)
		smp.MemTotalBytes, smp.MemUsedBytes = &total, &used
	} else if err != nil {
		s.notes.addf("memory not readable (%v)", err)
	}
}

// gpuSnapshot fills the GPU readings the tools have reported by now.
func (s *Sampler) gpuSnapshot(now time.Time, smp *Sample) {
	s.gpuBuf = s.gpuBuf[:0]
	for _, g := range s.gpus {
		s.gpuBuf = g.snapshot(now, s.gpuBuf)
	}
	if len(s.gpuBuf) > 0 {
		smp.GPUs = append([]GPUSample(nil), s.gpuBuf...)
	}
}

// sampleProcess fills the process figures; a process that went away is
// noted once and no longer read.
func (s *Sampler) sampleProcess(ctx context.Context, smp *Sample, dt time.Duration) {
	t, err := s.proc.TimesWithContext(ctx)
	if err != nil {
		s.notes.addf("process %d no longer readable (%v); process figures are null from then on", s.pid, err)
		s.proc = nil
		return
	}
	cur := t.User + t.System
	if s.prevProc >= 0 && dt > 0 && cur >= s.prevProc {
		pct := (cur - s.prevProc) / dt.Seconds() * 100
		smp.ProcCPUPct = &pct
	}
	s.prevProc = cur
	if m, err := s.proc.MemoryInfoWithContext(ctx); err == nil {
		rss := m.RSS
		smp.ProcRSSBytes = &rss
	}
}

// cpuPercent computes system-wide and per-core busy percentages from two
// readings of per-core CPU times. Busy time is everything but idle and
// iowait (steal counts as busy, as in gopsutil and psutil); guest time is
// already inside user time on Linux and is not counted twice. It returns
// nils when there is no usable previous reading (first tick, CPU hotplug).
func cpuPercent(prev, cur []cpu.TimesStat) (*float64, []float32) {
	if len(prev) == 0 || len(prev) != len(cur) {
		return nil, nil
	}
	per := make([]float32, len(cur))
	var busySum, totSum float64
	for i := range cur {
		b0, t0 := busyTotal(prev[i])
		b1, t1 := busyTotal(cur[i])
		db, dt := b1-b0, t1-t0
		if dt <= 0 {
			return nil, nil
		}
		db = math.Min(math.Max(db, 0), dt)
		busySum += db
		totSum += dt
		per[i] = float32(math.Round(db/dt*1000) / 10)
	}
	pct := busySum / totSum * 100
	return &pct, per
}

func busyTotal(t cpu.TimesStat) (busy, total float64) {
	total = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	return total - t.Idle - t.Iowait, total
}

// Stop takes the last Sample, ends sampling, stops the GPU tools, and
// returns the Series. It may be called more than once; later calls return
// the same Series.
func (s *Sampler) Stop() *Series {
	s.stopOnce.Do(func() {
		close(s.quit)
		<-s.done
		end := time.Now()
		var child, reader time.Duration
		for _, g := range s.gpus {
			g.stop()
			c, r := g.cost()
			child += c
			reader += r
		}
		s.cancel()
		samples := s.samples
		if samples == nil {
			samples = []Sample{}
		}
		window := end.Sub(s.start)
		cost := Cost{
			TickCPUMsTotal: ms(s.tickTime),
			Ticks:          s.ticks,
			ReaderMs:       ms(reader),
			ChildCPUMs:     ms(child),
			WindowMs:       ms(window),
		}
		if s.ticks > 0 {
			cost.PerTickUS = float64(s.tickTime) / float64(time.Microsecond) / float64(s.ticks)
		}
		if window > 0 {
			cost.PctOfOneCore = (cost.TickCPUMsTotal + cost.ReaderMs + cost.ChildCPUMs) / cost.WindowMs * 100
		}
		s.series = &Series{
			Start:       s.start,
			IntervalMS:  s.interval.Milliseconds(),
			Samples:     samples,
			RAPLDomains: s.rapl.names(),
			Notes:       s.notes.list(),
			Cost:        cost,
		}
	})
	return s.series
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// syncWriter serialises writes from the collectors' goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write passes p on under the lock.
func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
