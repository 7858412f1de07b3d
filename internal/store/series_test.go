package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"flperf/internal/runner"
	"flperf/internal/telemetry"
)

// TestHardwareResourcesSeries checks that a run's hardware, resource
// summaries and sampled series are stored, read back, exported and imported
// unchanged, and that a run without them reads as null, not as zeros.
func TestHardwareResourcesSeries(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	recs := makeRecords(5, 2)
	res := testResult("hw")
	model, cores := "Test CPU", 8
	res.Hardware = &telemetry.Hardware{CPU: telemetry.CPU{Model: &model, LogicalCores: &cores}, Arch: "amd64", GPUs: []telemetry.GPU{}, NPUs: []string{}}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter("hw", WriterOptions{})
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zero, cpu := 0.0, 37.5
	start := time.Unix(1_800_000_000, 0).UTC()
	res.Series = &telemetry.Series{Start: start, IntervalMS: 250, Notes: []string{},
		Samples: []telemetry.Sample{{T: 250, CPUPct: &cpu, ProcCPUPct: &zero}, {T: 500, CPUPct: &cpu}}}
	res.Resources = &runner.Resources{IntervalMS: 250, Samples: 2, Notes: []string{}, Stages: []runner.Window{{Model: "m", Scenario: "s", OutputTokens: 9}}, Models: []runner.Window{}}
	finish(t, db, res, recs)

	got, err := db.Run(ctx, "hw")
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, got.Hardware) != jsonOf(t, res.Hardware) || jsonOf(t, got.Resources) != jsonOf(t, res.Resources) {
		t.Errorf("hardware/resources changed:\n%s\n%s", jsonOf(t, got.Hardware), jsonOf(t, got.Resources))
	}
	s, err := db.Series(ctx, "hw")
	if err != nil || s == nil || len(s.Samples) != 2 || *s.Samples[0].ProcCPUPct != 0 || s.Samples[1].ProcCPUPct != nil || !s.Start.Equal(start) {
		t.Fatalf("series %+v, %v", s, err)
	}

	a, err := db.Export(ctx, "hw")
	if err != nil || a.Series == nil || a.Hardware == nil {
		t.Fatalf("export: %v, series %v hardware %v", err, a.Series != nil, a.Hardware != nil)
	}
	other := openAt(t, filepath.Join(t.TempDir(), "other.db"))
	if err := other.Import(ctx, a); err != nil {
		t.Fatal(err)
	}
	b, err := other.Export(ctx, "hw")
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, a) != jsonOf(t, b) {
		t.Errorf("export → import → export changed the archive")
	}

	writeRun(t, db, "plain", makeRecords(3, 1))
	got, err = db.Run(ctx, "plain")
	if err != nil || got.Hardware != nil || got.Resources != nil {
		t.Errorf("a run without telemetry reads hardware %v resources %v (%v)", got.Hardware, got.Resources, err)
	}
	if s, err := db.Series(ctx, "plain"); s != nil || err != nil {
		t.Errorf("series of an unsampled run: %v %v", s, err)
	}
	if _, err := db.Series(ctx, "nope"); err == nil {
		t.Error("series of an unknown run: no error")
	}
}
