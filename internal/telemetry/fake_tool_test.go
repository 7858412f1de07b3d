package telemetry

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fake nvidia-smi prints these, like the real one with nounits.
const (
	fakeFingerprint = "0, NVIDIA H100 80GB HBM3, 81559, 550.54.15, 00000000:18:00.0\n" +
		"1, NVIDIA H100 80GB HBM3, 81559, 550.54.15, 00000000:2A:00.0\n"
	fakeLine0 = "0, 37, 1234, 81559, 69.88, 31"
	fakeLine1 = "1, 0, 0, 81559, [N/A], 29"
)

// fakeTools writes executable shell scripts into a fresh directory, puts
// that directory alone on PATH, and returns it. {{SLEEP}} in a script is
// replaced by the absolute path of sleep (PATH no longer finds it).
func fakeTools(t *testing.T, scripts map[string]string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell-script fakes need a Unix shell")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	dir := t.TempDir()
	for name, body := range scripts {
		body = strings.ReplaceAll(body, "{{SLEEP}}", sleep)
		body = strings.ReplaceAll(body, "{{DIR}}", dir)
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	return dir
}

// fakeNvidiaSMI answers the fingerprint query, and loops on -lms printing
// two GPUs every 50 ms; it records its arguments in DIR/args-*.
// loops < 0 loops forever; otherwise it prints that many rounds and exits 3.
func fakeNvidiaSMI(loops int) string {
	return `
case "$1" in
--query-gpu=index,name,*)
	printf '%s\n' "$@" > {{DIR}}/args-fingerprint
	printf '` + fakeFingerprint + `'
	exit 0;;
esac
printf '%s\n' "$@" > {{DIR}}/args-loop
n=0
while [ ` + strconv.Itoa(loops) + ` -lt 0 ] || [ $n -lt ` + strconv.Itoa(loops) + ` ]; do
	printf '%s\n' '` + fakeLine0 + `' '` + fakeLine1 + `'
	n=$((n+1))
	{{SLEEP}} 0.05
done
echo "GPU is lost" >&2
exit 3
`
}

// lockedBuffer is a bytes.Buffer safe to read while the sampler writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lineSignal passes writes on to w and closes reached once n lines have
// passed (the sampler writes Raw one line at a time).
type lineSignal struct {
	w       *lockedBuffer
	n       int
	reached chan struct{}
}

func (l *lineSignal) Write(p []byte) (int, error) {
	if l.n > 0 {
		if l.n -= bytes.Count(p, []byte("\n")); l.n <= 0 {
			close(l.reached)
		}
	}
	return l.w.Write(p)
}

func TestFakeNvidiaSMI(t *testing.T) {
	dir := fakeTools(t, map[string]string{"nvidia-smi": fakeNvidiaSMI(-1)})

	// Fingerprint lists the GPUs the fake prints.
	h := Fingerprint(context.Background())
	var gpus []GPU
	for _, g := range h.GPUs {
		if g.Source == "nvidia-smi" {
			gpus = append(gpus, g)
		}
	}
	if len(gpus) != 2 || *gpus[1].Name != "NVIDIA H100 80GB HBM3" || *gpus[1].BusID != "00000000:2A:00.0" || *gpus[0].Driver != "550.54.15" {
		t.Fatalf("fingerprint GPUs %+v (notes %v)", gpus, h.Notes)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args-fingerprint"))
	if got := strings.Fields(string(args)); !slices.Equal(got, NvidiaSMIFingerprintArgs) {
		t.Errorf("fingerprint args %q", got)
	}

	// The sampler reads the loop, until the fake has printed 8 rounds: the
	// sample Stop takes then has the 7th whole round at least.
	raw := &lockedBuffer{}
	lines := &lineSignal{w: raw, n: 16, reached: make(chan struct{})}
	s := startT(t, Options{Interval: 100 * time.Millisecond, Raw: lines, raplRoot: t.TempDir()})
	select {
	case <-lines.reached:
	case <-time.After(20 * time.Second):
		t.Fatalf("the fake nvidia-smi printed %q", raw.String())
	}
	ser := s.Stop()
	args, _ = os.ReadFile(filepath.Join(dir, "args-loop"))
	if got := strings.Fields(string(args)); !slices.Equal(got, NvidiaSMISampleArgs(100)) {
		t.Errorf("loop args %q, want %q", got, NvidiaSMISampleArgs(100))
	}
	withGPU := 0
	for i, smp := range ser.Samples {
		if smp.GPUs == nil {
			continue
		}
		withGPU++
		if len(smp.GPUs) != 2 {
			t.Fatalf("sample %d: %d GPUs", i, len(smp.GPUs))
		}
		g0, g1 := smp.GPUs[0], smp.GPUs[1]
		if g0.Index != 0 || g1.Index != 1 || g0.Vendor != "nvidia" {
			t.Fatalf("sample %d: GPUs %+v", i, smp.GPUs)
		}
		checkF(t, "gpu0 util", g0.UtilPct, fp(37))
		checkF(t, "gpu0 mem used", g0.MemUsedMiB, fp(1234))
		checkF(t, "gpu0 mem total", g0.MemTotalMiB, fp(81559))
		checkF(t, "gpu0 power", g0.PowerW, fp(69.88))
		checkF(t, "gpu0 temp", g0.TempC, fp(31))
		checkF(t, "gpu1 util (real zero)", g1.UtilPct, fp(0))
		checkF(t, "gpu1 mem used (real zero)", g1.MemUsedMiB, fp(0))
		checkF(t, "gpu1 power ([N/A])", g1.PowerW, nil)
	}
	if last := ser.Samples[len(ser.Samples)-1]; len(last.GPUs) != 2 {
		t.Fatalf("the last sample has %d GPUs, want 2 (%d of %d samples have GPU figures; notes %v)", len(last.GPUs), withGPU, len(ser.Samples), ser.Notes)
	}
	if len(ser.Notes) != 0 {
		t.Errorf("notes %v", ser.Notes)
	}
	// Summarised from the first sample with GPU figures (the first round is
	// handed on when the second begins, which may be after a tick or two).
	first := slices.IndexFunc(ser.Samples, func(smp Sample) bool { return smp.GPUs != nil })
	sum := Summarize(ser, ser.At(first), ser.Start.Add(time.Hour))
	if len(sum.GPUs) != 2 || !slices.Equal(sum.EnergySources, []string{"nvidia-gpu0"}) {
		t.Fatalf("summary GPUs %+v, sources %v", sum.GPUs, sum.EnergySources)
	}
	checkF(t, "summary gpu1 util", sum.GPUs[1].UtilPct.Peak, fp(0))
	checkF(t, "summary gpu1 power", sum.GPUs[1].PowerW.Mean, nil)

	// Raw got the lines verbatim, and nothing more once Stop returned
	// (the child was killed).
	r1 := raw.String()
	if !strings.HasPrefix(r1, fakeLine0+"\n"+fakeLine1+"\n") {
		t.Errorf("raw starts %q", r1[:min(len(r1), 80)])
	}
	time.Sleep(200 * time.Millisecond)
	if r2 := raw.String(); r2 != r1 {
		t.Errorf("nvidia-smi still writing after Stop")
	}
}

func TestFakeNvidiaSMIDies(t *testing.T) {
	fakeTools(t, map[string]string{"nvidia-smi": fakeNvidiaSMI(3)})
	s := startT(t, Options{Interval: 50 * time.Millisecond, raplRoot: t.TempDir()})
	time.Sleep(900 * time.Millisecond)
	ser := s.Stop()
	if len(ser.Notes) != 1 || !strings.Contains(ser.Notes[0], "nvidia-smi stopped") || !strings.Contains(ser.Notes[0], "GPU is lost") {
		t.Errorf("notes %q", ser.Notes)
	}
	last := ser.Samples[len(ser.Samples)-1]
	if last.GPUs != nil {
		t.Errorf("GPU figures after nvidia-smi died: %+v", last.GPUs)
	}
	withGPU := 0
	for _, smp := range ser.Samples {
		if smp.GPUs != nil {
			withGPU++
		}
		for _, g := range smp.GPUs {
			if g.Index == 0 && (g.UtilPct == nil || *g.UtilPct != 37) {
				t.Fatalf("GPU 0 util %v: must be the printed value or absent", g.UtilPct)
			}
		}
	}
	if withGPU == 0 {
		t.Error("no sample saw the lines printed before nvidia-smi died")
	}
}

func TestNoGPUTool(t *testing.T) {
	fakeTools(t, nil) // PATH is an empty directory
	p := defaultProbe()
	p.sysRoot = t.TempDir()
	h := p.fingerprint(context.Background())
	if h.GPUs == nil || len(h.GPUs) != 0 || h.NPUs == nil || len(h.Notes) != 0 {
		t.Errorf("GPUs %+v, NPUs %v, notes %v", h.GPUs, h.NPUs, h.Notes)
	}
	s := startT(t, Options{Interval: 50 * time.Millisecond, raplRoot: t.TempDir()})
	time.Sleep(300 * time.Millisecond)
	ser := s.Stop()
	if len(ser.Samples) == 0 {
		t.Fatal("no samples")
	}
	for _, smp := range ser.Samples {
		if smp.GPUs != nil || smp.PackagePowerW != nil {
			t.Fatalf("GPU/power figures without tools: %+v", smp)
		}
	}
	sum := Summarize(ser, ser.Start, ser.Start.Add(time.Hour))
	if len(sum.GPUs) != 0 || sum.EnergyJ != nil || sum.PackagePowerW.Mean != nil || len(sum.EnergySources) != 0 {
		t.Errorf("summary %+v", sum)
	}
	if sum.CPUPct.Mean == nil || sum.MemUsedBytes.Peak == nil {
		t.Errorf("CPU/memory missing: %+v", sum)
	}
}

func TestFakeROCmSMI(t *testing.T) {
	sample := string(readFixture(t, "rocm-smi/sample-2gpu.json"))
	fp2 := string(readFixture(t, "rocm-smi/fingerprint-2gpu.json"))
	fakeTools(t, map[string]string{"rocm-smi": `
case "$1" in
--showproductname) printf '%s' '` + fp2 + `';;
*) printf '%s' '` + sample + `';;
esac
`})
	h := Fingerprint(context.Background())
	var amd []GPU
	for _, g := range h.GPUs {
		if g.Source == "rocm-smi" {
			amd = append(amd, g)
		}
	}
	if len(amd) != 2 || *amd[1].Name != "Aqua Vanjaram [Instinct MI300X]" {
		t.Fatalf("fingerprint %+v notes %v", amd, h.Notes)
	}
	raw := &lockedBuffer{}
	s := startT(t, Options{Interval: 50 * time.Millisecond, Raw: raw, raplRoot: t.TempDir(), rocmPoll: 100 * time.Millisecond})
	time.Sleep(600 * time.Millisecond)
	ser := s.Stop()
	last := ser.Samples[len(ser.Samples)-1]
	if len(last.GPUs) != 2 || last.GPUs[0].Vendor != "amd" {
		t.Fatalf("last sample GPUs %+v, notes %v", last.GPUs, ser.Notes)
	}
	checkF(t, "card0 util", last.GPUs[0].UtilPct, fp(97))
	checkF(t, "card1 util (real zero)", last.GPUs[1].UtilPct, fp(0))
	checkF(t, "card1 power", last.GPUs[1].PowerW, fp(44))
	if !strings.Contains(raw.String(), `"card1"`) {
		t.Errorf("raw rocm-smi output not passed on")
	}
	if ser.Cost.ChildCPUMs < 0 {
		t.Errorf("cost %+v", ser.Cost)
	}
}

func TestROCmPollerGivesUp(t *testing.T) {
	var calls int
	var mu sync.Mutex
	run := func(ctx context.Context, name string, args ...string) ([]byte, time.Duration, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		if !slices.Equal(args, ROCmSMISampleArgs) {
			t.Errorf("args %q", args)
		}
		return nil, time.Millisecond, errors.New("exit status 2")
	}
	look := func(name string) (string, error) {
		if name == rocmSMI {
			return "/opt/rocm/bin/rocm-smi", nil
		}
		return "", exec.ErrNotFound
	}
	s := startT(t, Options{Interval: 20 * time.Millisecond, run: run, lookPath: look, raplRoot: t.TempDir(), rocmPoll: 20 * time.Millisecond})
	time.Sleep(400 * time.Millisecond)
	ser := s.Stop()
	mu.Lock()
	defer mu.Unlock()
	if calls != rocmGiveUp {
		t.Errorf("%d polls, want %d", calls, rocmGiveUp)
	}
	if len(ser.Notes) != 2 || !strings.Contains(ser.Notes[1], "failed 3 times") {
		t.Errorf("notes %q", ser.Notes)
	}
	if ser.Cost.ChildCPUMs != 3 {
		t.Errorf("child CPU %v ms, want 3", ser.Cost.ChildCPUMs)
	}
	for _, smp := range ser.Samples {
		if smp.GPUs != nil {
			t.Fatalf("GPU figures from a failing tool: %+v", smp.GPUs)
		}
	}
}
