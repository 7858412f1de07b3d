package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

func fptr(v float64) *float64 { return &v }

// withResources adds a machine and resource figures to a result: a CPU-only
// machine (no GPU, no power source) for the first group's stage and model.
func withResources(t *testing.T) *runner.Result {
	r := result(t)
	model, cores, threads, mem := "Test EPYC", 2, 4, uint64(24<<30)
	r.Hardware = &telemetry.Hardware{CPU: telemetry.CPU{Model: &model, PhysicalCores: &cores, LogicalCores: &threads}, Arch: "amd64",
		MemoryTotalBytes: &mem, GPUs: []telemetry.GPU{}, NPUs: []string{}, OS: telemetry.OS{Name: "linux"}, Power: telemetry.Power{Source: telemetry.PowerUnknown}}
	g := r.Groups[0]
	stat := func(mean, peak float64) telemetry.Stat {
		return telemetry.Stat{N: 4, Mean: fptr(mean), Peak: fptr(peak)}
	}
	w := runner.Window{Model: g.Model, Scenario: g.Scenario, OutputTokens: 100,
		Summary: telemetry.Summary{From: time.Unix(0, 0), To: time.Unix(1, 0), N: 4, CPUPct: stat(12.5, 40), ProcCPUPct: stat(0, 0),
			ProcRSSBytes: stat(1<<30, 2<<30), MemUsedBytes: stat(3<<30, 4<<30), GPUs: []telemetry.GPUSummary{}}}
	m := w
	m.Scenario = ""
	r.Resources = &runner.Resources{IntervalMS: 250, Samples: 4, Cost: telemetry.Cost{PctOfOneCore: 0.05}, Notes: []string{"RAPL: permission denied"},
		Stages: []runner.Window{w}, Models: []runner.Window{m}, Run: m}
	return r
}

// TestTableShowsMachineAndResources checks the machine line and the
// resources block: means and peaks where known, a real zero as 0.0, and
// "–" (never 0) for GPU and energy figures the platform did not give.
func TestTableShowsMachineAndResources(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, withResources(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Machine  Test EPYC, 2 cores / 4 threads, amd64; 24.0 GiB RAM; GPU: none found; linux",
		"Resources (sampled every 250 ms, 4 samples", "12.5/40.0", "0.0/0.0", "2.00 GiB", "note: RAPL: permission denied"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	i := strings.Index(out, "Resources (")
	row := strings.SplitN(out[i:], "\n", 4)[2]
	if f := strings.Fields(row); len(f) < 5 || strings.Join(f[len(f)-5:], " ") != "– – – – –" {
		t.Errorf("unknown GPU/energy figures should be –: %q", row)
	}
	var plain bytes.Buffer
	if err := Table(&plain, result(t)); err != nil || strings.Contains(plain.String(), "Resources (") || strings.Contains(plain.String(), "Machine") {
		t.Errorf("a run without telemetry shows a resources block or machine line (%v)", err)
	}
}

// TestCSVResourceColumns checks the resource columns: figures of the
// group's own window, empty (not 0) for what is unknown.
func TestCSVResourceColumns(t *testing.T) {
	var b bytes.Buffer
	if err := CSV(&b, withResources(t)); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	first := rows[1]
	if first[col["res_cpu_pct_mean"]] != "12.5" || first[col["res_engine_cpu_pct_peak"]] != "0" || first[col["res_engine_rss_peak_bytes"]] != "2147483648" {
		t.Errorf("resource cells %v", first[col["res_cpu_pct_mean"]:])
	}
	for _, k := range []string{"res_gpu_util_pct_mean", "res_gpu_power_w_mean", "res_energy_j", "res_joules_per_token"} {
		if first[col[k]] != "" {
			t.Errorf("%s = %q, want empty", k, first[col[k]])
		}
	}
	if len(rows) > 2 && rows[2][col["res_cpu_pct_mean"]] != "" {
		t.Errorf("second group has resource cells though it has no window: %q", rows[2][col["res_cpu_pct_mean"]])
	}
}
