package board

import (
	"slices"
	"testing"
	"time"

	"flperf/internal/load"
	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

func sp(s string) *string   { return &s }
func fp(v float64) *float64 { return &v }
func up(v uint64) *uint64   { return &v }

func TestMachineOf(t *testing.T) {
	for _, c := range []struct {
		h     telemetry.Hardware
		class string
		label string
	}{
		{telemetry.Hardware{CPU: telemetry.CPU{Model: sp("Intel Core i9")}, Arch: "amd64", MemoryTotalBytes: up(34359738368),
			GPUs: []telemetry.GPU{{Vendor: "nvidia", Name: sp("RTX 4090")}}, OS: telemetry.OS{Name: "linux", Platform: sp("ubuntu"), Version: sp("24.04")}},
			ClassNVIDIA, "Intel Core i9 · RTX 4090 · 32 GiB · ubuntu 24.04 (linux/amd64)"},
		{telemetry.Hardware{SoC: sp("Apple M3 Pro"), Arch: "arm64", OS: telemetry.OS{Name: "darwin"}}, ClassApple, "Apple M3 Pro · (darwin/arm64)"},
		{telemetry.Hardware{SoC: sp("qcom,x1e80100"), CPU: telemetry.CPU{Model: sp("Oryon")}, Arch: "arm64", NPUs: []string{"qaic"}, OS: telemetry.OS{Name: "linux"}},
			ClassQualcom, "Oryon · qaic · (linux/arm64)"},
		{telemetry.Hardware{CPU: telemetry.CPU{Model: sp("Core Ultra 7")}, NPUs: []string{"intel_vpu"}, Arch: "amd64", OS: telemetry.OS{Name: "windows"}},
			ClassNPU, "Core Ultra 7 · intel_vpu · (windows/amd64)"},
		{telemetry.Hardware{CPU: telemetry.CPU{Model: sp("EPYC")}, Arch: "amd64", OS: telemetry.OS{Name: "linux"}}, ClassCPU, "EPYC · (linux/amd64)"},
	} {
		m := MachineOf(&c.h)
		if m.Class != c.class || m.Label != c.label || len(m.Key) != 12 {
			t.Errorf("%+v: class %q label %q key %q; want %q, %q", c.h, m.Class, m.Label, m.Key, c.class, c.label)
		}
	}
	if m := MachineOf(nil); m.Class != ClassUnknown || m.Key != "unknown" {
		t.Errorf("nil: %+v", m)
	}
	d1 := MachineOf(&telemetry.Hardware{Arch: "amd64", GPUs: []telemetry.GPU{{Vendor: "nvidia", Driver: sp("550.1")}}})
	d2 := MachineOf(&telemetry.Hardware{Arch: "amd64", GPUs: []telemetry.GPU{{Vendor: "nvidia", Driver: sp("560.2")}}})
	if d1.Key != d2.Key || d1.Driver != "550.1" || d2.Driver != "560.2" {
		t.Errorf("a driver upgrade made another machine: %+v %+v", d1, d2)
	}
	a, b := MachineOf(&telemetry.Hardware{Arch: "amd64"}), MachineOf(&telemetry.Hardware{Arch: "arm64"})
	if a.Key == b.Key {
		t.Error("two machines share a key")
	}
}

func TestLoadOf(t *testing.T) {
	for _, c := range []struct {
		cfg   runner.Config
		stage string
		want  string
	}{
		{runner.Config{Mode: load.Sequential, Concurrency: 1, Stream: true}, "", "concurrency c=1 max_tokens=scenario"},
		{runner.Config{Mode: load.Concurrency, Concurrency: 4, MaxTokens: 128, Stream: true, FixedOutput: true}, "", "concurrency c=4 max_tokens=128 fixed-output"},
		{runner.Config{Mode: load.Concurrency, Concurrency: 1, Levels: []float64{1, 2}, Stream: true}, "c=2", "concurrency c=2 max_tokens=scenario"},
		{runner.Config{Mode: load.Rate, Rate: 2.5, Arrival: load.Poisson, MaxInFlight: 8}, "", "rate poisson max_in_flight=8 rate=2.5/s max_tokens=scenario no-stream"},
	} {
		if got := LoadOf(&c.cfg, c.stage); got != c.want {
			t.Errorf("LoadOf(%+v, %q) = %q, want %q", c.cfg, c.stage, got, c.want)
		}
	}
}

func TestBuildPicksTheNewestCellAndTheBestModel(t *testing.T) {
	cfg := Config{Suite: "s", Scenarios: "a", Load: "concurrency c=1 max_tokens=scenario"}
	gpu := MachineOf(&telemetry.Hardware{Arch: "amd64", GPUs: []telemetry.GPU{{Vendor: "nvidia"}}})
	cpu := MachineOf(&telemetry.Hardware{Arch: "amd64"})
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	row := func(id, model string, m Machine, day int, out, errRate float64) Row {
		return Row{RunID: id, Model: model, Started: t0.AddDate(0, 0, day), Config: cfg, Machine: m, ErrorRate: errRate,
			Figures: Figures{OutputTPS: fp(out), TTFTP50: fp(1000 / out)}}
	}
	rows := []Row{
		row("r1", "big", gpu, 0, 90, 0),
		row("r2", "big", gpu, 1, 50, 0), // newer: the cell shows it
		row("r3", "small", gpu, 1, 70, 0),
		row("r4", "small", cpu, 2, 20, 0),
		row("r5", "big", cpu, 2, 40, 0.2), // too many failures to be best
		{RunID: "x", Model: "other", Config: Config{Suite: "s", Scenarios: "a", Load: "concurrency c=4 max_tokens=scenario"}, Machine: cpu},
	}
	m := Build(cfg, rows, "")
	if !slices.Equal(m.Models, []string{"big", "small"}) || len(m.Machines) != 2 || m.Machines[0].Key != gpu.Key {
		t.Fatalf("models %v machines %v", m.Models, m.Machines)
	}
	if len(m.Classes) != 2 || m.Classes[0].Class != ClassNVIDIA || m.Classes[1].Class != ClassCPU {
		t.Errorf("classes %+v", m.Classes)
	}
	want := []struct {
		run  string
		runs int
		best bool
	}{{"r2", 2, false}, {"r5", 1, false}, {"r3", 1, true}, {"r4", 1, true}}
	if len(m.Cells) != len(want) {
		t.Fatalf("%d cells", len(m.Cells))
	}
	for i, w := range want {
		if c := m.Cells[i]; c.Run != w.run || c.Runs != w.runs || c.Best != w.best {
			t.Errorf("cell %d: %s runs %d best %v; want %+v", i, c.Run, c.Runs, c.Best, w)
		}
	}
	// By TTFT (lower is better) the best of the GPU is still small (1000/70 < 1000/50).
	if m := Build(cfg, rows, "ttft_p50_ms"); !m.Cells[2].Best || m.Cells[0].Best {
		t.Errorf("ranked by TTFT: %+v", m.Cells)
	}
}
