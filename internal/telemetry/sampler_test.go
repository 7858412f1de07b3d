package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/process"
)

// noGPU are Options that read no GPU and no RAPL, whatever the machine.
func noGPU(t *testing.T, o Options) Options {
	o.GPU = GPUOff
	o.raplRoot = t.TempDir()
	return o
}

func startT(t *testing.T, o Options) *Sampler {
	t.Helper()
	s, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// TestSamplerRealMachine samples this machine and checks that the figures
// are plausible and that the process CPU figures add up to the CPU time the
// process really used, a busy loop of the test's own included.
func TestSamplerRealMachine(t *testing.T) {
	logical, err := cpu.Counts(true)
	if err != nil {
		t.Skipf("logical CPU count unknown: %v", err)
	}
	self, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		t.Skipf("own process not readable: %v", err)
	}
	cpuTime := func() float64 {
		tm, err := self.Times()
		if err != nil {
			t.Fatalf("own CPU times: %v", err)
		}
		return tm.User + tm.System
	}
	s := startT(t, noGPU(t, Options{Interval: 100 * time.Millisecond, PID: int32(os.Getpid())}))
	cpu0 := cpuTime()
	idleEnd := time.Now().Add(1200 * time.Millisecond)
	time.Sleep(time.Until(idleEnd))

	// Burn CPU on every core until the process has used burnCPU more CPU
	// time, and for 1.2 s at least: a fixed amount of work, not of wall
	// time, so that on a machine shared with other busy processes the burn
	// takes longer instead of showing less.
	const burnCPU = 0.5 // s
	var stop atomic.Bool
	done := make(chan struct{})
	burnStart := time.Now()
	cpuBurnStart := cpuTime()
	for range runtime.NumCPU() {
		go func() {
			defer func() { done <- struct{}{} }()
			x := 0
			for !stop.Load() {
				for i := range 10000 {
					x += i
				}
			}
			_ = x
		}()
	}
	for time.Since(burnStart) < 1200*time.Millisecond || cpuTime()-cpuBurnStart < burnCPU {
		time.Sleep(20 * time.Millisecond)
	}
	stop.Store(true)
	for range runtime.NumCPU() {
		<-done
	}
	burnEnd := time.Now()
	// An idle tail, so that the last interval (which may be too short to
	// carry rates) holds no burning.
	time.Sleep(300 * time.Millisecond)
	ser := s.Stop()
	used := cpuTime() - cpu0

	if len(ser.Samples) < 5 {
		t.Fatalf("only %d samples in 2.4 s at 100 ms; notes %v", len(ser.Samples), ser.Notes)
	}
	var idle, busy []float64
	first, last := ser.Samples[0], ser.Samples[len(ser.Samples)-1]
	if first.T != 0 || first.CPUPct != nil || first.ProcCPUPct != nil || first.MemUsedBytes == nil || first.ProcRSSBytes == nil {
		t.Fatalf("first sample (at start): %+v", first)
	}
	if stopAt := ser.At(len(ser.Samples) - 1); stopAt.Before(burnEnd) {
		t.Fatalf("last sample at %v, before the sampler was stopped (%v after the burn ended)", stopAt, burnEnd)
	}
	for i, smp := range ser.Samples {
		if i == 0 || (i == len(ser.Samples)-1 && last.CPUPct == nil) {
			continue // no rates at start, nor at a stop soon after a tick
		}
		// On a busy machine a late tick can come a few ms before the next
		// one; per-core counters (in 10 ms ticks) may not move in between,
		// and such a sample rightly has no CPU rate.
		if smp.CPUPct == nil && ser.At(i).Sub(ser.At(i-1)) < 20*time.Millisecond {
			continue
		}
		if smp.CPUPct == nil || *smp.CPUPct < 0 || *smp.CPUPct > 100 {
			t.Fatalf("sample %d: cpu %v", i, smp.CPUPct)
		}
		if len(smp.CPUPerCore) != logical {
			t.Fatalf("sample %d: %d per-core values, want %d", i, len(smp.CPUPerCore), logical)
		}
		for _, c := range smp.CPUPerCore {
			if c < 0 || c > 100 {
				t.Fatalf("sample %d: core at %v%%", i, c)
			}
		}
		if smp.MemUsedBytes == nil || smp.MemTotalBytes == nil || *smp.MemUsedBytes == 0 || *smp.MemUsedBytes >= *smp.MemTotalBytes {
			t.Fatalf("sample %d: mem %v of %v", i, smp.MemUsedBytes, smp.MemTotalBytes)
		}
		if smp.ProcCPUPct == nil || *smp.ProcCPUPct < 0 || smp.ProcRSSBytes == nil || *smp.ProcRSSBytes == 0 {
			t.Fatalf("sample %d: process cpu %v rss %v", i, smp.ProcCPUPct, smp.ProcRSSBytes)
		}
		if smp.GPUs != nil || smp.PackagePowerW != nil {
			t.Fatalf("sample %d: GPU or power figures with GPU off and no RAPL: %+v", i, smp)
		}
		// Skip the samples whose interval straddles a phase change.
		at := ser.At(i)
		switch {
		case at.After(ser.Start.Add(150*time.Millisecond)) && at.Before(idleEnd):
			idle = append(idle, *smp.ProcCPUPct)
		case at.After(burnStart.Add(150*time.Millisecond)) && !at.After(burnEnd):
			busy = append(busy, *smp.ProcCPUPct)
		}
	}
	if len(idle) < 2 || len(busy) < 2 {
		t.Fatalf("idle samples %d, busy samples %d", len(idle), len(busy))
	}
	mi, mb := mean(idle), mean(busy)
	t.Logf("process CPU: idle mean %.1f%% (%d samples), burning mean %.1f%% (%d samples)", mi, len(idle), mb, len(busy))

	// Each ProcCPUPct is the process's CPU time over its interval, so the
	// figures times their intervals add up to the CPU time the process used
	// while sampled: what it read at the first and the last sample (ticks of
	// 10 ms on Linux, so 20 ms either way), give or take each interval's
	// rounding to whole milliseconds in Sample.T (1 ms × the figure).
	var sum, rounding float64
	for i := 1; i < len(ser.Samples); i++ {
		if p := ser.Samples[i].ProcCPUPct; p != nil {
			sum += *p / 100 * ser.At(i).Sub(ser.At(i-1)).Seconds()
			rounding += *p / 100 * 1e-3
		}
	}
	t.Logf("process CPU time: %.3f s by the samples, %.3f s used (of which the burn %.1f s at least)", sum, used, burnCPU)
	if tol := 0.02 + rounding + 0.02*used; math.Abs(sum-used) > tol {
		t.Errorf("process CPU figures add up to %.3f s of CPU time, the process used %.3f s (tolerance %.3f s)", sum, used, tol)
	}
	// The idle phase is the sampler's own work: a small part of the burn.
	if idleCPU := mi / 100 * idleEnd.Sub(ser.Start).Seconds(); idleCPU > burnCPU/4 {
		t.Errorf("idle phase at %.1f%% of one core: %.3f s of CPU time, the burn's was %.1f s", mi, idleCPU, burnCPU)
	}
	if ser.Cost.Ticks != len(ser.Samples) || ser.Cost.PerTickUS <= 0 || ser.Cost.PctOfOneCore <= 0 {
		t.Errorf("cost %+v", ser.Cost)
	}
	if ser.IntervalMS != 100 || len(ser.Notes) != 0 {
		t.Errorf("interval %d, notes %v", ser.IntervalMS, ser.Notes)
	}
}

// TestSamplerDuringStreaming checks that samples keep their spacing while a
// long streaming HTTP request is in flight in the same process. It judges
// the spacing of ticks against the clock, so like the other timing-precision
// tests it is skipped under -short (CI's race-detector pass, where a 2 s
// scheduling stall of the whole process was seen on a loaded machine).
func TestSamplerDuringStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing precision: skipped under -short")
	}
	const chunks, every = 30, 50 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range chunks {
			fmt.Fprintf(w, "data: {\"n\":%d}\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(every):
			}
		}
	}))
	t.Cleanup(srv.Close)

	const interval = 200 * time.Millisecond
	s := startT(t, noGPU(t, Options{Interval: interval, PID: int32(os.Getpid())}))
	time.Sleep(interval / 2)
	reqStart := time.Now()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	got := 0
	for {
		n, err := resp.Body.Read(buf)
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	resp.Body.Close()
	reqEnd := time.Now()
	time.Sleep(interval)
	ser := s.Stop()
	if got < chunks*len("data: {\"n\":0}\n\n") {
		t.Fatalf("stream delivered %d bytes", got)
	}

	var in []time.Time
	for i := range ser.Samples {
		if at := ser.At(i); !at.Before(reqStart) && !at.After(reqEnd) {
			in = append(in, at)
		}
	}
	dur := reqEnd.Sub(reqStart)
	minCount := int(dur/interval) / 2
	if len(in) < max(minCount, 3) {
		t.Fatalf("%d samples during a %v request at %v (want ≥ %d)", len(in), dur, interval, max(minCount, 3))
	}
	var gaps []time.Duration
	for i := 1; i < len(in); i++ {
		gaps = append(gaps, in[i].Sub(in[i-1]))
	}
	slices.Sort(gaps)
	median := gaps[len(gaps)/2]
	t.Logf("request %v: %d samples, gaps %v", dur, len(in), gaps)
	if median < interval*6/10 || median > interval*14/10 {
		t.Errorf("median gap %v, want %v ± 40%%", median, interval)
	}
	if gaps[len(gaps)-1] > 3*interval {
		t.Errorf("largest gap %v > 3 × %v", gaps[len(gaps)-1], interval)
	}
}

func TestStartOptions(t *testing.T) {
	if _, err := Start(context.Background(), Options{Interval: time.Millisecond}); err == nil {
		t.Error("1 ms interval accepted")
	}
	if _, err := Start(context.Background(), Options{PID: -1}); err == nil {
		t.Error("negative PID accepted")
	}
	s := startT(t, noGPU(t, Options{}))
	if s.interval != DefaultInterval {
		t.Errorf("default interval %v", s.interval)
	}
}

func TestStopAfterContextEndsAndTwice(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, noGPU(t, Options{Interval: 20 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	cancel()
	<-s.done // the loop ends with the context
	a := s.Stop()
	b := s.Stop()
	if a != b || len(a.Samples) == 0 || a.Samples == nil || a.Notes == nil {
		t.Errorf("series %p %p, %d samples, notes %v", a, b, len(a.Samples), a.Notes)
	}
	// Samples are in time order.
	for i := 1; i < len(a.Samples); i++ {
		if a.Samples[i].T < a.Samples[i-1].T {
			t.Fatalf("sample %d at %d ms before sample %d at %d ms", i, a.Samples[i].T, i-1, a.Samples[i-1].T)
		}
	}
}

func TestSamplerProcessGone(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run a child: %v", err)
	}
	s := startT(t, noGPU(t, Options{Interval: 20 * time.Millisecond, PID: int32(cmd.Process.Pid)}))
	time.Sleep(100 * time.Millisecond)
	ser := s.Stop()
	if len(ser.Notes) == 0 {
		t.Errorf("no note about the missing process")
	}
	for _, smp := range ser.Samples {
		if smp.ProcCPUPct != nil || smp.ProcRSSBytes != nil {
			t.Fatalf("process figures for a process that is gone: %+v", smp)
		}
	}
}

func TestCPUPercent(t *testing.T) {
	prev := []cpu.TimesStat{
		{User: 10, System: 5, Idle: 80, Iowait: 5},
		{User: 1, Idle: 99},
	}
	cur := []cpu.TimesStat{
		{User: 13, System: 6, Idle: 84, Iowait: 7, Guest: 1}, // 4 busy of 10; guest is inside user
		{User: 1, Idle: 109}, // 0 busy of 10: a real 0
	}
	total, per := cpuPercent(prev, cur)
	checkF(t, "total", total, fp(20))
	if !slices.Equal(per, []float32{40, 0}) {
		t.Errorf("per core %v", per)
	}
	if p, pc := cpuPercent(nil, cur); p != nil || pc != nil {
		t.Error("no previous reading gave figures")
	}
	if p, pc := cpuPercent(prev[:1], cur); p != nil || pc != nil {
		t.Error("core count change gave figures")
	}
	if p, _ := cpuPercent(cur, cur); p != nil {
		t.Error("no elapsed time gave figures")
	}
}

func TestPIDForPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	pid, err := PIDForPort(context.Background(), port)
	switch {
	case errors.Is(err, ErrNoListener):
		// Some sandboxes hide even this process's sockets: the only
		// reason to skip.
		ln.Close()
		t.Skipf("this process's listening socket is not visible here: %v", err)
	case err != nil:
		ln.Close()
		t.Fatalf("listening port %d: %v", port, err)
	}
	if pid != int32(os.Getpid()) {
		t.Errorf("pid %d, want %d", pid, os.Getpid())
	}
	ln.Close()
	if _, err := PIDForPort(context.Background(), port); !errors.Is(err, ErrNoListener) {
		t.Errorf("closed port: %v", err)
	}
	if _, err := PIDForPort(context.Background(), 0); err == nil {
		t.Error("port 0 accepted")
	}
}

func TestLineWriter(t *testing.T) {
	var got []string
	w := &lineWriter{fn: func(l string) { got = append(got, l) }}
	long := make([]byte, maxLine+10)
	for i := range long {
		long[i] = 'x'
	}
	for _, p := range []string{"0, 1", ", 2\r\n1, 3\n", "", string(long), "\nlast", " line\n", "pending"} {
		w.Write([]byte(p))
	}
	want := []string{"0, 1, 2", "1, 3", "last line"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// fakePowercap builds a powercap tree with one package domain whose energy
// counter (through the raplCtr seam) gains one microjoule per nanosecond
// since base: a source of exactly 1000 W.
func fakePowercap(t *testing.T, base time.Time) (root string, ctr counterFunc) {
	root = t.TempDir()
	writeFile(t, filepath.Join(root, "intel-rapl:0", "name"), "package-0\n")
	writeFile(t, filepath.Join(root, "intel-rapl:0", "energy_uj"), "0\n")
	return root, func(_ string, now time.Time) (uint64, error) { return uint64(now.Sub(base)), nil }
}

// TestEnergyWholeWindowsAtKnownPower samples a 1000 W source and summarises
// three stages back to back, the first starting before the first tick and
// the last ending after the last tick, just before Stop (as a run's first
// and last stages do): the energy of each is exactly 1000 W × its length,
// and so is its energy per token. Without the samples at start and stop the
// first and last windows were integrated only from the first tick and to
// the last one.
func TestEnergyWholeWindowsAtKnownPower(t *testing.T) {
	const watts = 1000
	root, ctr := fakePowercap(t, time.Now())
	const interval = 40 * time.Millisecond
	s := startT(t, Options{Interval: interval, GPU: GPUOff, raplRoot: root, raplCtr: ctr})
	bounds := []time.Time{time.Now()}
	for _, d := range []time.Duration{3 * interval, 3 * interval, interval / 2} {
		time.Sleep(d)
		bounds = append(bounds, time.Now())
	}
	ser := s.Stop()
	if len(ser.Samples) < 4 || ser.Samples[0].T != 0 {
		t.Fatalf("%d samples, first at %d ms; notes %v", len(ser.Samples), ser.Samples[0].T, ser.Notes)
	}
	tokens := []int{7, 11, 13}
	for i := range tokens {
		from, to := bounds[i], bounds[i+1]
		sum := Summarize(ser, from, to)
		secs := to.Sub(from).Seconds()
		checkF(t, fmt.Sprintf("stage %d energy", i), sum.EnergyJ, fp(watts*secs))
		checkF(t, fmt.Sprintf("stage %d span", i), sum.EnergySpanS, fp(secs))
		checkF(t, fmt.Sprintf("stage %d J/token", i), sum.JoulesPerToken(tokens[i]), fp(watts*secs/float64(tokens[i])))
		if !slices.Equal(sum.EnergySources, []string{"rapl-package-0"}) {
			t.Errorf("stage %d sources %v", i, sum.EnergySources)
		}
	}
	// The whole sampled window, from Start to the last sample.
	whole := Summarize(ser, ser.Start, ser.At(len(ser.Samples)-1))
	checkF(t, "whole", whole.EnergyJ, fp(watts*ser.At(len(ser.Samples)-1).Sub(ser.Start).Seconds()))
}
