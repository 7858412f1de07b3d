package server

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

func f64(x float64) *float64 { return &x }
func u64(x uint64) *uint64   { return &x }

// storeSampled stores a finished run (no records) with the given series
// (nil: not sampled) and resource windows.
func storeSampled(t *testing.T, a *testApp, id string, series *telemetry.Series, rs *runner.Resources) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	res := &runner.Result{ID: id, Tool: runner.CurrentTool(), Started: t0,
		Engine: engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true},
		Config: runner.Config{Models: []string{"m"}, Scenarios: []string{"a", "b"}, Requests: 1},
		Suite:  runner.SuiteInfo{Name: "t", Source: "test", Scenarios: []string{"a", "b"}}}
	if err := a.db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	res.Status, res.Ended, res.Series, res.Resources = runner.Completed, t0.Add(time.Hour), series, rs
	if err := a.db.FinishRun(ctx, res); err != nil {
		t.Fatal(err)
	}
}

// TestDownsample checks the time buckets exactly on a hand-built series:
// 10 samples 100 ms apart into 3 buckets of 300 ms ([0, 300), [300, 600),
// [600, 900], the last sample closing the last one), means over the
// samples that have a figure, null where none has, GPUs matched by vendor
// and index and sorted; and one point per sample when they fit.
func TestDownsample(t *testing.T) {
	var ss []telemetry.Sample
	for i := range 10 {
		s := telemetry.Sample{T: int64(100 * i), CPUPct: f64(float64(10 * i)), MemUsedBytes: u64(uint64(1000 * (i + 1)))}
		if i >= 3 && i < 6 {
			s.CPUPct = nil // the whole middle bucket lacks CPU
		}
		if i%2 == 0 {
			s.ProcCPUPct = f64(float64(i)) // only the even samples have it
		}
		s.GPUs = []telemetry.GPUSample{{Index: 1, Vendor: "nvidia", PowerW: f64(float64(100 + i))}, {Index: 0, Vendor: "nvidia", UtilPct: f64(50)}}
		if i == 9 {
			s.GPUs = append(s.GPUs, telemetry.GPUSample{Index: 0, Vendor: "amd", TempC: f64(60)})
		}
		ss = append(ss, s)
	}
	pts, width := downsample(ss, 3)
	if width == nil || *width != 300 || len(pts) != 3 {
		t.Fatalf("width %v, %d points, want 300 ms and 3", width, len(pts))
	}
	type want struct {
		t        float64
		n        int
		cpu      *float64
		mem      float64
		proc     *float64
		gpu1Pow  float64
		gpuCount int
	}
	wants := []want{
		{t: 100, n: 3, cpu: f64(10), mem: 2000, proc: f64(1), gpu1Pow: 101, gpuCount: 2},   // samples 0, 1, 2
		{t: 400, n: 3, cpu: nil, mem: 5000, proc: f64(4), gpu1Pow: 104, gpuCount: 2},       // 3, 4, 5
		{t: 750, n: 4, cpu: f64(75), mem: 8500, proc: f64(7), gpu1Pow: 107.5, gpuCount: 3}, // 6, 7, 8, 9
	}
	eq := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) < 1e-9) }
	for i, w := range wants {
		p := pts[i]
		if p.TMS != w.t || p.N != w.n || !eq(p.CPUPct, w.cpu) || !eq(p.MemUsedBytes, &w.mem) || !eq(p.ProcCPUPct, w.proc) {
			t.Errorf("point %d: t %v n %d cpu %v mem %v proc %v; want %+v", i, p.TMS, p.N, p.CPUPct, p.MemUsedBytes, p.ProcCPUPct, w)
		}
		if p.ProcRSSBytes != nil || p.PackagePowerW != nil {
			t.Errorf("point %d: figures no sample has are %v %v, want null", i, p.ProcRSSBytes, p.PackagePowerW)
		}
		if len(p.GPUs) != w.gpuCount {
			t.Fatalf("point %d: %d GPUs, want %d", i, len(p.GPUs), w.gpuCount)
		}
		g := p.GPUs[len(p.GPUs)-1] // amd sorts first, then nvidia 0, nvidia 1
		if g.Vendor != "nvidia" || g.Index != 1 || !eq(g.PowerW, &w.gpu1Pow) || g.UtilPct != nil {
			t.Errorf("point %d: GPU nvidia 1 %+v, want power %v and no utilisation", i, g, w.gpu1Pow)
		}
		if g0 := p.GPUs[len(p.GPUs)-2]; g0.Index != 0 || g0.Vendor != "nvidia" || !eq(g0.UtilPct, f64(50)) || g0.PowerW != nil {
			t.Errorf("point %d: GPU nvidia 0 %+v", i, g0)
		}
	}
	if g := pts[2].GPUs[0]; g.Vendor != "amd" || !eq(g.TempC, f64(60)) {
		t.Errorf("last point's first GPU %+v, want amd at 60 °C", g)
	}

	pts, width = downsample(ss, 10)
	if width != nil || len(pts) != 10 {
		t.Fatalf("10 samples into 10 points: width %v, %d points", width, len(pts))
	}
	for i, p := range pts {
		if p.TMS != float64(100*i) || p.N != 1 || !eq(p.MemUsedBytes, f64(float64(1000*(i+1)))) {
			t.Errorf("point %d = %+v, want sample %d as is", i, p, i)
		}
	}
	if pts, width := downsample(nil, 5); len(pts) != 0 || pts == nil || width != nil {
		t.Errorf("no samples: %v %v", pts, width)
	}
}

// TestResourcesRoute checks GET /runs/{id}/resources: a long series is cut
// to at most 1,500 points whose figures are the bucket means, a figure
// missing throughout stays null in every point (present as a JSON null),
// the stage windows are placed on the series' time axis, a run that was
// not sampled says so with no points, and unknown or malformed ids are
// 404 and 400.
func TestResourcesRoute(t *testing.T) {
	a := newApp(t, Options{})
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	series := &telemetry.Series{Start: t0, IntervalMS: 250, Notes: []string{"RAPL not readable"}, Cost: telemetry.Cost{PctOfOneCore: 0.05}}
	for i := range 3001 {
		series.Samples = append(series.Samples, telemetry.Sample{T: int64(250 * i), CPUPct: f64(float64(i % 2)),
			GPUs: []telemetry.GPUSample{{Index: 0, Vendor: "nvidia", PowerW: f64(float64(i))}}})
	}
	rs := &runner.Resources{IntervalMS: 250, Samples: 3001, Notes: []string{"RAPL not readable"}, Stages: []runner.Window{
		{Model: "m", Scenario: "a", Summary: telemetry.Summary{From: t0.Add(time.Second), To: t0.Add(300 * time.Second)}},
		{Model: "m", Scenario: "b", Summary: telemetry.Summary{From: t0.Add(300 * time.Second), To: t0.Add(750 * time.Second)}},
	}}
	storeSampled(t, a, "sampled-run", series, rs)
	storeSampled(t, a, "dark-run", nil, nil)

	r := a.do(http.MethodGet, "/api/v1/runs/sampled/resources", nil) // a unique prefix
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var env struct {
		Data resourcesView `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatal(err)
	}
	v := env.Data
	if !v.Sampled || v.IntervalMS != 250 || v.Samples != 3001 || v.Start == nil || !v.Start.Equal(t0) || v.Cost == nil || v.Cost.PctOfOneCore != 0.05 {
		t.Errorf("header: %+v", v)
	}
	if len(v.Notes) != 1 || v.Notes[0] != "RAPL not readable" {
		t.Errorf("notes %q", v.Notes)
	}
	// 3001 samples over 750 s into 1,500 buckets of 500 ms: two samples
	// each, the last bucket three (the closing sample joins it).
	if len(v.Points) != maxResourcePoints || v.BucketMS == nil || *v.BucketMS != 500 {
		t.Fatalf("%d points, bucket %v: want %d and 500 ms", len(v.Points), v.BucketMS, maxResourcePoints)
	}
	for i, p := range v.Points {
		wantN, wantT, wantCPU, wantW := 2, float64(500*i)+125, 0.5, float64(2*i)+0.5
		if i == maxResourcePoints-1 {
			wantN, wantT, wantCPU, wantW = 3, 750_000-250, 1.0/3, 2999
		}
		if p.N != wantN || p.TMS != wantT || p.CPUPct == nil || math.Abs(*p.CPUPct-wantCPU) > 1e-12 ||
			len(p.GPUs) != 1 || p.GPUs[0].PowerW == nil || *p.GPUs[0].PowerW != wantW {
			t.Fatalf("point %d: %+v (GPUs %+v), want n %d at %v ms, cpu %v, %v W", i, p, p.GPUs, wantN, wantT, wantCPU, wantW)
		}
		if p.MemUsedBytes != nil || p.PackagePowerW != nil || p.GPUs[0].UtilPct != nil {
			t.Fatalf("point %d: a figure no sample has is not null: %+v", i, p)
		}
	}
	for _, key := range []string{`"mem_used_bytes":null`, `"package_power_w":null`, `"proc_rss_bytes":null`, `"util_pct":null`} {
		if !strings.Contains(string(r.body), key) {
			t.Errorf("the answer has no %s: nulls must be kept, not omitted", key)
		}
	}
	if len(v.Windows) != 2 || v.Windows[0].Scenario != "a" || v.Windows[1].Model != "m" ||
		v.Windows[0].FromMS == nil || *v.Windows[0].FromMS != 1000 || *v.Windows[1].FromMS != 300_000 || *v.Windows[1].ToMS != 750_000 {
		t.Errorf("windows %+v", v.Windows)
	}
	// Cached: the same answer again, byte for byte.
	if again := a.do(http.MethodGet, "/api/v1/runs/sampled-run/resources", nil); string(again.body) != string(r.body) {
		t.Error("a second answer differs from the first")
	}
	if _, ok := a.s.cache.get("resources\x00sampled-run"); !ok {
		t.Error("the finished run's resources are not cached")
	}

	var dark resourcesView
	a.data(http.MethodGet, "/api/v1/runs/dark-run/resources", nil, http.StatusOK, &dark)
	if dark.Sampled || dark.Points == nil || len(dark.Points) != 0 || dark.Start != nil || dark.Cost != nil || dark.BucketMS != nil || len(dark.Windows) != 0 {
		t.Errorf("a run without samples: %+v", dark)
	}
	if raw := a.do(http.MethodGet, "/api/v1/runs/dark-run/resources", nil); !strings.Contains(string(raw.body), `"points":[]`) || !strings.Contains(string(raw.body), `"sampled":false`) {
		t.Errorf("a run without samples: %s", raw.body)
	}

	a.fail(http.MethodGet, "/api/v1/runs/no-such-run/resources", nil, http.StatusNotFound)
	a.fail(http.MethodGet, "/api/v1/runs/bad%21id/resources", nil, http.StatusBadRequest)
}
