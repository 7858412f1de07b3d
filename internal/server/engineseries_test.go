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
	"flperf/internal/engineseries"
	"flperf/internal/runner"
)

// storeEngineSeries stores a finished run (no records) of a vLLM with the
// given engine series (nil: none).
func storeEngineSeries(t *testing.T, a *testApp, id string, es *engineseries.Series) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	res := &runner.Result{ID: id, Tool: runner.CurrentTool(), Started: t0,
		Engine: engine.Info{Kind: engine.VLLM, Endpoint: "http://127.0.0.1:1/v1"},
		Config: runner.Config{Models: []string{"m"}, Scenarios: []string{"a", "b"}, Requests: 1},
		Suite:  runner.SuiteInfo{Name: "t", Source: "test", Scenarios: []string{"a", "b"}}}
	if err := a.db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	res.Status, res.Ended, res.EngineSeries = runner.Completed, t0.Add(time.Hour), es
	if err := a.db.FinishRun(ctx, res); err != nil {
		t.Fatal(err)
	}
}

// TestEngineSeriesRoute checks GET /runs/{id}/engine-series on a long
// series: 3001 samples 500 ms apart into 1,500 buckets of 1 s (two samples
// each, the last three), each figure the mean over the samples that have
// it (a failed read's null never averaged in as 0, its count kept),
// figures no sample has null and present in the answer, the stages with
// their means and peaks, the answer cached; a run without a series says
// so with no points; unknown and malformed ids are 404 and 400.
func TestEngineSeriesRoute(t *testing.T) {
	a := newApp(t, Options{})
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	es := &engineseries.Series{Start: t0, IntervalMS: 500, Engine: "vllm", Sources: map[string]string{"running": "vllm:num_requests_running"},
		Stages: []engineseries.Stage{{Model: "m", Scenario: "a", FromMS: 0, ToMS: 600_000}, {Model: "m", Scenario: "b", FromMS: 600_000, ToMS: 1_500_000}},
		Notes:  []string{"reading /metrics failed 300 times"}}
	for i := range 3001 {
		s := engineseries.Sample{TMS: float64(500 * i), TookMS: 1, Running: f64(float64(i % 3)), Waiting: f64(float64(i % 2)), KVCacheUsage: f64(0.5)}
		if i%10 == 1 { // a failed read: no figure at all
			s = engineseries.Sample{TMS: float64(500 * i), TookMS: 1, Failed: []string{"/metrics"}}
		}
		es.Samples = append(es.Samples, s)
	}
	storeEngineSeries(t, a, "queued-run", es)
	storeEngineSeries(t, a, "plain-run", nil)

	r := a.do(http.MethodGet, "/api/v1/runs/queued/engine-series", nil) // a unique prefix
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var env struct {
		Data engineSeriesView `json:"data"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatal(err)
	}
	v := env.Data
	if !v.Sampled || v.Engine != "vllm" || v.IntervalMS != 500 || v.Samples != 3001 || v.Start == nil || !v.Start.Equal(t0) ||
		v.Sources["running"] != "vllm:num_requests_running" || len(v.Notes) != 1 {
		t.Errorf("header: %+v", v)
	}
	if len(v.Points) != maxResourcePoints || v.BucketMS == nil || *v.BucketMS != 1000 {
		t.Fatalf("%d points, bucket %v: want %d and 1000 ms", len(v.Points), v.BucketMS, maxResourcePoints)
	}
	for i, p := range v.Points {
		idx := []int{2 * i, 2*i + 1}
		if i == maxResourcePoints-1 {
			idx = append(idx, 3000)
		}
		var tsum, run, wait float64
		ok, failed := 0, 0
		for _, j := range idx {
			tsum += float64(500 * j)
			if j%10 == 1 {
				failed++
				continue
			}
			ok++
			run += float64(j % 3)
			wait += float64(j % 2)
		}
		if p.N != len(idx) || p.TMS != tsum/float64(len(idx)) || p.Failed != failed {
			t.Fatalf("point %d: n %d at %v ms, %d failed; want %d at %v, %d", i, p.N, p.TMS, p.Failed, len(idx), tsum/float64(len(idx)), failed)
		}
		if ok == 0 {
			if p.Running != nil || p.Waiting != nil || p.KVCacheUsage != nil {
				t.Fatalf("point %d: every read failed, figures %+v", i, p)
			}
			continue
		}
		if p.Running == nil || math.Abs(*p.Running-run/float64(ok)) > 1e-12 || *p.Waiting != wait/float64(ok) || *p.KVCacheUsage != 0.5 {
			t.Fatalf("point %d: %+v, want running %v waiting %v over %d reads", i, p, run/float64(ok), wait/float64(ok), ok)
		}
		if p.SlotsBusy != nil || p.LoadedModels != nil || p.VRAMBytes != nil {
			t.Fatalf("point %d: a figure no sample has is not null: %+v", i, p)
		}
	}
	for _, key := range []string{`"slots_busy":null`, `"loaded_models":null`, `"vram_bytes":null`} {
		if !strings.Contains(string(r.body), key) {
			t.Errorf("the answer has no %s: nulls must be kept, not omitted", key)
		}
	}
	if len(v.Stages) != 2 || v.Stages[1].Scenario != "b" || v.Stages[1].FromMS != 600_000 {
		t.Fatalf("stages %+v", v.Stages)
	}
	if p := v.Stages[0].Figures["running"].Peak; p == nil || *p != 2 {
		t.Errorf("stage a peak running %v", p)
	}
	if m := v.Stages[0].Figures["kv_cache_usage"]; m.Mean == nil || *m.Mean != 0.5 || m.N != v.Stages[0].Samples-120 {
		t.Errorf("stage a KV cache %+v over %d samples (120 failed)", m, v.Stages[0].Samples)
	}
	if again := a.do(http.MethodGet, "/api/v1/runs/queued-run/engine-series", nil); string(again.body) != string(r.body) {
		t.Error("a second answer differs from the first")
	}
	if _, ok := a.s.cache.get("engine-series\x00queued-run"); !ok {
		t.Error("the finished run's engine series is not cached")
	}

	raw := a.do(http.MethodGet, "/api/v1/runs/plain-run/engine-series", nil)
	if !strings.Contains(string(raw.body), `"points":[]`) || !strings.Contains(string(raw.body), `"sampled":false`) || !strings.Contains(string(raw.body), `"engine":"vllm"`) {
		t.Errorf("a run without an engine series: %s", raw.body)
	}
	a.fail(http.MethodGet, "/api/v1/runs/no-such-run/engine-series", nil, http.StatusNotFound)
	a.fail(http.MethodGet, "/api/v1/runs/bad%21id/engine-series", nil, http.StatusBadRequest)
}
