package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"flperf/internal/engineseries"
)

// TestEngineSeriesStored checks that a run's engine series is stored when
// the run ends, read back with its nulls as nulls and its zeros as zeros,
// exported and imported byte for byte, deleted with its run, and refused on
// import when no sampler could have recorded it.
func TestEngineSeriesStored(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	recs := makeRecords(4, 2)
	res := testResult("es")
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter("es", WriterOptions{})
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zero, two, kv := 0.0, 2.0, 0.25
	res.EngineSeries = &engineseries.Series{Start: time.Unix(1_800_000_000, 123_000).UTC(), IntervalMS: 500, Engine: "vllm",
		Sources: map[string]string{"running": "vllm:num_requests_running"},
		Stages:  []engineseries.Stage{{Model: "m", Scenario: "s", FromMS: 1.5, ToMS: 900.25}},
		Samples: []engineseries.Sample{
			{TMS: 0.012, TookMS: 1.234, Running: &two, Waiting: &zero, KVCacheUsage: &kv},
			{TMS: 500.5, TookMS: 2, Failed: []string{"/metrics"}},
		},
		Notes: []string{"reading /metrics failed once"}}
	finish(t, db, res, recs)

	got, err := db.EngineSeries(ctx, "es")
	if err != nil || got == nil {
		t.Fatalf("engine series %v, %v", got, err)
	}
	if jsonOf(t, got) != jsonOf(t, res.EngineSeries) {
		t.Errorf("stored engine series changed:\n%s\n%s", jsonOf(t, got), jsonOf(t, res.EngineSeries))
	}
	if got.Samples[0].Waiting == nil || *got.Samples[0].Waiting != 0 || got.Samples[1].Running != nil || got.Samples[1].KVCacheUsage != nil {
		t.Errorf("zeros and nulls not kept apart: %+v", got.Samples)
	}

	a, err := db.Export(ctx, "es")
	if err != nil || a.EngineSeries == nil {
		t.Fatalf("export: %v, engine series %v", err, a != nil && a.EngineSeries != nil)
	}
	first, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var doc Archive
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatal(err)
	}
	other := openAt(t, filepath.Join(t.TempDir(), "other.db"))
	if err := other.Import(ctx, &doc); err != nil {
		t.Fatal(err)
	}
	b, err := other.Export(ctx, "es")
	if err != nil {
		t.Fatal(err)
	}
	second, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Errorf("export → import → export changed the bytes")
	}
	if !strings.Contains(string(first), `"engine_series":{`) {
		t.Errorf("the export has no engine_series")
	}

	writeRun(t, db, "plain", makeRecords(3, 1))
	if s, err := db.EngineSeries(ctx, "plain"); s != nil || err != nil {
		t.Errorf("engine series of an unsampled run: %v %v", s, err)
	}
	if _, err := db.EngineSeries(ctx, "nope"); err == nil {
		t.Error("engine series of an unknown run: no error")
	}
	if err := db.Delete(ctx, "es"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, "SELECT count(*) FROM run_engine_series").Scan(&n); err != nil || n != 0 {
		t.Errorf("after deleting the run, %d engine series rows remain (%v)", n, err)
	}

	neg := -1.0
	doc.ID = "bad"
	doc.EngineSeries.Samples[1].Waiting = &neg
	err = other.Import(ctx, &doc)
	if !errors.Is(err, ErrInvalidArchive) || !strings.Contains(err.Error(), "engine_series.samples[1].waiting") {
		t.Errorf("import of a negative queue: %v", err)
	}
}
