package bench

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"flperf/internal/engine"
	"flperf/internal/load"
	"flperf/internal/record"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/store"
	"flperf/internal/telemetry"
)

// energyWin is one resource window of a stored test run: J/token (nil:
// no power measured) and its energy sources.
type energyWin struct {
	model, scenario string
	jpt             *float64
	sources         []string
}

func fp(x float64) *float64 { return &x }

// storeEnergyRun stores a completed run of 6 ok records per model ×
// scenario, with resource windows built from wins (a window with an empty
// scenario is a model's whole window); nil wins store no resources.
func storeEnergyRun(t *testing.T, db *store.DB, id string, models, scenarios []string, wins []energyWin) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	res := &runner.Result{
		ID: id, Tool: runner.CurrentTool(), Started: t0,
		Engine: engine.Info{Kind: engine.Sim, Endpoint: "http://127.0.0.1:1/v1", Simulated: true},
		Config: runner.Config{Models: models, Scenarios: scenarios, Mode: load.Sequential, Concurrency: 1, Requests: 6, Stream: true},
		Suite:  runner.SuiteInfo{Name: "t", Source: "test", Scenarios: scenarios},
	}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter(id, store.WriterOptions{})
	var agg stats.Aggregator
	seq := 0
	for _, m := range models {
		for _, sc := range scenarios {
			for i := range 6 {
				ttft := time.Duration(20+i) * time.Millisecond
				r := record.Record{Seq: int64(seq), Model: m, Scenario: sc, Stream: true, MaxTok: 10,
					Scheduled: t0, Sent: t0, Status: 200, Outcome: record.OK,
					FirstByte: ttft, FirstToken: ttft, FirstAnswer: ttft, LastToken: ttft + 9*time.Millisecond, End: ttft + 10*time.Millisecond,
					InputTokens: 5, InputSource: record.SourceUsage, OutputTokens: 10, OutputSource: record.SourceUsage, FinishReason: "length"}
				seq++
				agg.Add(&r)
				if err := w.Add(&r); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res.Status, res.Ended, res.Records = runner.Completed, t0.Add(time.Minute), seq
	res.Summary = agg.Summary(stats.Options{})
	if wins != nil {
		rs := &runner.Resources{IntervalMS: 250, Notes: []string{}, Stages: []runner.Window{}, Models: []runner.Window{}}
		for _, x := range wins {
			win := runner.Window{Model: x.model, Scenario: x.scenario, OutputTokens: 60, JoulesPerToken: x.jpt,
				Summary: telemetry.Summary{EnergySources: x.sources}}
			if x.jpt != nil {
				win.EnergyJ = fp(*x.jpt * 60)
			}
			if x.scenario == "" {
				rs.Models = append(rs.Models, win)
			} else {
				rs.Stages = append(rs.Stages, win)
			}
		}
		res.Resources = rs
	}
	if err := db.FinishRun(ctx, res); err != nil {
		t.Fatal(err)
	}
}

// TestCompareEnergy checks the energy rows of a comparison built from the
// runs' stored resource windows: exact J/token figures and changes, in
// stats.Compare's order (per model: its scenarios, then pooled), rows only
// where both sides measured energy, a note when the power sources differ,
// and nothing at all (no zeros) for runs without power readings.
func TestCompareEnergy(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	models, scs := []string{"m1", "m2"}, []string{"s1", "s2"}
	gpu := []string{"nvidia-gpu0"}
	storeEnergyRun(t, db, "base-run", models, scs, []energyWin{
		{"m1", "s1", fp(0.5), gpu}, {"m1", "s2", fp(0.25), gpu}, {"m2", "s1", fp(2), gpu}, {"m2", "s2", fp(1), gpu},
		{"m1", "", fp(0.375), gpu}, {"m2", "", fp(1.5), gpu},
	})
	storeEnergyRun(t, db, "cand-run", models, scs, []energyWin{
		{"m1", "s1", fp(0.4), gpu}, {"m1", "s2", fp(0.3), []string{"nvidia-gpu0", "rapl-package-0"}}, {"m2", "s1", fp(2.5), gpu}, {"m2", "s2", nil, nil},
		{"m1", "", fp(0.35), gpu}, {"m2", "", nil, nil},
	})
	storeEnergyRun(t, db, "bare-run", models, scs, nil)
	storeEnergyRun(t, db, "dark-run", models, scs, []energyWin{{"m1", "s1", nil, nil}, {"m1", "", nil, nil}})

	cmp, err := Compare(ctx, db, "base-run", "cand-run", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		model, scenario string
		pooled          bool
		base, cand      float64
		delta           float64
		extra           bool
	}{
		{"m1", "s1", false, 0.5, 0.4, -0.2, false},
		{"m1", "s2", false, 0.25, 0.3, 0.2, true},
		{"m1", "", true, 0.375, 0.35, 0.35/0.375 - 1, false},
		{"m2", "s1", false, 2, 2.5, 0.25, false},
	}
	if len(cmp.Energy) != len(want) {
		t.Fatalf("%d energy rows, want %d: %+v", len(cmp.Energy), len(want), cmp.Energy)
	}
	for i, w := range want {
		r := cmp.Energy[i]
		if r.Model != w.model || r.Scenario != w.scenario || r.Pooled != w.pooled || r.Base != w.base || r.Cand != w.cand || math.Abs(r.Delta-w.delta) > 1e-12 {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
		if !strings.HasPrefix(r.Note, stats.EnergyNote) || strings.Contains(r.Note, "different power sources") != w.extra {
			t.Errorf("row %d note %q (different sources noted: want %v)", i, r.Note, w.extra)
		}
		if w.extra && !strings.Contains(r.Note, "base: nvidia-gpu0; candidate: nvidia-gpu0 + rapl-package-0") {
			t.Errorf("row %d note %q does not name the sources", i, r.Note)
		}
	}

	// Two models of one run: paired by scenario, model "".
	cmp, err = Compare(ctx, db, "base-run@m1", "base-run@m2", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Energy) != 3 || cmp.Energy[0].Model != "" || cmp.Energy[0].Scenario != "s1" || cmp.Energy[0].Delta != 3 || !cmp.Energy[2].Pooled || cmp.Energy[2].Delta != 3 {
		t.Errorf("m1 against m2: %+v", cmp.Energy)
	}

	// Without power readings on one side or both: no rows, never zeros.
	for _, sides := range [][2]string{{"base-run", "bare-run"}, {"bare-run", "base-run"}, {"bare-run", "bare-run"}, {"dark-run", "base-run"}} {
		cmp, err := Compare(ctx, db, sides[0], sides[1], nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(cmp.Energy) != 0 {
			t.Errorf("%v: energy rows %+v, want none", sides, cmp.Energy)
		}
		warned := strings.Contains(strings.Join(cmp.Warnings, "\n"), "energy per token was measured for the")
		if want := sides[0] != sides[1] && sides != [2]string{"bare-run", "bare-run"}; warned != want {
			t.Errorf("%v: one-sided energy warning %v, want %v: %q", sides, warned, want, cmp.Warnings)
		}
	}
}
