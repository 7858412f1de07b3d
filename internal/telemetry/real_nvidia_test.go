package telemetry

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestRealNvidiaSMI runs the fingerprint and a 3-second sampler
// (FLPERF_TEST_NVIDIA_SECONDS to change it) against the real nvidia-smi. It runs only with FLPERF_TEST_NVIDIA=1; with
// FLPERF_TEST_NVIDIA_OUT=DIR it also writes what nvidia-smi printed to
// DIR/nvidia-smi-fingerprint.csv and DIR/nvidia-smi-lms.csv, to be checked
// in as fixtures.
func TestRealNvidiaSMI(t *testing.T) {
	if os.Getenv("FLPERF_TEST_NVIDIA") != "1" {
		t.Skip("set FLPERF_TEST_NVIDIA=1 on a machine with an NVIDIA GPU")
	}
	path, err := exec.LookPath(nvidiaSMI)
	if err != nil {
		t.Fatalf("nvidia-smi not on PATH: %v", err)
	}
	ctx := context.Background()
	fpOut, _, err := execRun(ctx, path, NvidiaSMIFingerprintArgs...)
	if err != nil {
		t.Fatalf("nvidia-smi %v: %v", NvidiaSMIFingerprintArgs, err)
	}
	gpus, err := ParseNvidiaSMIFingerprint(fpOut)
	if err != nil || len(gpus) == 0 {
		t.Fatalf("fingerprint: %v, %d GPUs from %q", err, len(gpus), fpOut)
	}
	for _, g := range gpus {
		if g.Name == nil || g.Driver == nil || g.BusID == nil || g.MemoryTotalMiB == nil || *g.MemoryTotalMiB <= 0 {
			t.Errorf("fingerprint GPU %+v", g)
		}
	}
	h := Fingerprint(ctx)
	hj, _ := json.MarshalIndent(h, "", "  ")
	t.Logf("fingerprint: %s", hj)

	raw := &lockedBuffer{}
	s, err := Start(ctx, Options{Interval: DefaultInterval, PID: int32(os.Getpid()), Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	window := 3 * time.Second
	if secs, err := strconv.Atoi(os.Getenv("FLPERF_TEST_NVIDIA_SECONDS")); err == nil && secs > 0 {
		window = time.Duration(secs) * time.Second
	}
	time.Sleep(window)
	ser := s.Stop()
	if len(ser.Samples) == 0 {
		t.Fatalf("no samples; notes %q", ser.Notes)
	}
	sj, _ := json.Marshal(ser.Samples[len(ser.Samples)-1])
	t.Logf("last sample: %s", sj)
	cj, _ := json.Marshal(ser.Cost)
	t.Logf("cost: %s; notes: %q; RAPL domains %v", cj, ser.Notes, ser.RAPLDomains)
	sum := Summarize(ser, ser.Start, ser.Start.Add(time.Hour))
	mj, _ := json.MarshalIndent(sum, "", "  ")
	t.Logf("summary: %s", mj)

	if dir := os.Getenv("FLPERF_TEST_NVIDIA_OUT"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "nvidia-smi-fingerprint.csv"), fpOut, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "nvidia-smi-lms.csv"), []byte(raw.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	withGPU := 0
	for i, smp := range ser.Samples {
		if len(smp.GPUs) == 0 {
			continue
		}
		withGPU++
		if len(smp.GPUs) != len(gpus) {
			t.Errorf("sample %d: %d GPUs, fingerprint has %d", i, len(smp.GPUs), len(gpus))
		}
		for _, g := range smp.GPUs {
			if g.UtilPct == nil || *g.UtilPct < 0 || *g.UtilPct > 100 {
				t.Errorf("sample %d GPU %d: util %v", i, g.Index, g.UtilPct)
			}
			if g.MemUsedMiB == nil || g.MemTotalMiB == nil || *g.MemUsedMiB > *g.MemTotalMiB {
				t.Errorf("sample %d GPU %d: mem %v of %v", i, g.Index, g.MemUsedMiB, g.MemTotalMiB)
			}
			if g.PowerW == nil || *g.PowerW <= 0 {
				t.Errorf("sample %d GPU %d: power %v", i, g.Index, g.PowerW)
			}
			if g.TempC == nil || *g.TempC < 0 || *g.TempC > 120 {
				t.Errorf("sample %d GPU %d: temp %v", i, g.Index, g.TempC)
			}
		}
	}
	// The first line can take a moment; most samples must have it.
	if withGPU < len(ser.Samples)/2 {
		t.Errorf("%d of %d samples have GPU figures; notes %q", withGPU, len(ser.Samples), ser.Notes)
	}
	if sum.EnergyJ == nil || *sum.EnergyJ <= 0 {
		t.Errorf("energy %v from sources %v", sum.EnergyJ, sum.EnergySources)
	}
}
