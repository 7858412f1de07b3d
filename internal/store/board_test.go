package store

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"flperf/internal/board"
	"flperf/internal/profile"
	"flperf/internal/runner"
	"flperf/internal/stats"
	"flperf/internal/telemetry"
)

// eqPtr reports whether a board figure equals a summary's (both absent,
// or equal).
func eqPtr(got *float64, want float64, has bool) bool {
	if !has {
		return got == nil
	}
	return got != nil && *got == want
}

func TestBoardRowsOfASavedRun(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	writeRun(t, db, "r1", makeRecords(200, 5))
	res, err := db.Run(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.BoardRows(ctx, BoardFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want one per model (2)", len(rows))
	}
	wantCfg := board.Config{Suite: "default", Scenarios: "Q&A <long>,chat,code", Load: "concurrency c=2 max_tokens=scenario"}
	for i, r := range rows {
		g := res.Models[i]
		if r.RunID != "r1" || r.Model != g.Model || r.Config != wantCfg || r.Machine.Class != board.ClassUnknown || r.Engine != "sim" || !r.Simulated {
			t.Errorf("row %d: %+v", i, r)
		}
		if r.Requests != g.Requests || r.OK != g.OK || r.ErrorRate != g.ErrorRate {
			t.Errorf("row %d counts %d/%d/%v, want %d/%d/%v", i, r.Requests, r.OK, r.ErrorRate, g.Requests, g.OK, g.ErrorRate)
		}
		if !eqPtr(r.TTFTP50, g.TTFT.P50, g.TTFT.N > 0) || !eqPtr(r.DecodeP50, g.DecodeTPS.P50, g.DecodeTPS.N > 0) ||
			!eqPtr(r.E2EP95, g.E2E.P95, g.E2E.N > 0) || !eqPtr(r.OutputTPS, g.OutputTokensPerS, true) {
			t.Errorf("row %d figures %v %v %v %v differ from the stored summary", i, r.TTFTP50, r.DecodeP50, r.E2EP95, r.OutputTPS)
		}
		if r.JPerToken != nil || r.Score != nil {
			t.Errorf("row %d: J/token %v, score %v on an unsampled custom run", i, r.JPerToken, r.Score)
		}
		if !r.Started.Equal(t0) {
			t.Errorf("row %d started %v", i, r.Started)
		}
	}
	cfgs, err := db.BoardConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 1 || cfgs[0].Config != wantCfg || cfgs[0].Runs != 1 || cfgs[0].Models != 2 || cfgs[0].Machines != 1 {
		t.Errorf("configs %+v", cfgs)
	}
	// Deleting the run takes its rows with it.
	if err := db.Delete(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM board"); n != 0 {
		t.Errorf("%d board rows after deleting the run", n)
	}
}

func TestBoardIndexesOlderRunsOnce(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	writeRun(t, db, "old", makeRecords(60, 3))
	// As a run saved before schema 17 is: no rows, not marked.
	if _, err := db.sql.ExecContext(ctx, "DELETE FROM board"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, "UPDATE runs SET board = 0"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.BoardRows(ctx, BoardFilter{Model: "m2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].RunID != "old" || rows[0].Model != "m2" {
		t.Fatalf("rows %+v", rows)
	}
	if n := count(t, db, "SELECT count(*) FROM runs WHERE board = 1"); n != 1 {
		t.Errorf("%d runs marked indexed, want 1", n)
	}
}

func TestBoardKeepsUnfinishedAndFilters(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	res := writeRun(t, db, "a", makeRecords(40, 3))
	_ = res
	// An interrupted run is never on the board.
	b := testResult("b")
	if err := db.BeginRun(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Status, b.Ended = runner.Interrupted, t0.Add(time.Minute)
	if err := db.FinishRun(ctx, b); err != nil {
		t.Fatal(err)
	}
	// A run on another machine, another day, another engine version.
	c := testResult("c")
	c.Started = t0.Add(48 * time.Hour)
	c.Engine.Version = "2.0"
	name, mem := "NVIDIA GeForce RTX 4090", uint64(64<<30)
	cpu := "AMD Ryzen 9 7950X"
	c.Hardware = &telemetry.Hardware{CPU: telemetry.CPU{Model: &cpu}, Arch: "amd64", MemoryTotalBytes: &mem,
		GPUs: []telemetry.GPU{{Vendor: "nvidia", Name: &name}}, OS: telemetry.OS{Name: "linux"}, Power: telemetry.Power{Source: telemetry.PowerBattery}}
	if err := db.BeginRun(ctx, c); err != nil {
		t.Fatal(err)
	}
	w := db.NewRecordWriter("c", WriterOptions{})
	recs := makeRecords(40, 3)
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	finish(t, db, c, recs)
	all, err := db.BoardRows(ctx, BoardFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[0].RunID != "a" || all[3].RunID != "c" {
		t.Fatalf("%d rows %+v, want 4 of runs a and c", len(all), all)
	}
	if all[3].Power != "battery" || all[0].Power != "unknown" {
		t.Errorf("power %q and %q, want battery and unknown", all[3].Power, all[0].Power)
	}
	if m := all[3].Machine; m.Class != board.ClassNVIDIA || m.GPU != name || m.Memory != "64 GiB" || m.Key == all[0].Machine.Key {
		t.Errorf("machine %+v", m)
	}
	for _, tc := range []struct {
		f    BoardFilter
		want int
	}{
		{BoardFilter{EngineVersion: "2.0"}, 2},
		{BoardFilter{Since: t0.Add(24 * time.Hour)}, 2},
		{BoardFilter{Until: t0.Add(24 * time.Hour)}, 2},
		{BoardFilter{Machine: all[3].Machine.Key, Model: "m1"}, 1},
		{BoardFilter{Config: board.Config{Suite: "default", Scenarios: all[0].Scenarios, Load: all[0].Load, Profile: "standard/1"}}, 0},
	} {
		rows, err := db.BoardRows(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != tc.want {
			t.Errorf("filter %+v: %d rows, want %d", tc.f, len(rows), tc.want)
		}
	}
}

func TestBoardRowOfAProfiledRun(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	res := testResult("p")
	res.Config.Models = []string{"m1"}
	res.Config.Scenarios = []string{profile.ScenarioChat, profile.ScenarioDecode}
	res.Suite.Name = "profile:standard/1"
	score := 123.5
	res.Config.Profile = &profile.Result{ID: "standard/1", Models: []profile.ModelResult{{Model: "m1", Score: &score, Complete: false}}}
	if err := db.BeginRun(ctx, res); err != nil {
		t.Fatal(err)
	}
	recs := makeRecords(30, 4)
	for i := range recs {
		recs[i].Model = "m1"
		recs[i].Scenario = []string{profile.ScenarioChat, profile.ScenarioDecode}[i%2]
		recs[i].Stage = profile.StageC1
	}
	w := db.NewRecordWriter("p", WriterOptions{})
	for i := range recs {
		if err := w.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	finish(t, db, res, recs)
	got, err := db.Run(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.BoardRows(ctx, BoardFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	var chat, dec *stats.Group
	for i := range got.Groups {
		switch got.Groups[i].Scenario {
		case profile.ScenarioChat:
			chat = &got.Groups[i]
		case profile.ScenarioDecode:
			dec = &got.Groups[i]
		}
	}
	if r.Profile != "standard/1" || r.Load != "profile standard/1" || r.Stage != "" || r.Score == nil || *r.Score != score || r.ScoreComplete {
		t.Errorf("row %+v", r)
	}
	if *r.TTFTP50 != chat.TTFT.P50 || *r.E2EP95 != chat.E2E.P95 || *r.DecodeP50 != dec.DecodeTPS.P50 || *r.OutputTPS != dec.OutputTokensPerS {
		t.Errorf("figures %v %v %v %v", *r.TTFTP50, *r.E2EP95, *r.DecodeP50, *r.OutputTPS)
	}
	if r.Requests != chat.Requests+dec.Requests || math.Abs(r.ErrorRate-float64(r.Requests-r.OK)/float64(r.Requests)) > 0 {
		t.Errorf("counts %d %d %v", r.Requests, r.OK, r.ErrorRate)
	}
}

// fillBoard stores n completed runs straight into the runs and board
// tables (no records: the board never reads them) in one transaction: 2
// models each, on 40 machines of 4 classes, 5 engine versions, all of one
// configuration (the board's worst case: every row in the matrix's
// query).
func fillBoard(tb testing.TB, db *DB, n int) board.Config {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	gpus := []string{"nvidia", "amd", "intel", ""}
	var cfg board.Config
	for i := range n {
		res := testResult(fmt.Sprintf("run-%05d", i))
		res.Status = runner.Completed
		res.Started = t0.Add(time.Duration(i) * time.Minute)
		res.Engine.Version = fmt.Sprintf("0.%d", i%5)
		cpu := fmt.Sprintf("CPU model %d", i%40)
		mem := uint64(16+i%40) << 30
		res.Hardware = &telemetry.Hardware{CPU: telemetry.CPU{Model: &cpu}, Arch: "amd64", MemoryTotalBytes: &mem, OS: telemetry.OS{Name: "linux"}}
		if v := gpus[i%4]; v != "" {
			name := v + " GPU"
			res.Hardware.GPUs = []telemetry.GPU{{Vendor: v, Name: &name}}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO runs (id, started, ended, status, tool, engine, config, suite, owner_pid, owner_host, heartbeat, board)
			VALUES (?, ?, ?, 'completed', '{}', '{}', '{}', '{}', 0, '', 0, 1)`, res.ID, res.Started.UnixNano(), res.Started.UnixNano()); err != nil {
			tb.Fatal(err)
		}
		sum := stats.Summary{}
		for j, m := range []string{"m1", "m2"} {
			v := float64(i%100 + j)
			sum.Models = append(sum.Models, stats.Group{Model: m, Requests: 100, OK: 100, OutputTokensPerS: 10 + v,
				TTFT: stats.Dist{N: 100, P50: 100 + v}, DecodeTPS: stats.Dist{N: 100, P50: 20 + v}, E2E: stats.Dist{N: 100, P95: 900 + v}})
		}
		if err := db.saveBoard(ctx, tx, res, &sum); err != nil {
			tb.Fatal(err)
		}
		if i == 0 {
			cfg = board.RowsOf(res, &sum)[0].Config
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func TestBoardOf10000Runs(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 10,000 runs")
	}
	db := openTest(t)
	cfg := fillBoard(t, db, 10_000)
	rows, err := db.BoardRows(context.Background(), BoardFilter{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	m := board.Build(cfg, rows, "")
	if len(rows) != 20_000 || len(m.Machines) != 40 || len(m.Models) != 2 || len(m.Cells) != 80 || len(m.Classes) != 4 {
		t.Fatalf("%d rows, %d machines, %d models, %d cells, %d classes", len(rows), len(m.Machines), len(m.Models), len(m.Cells), len(m.Classes))
	}
	for _, c := range m.Cells {
		if c.Runs != 250 {
			t.Errorf("cell %s × %s: %d runs, want 250", c.Model, c.Machine, c.Runs)
		}
	}
	// The store's cells are the same matrix, read without the rows.
	cells, err := db.BoardCells(context.Background(), BoardFilter{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if m2 := board.Build(cfg, cells, ""); !reflect.DeepEqual(m, m2) {
		t.Errorf("the matrix of BoardCells differs from that of every row")
	}
	eng, vers, quants, err := db.BoardChoices(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(eng, []string{"sim"}) || !reflect.DeepEqual(vers, []string{"0.0", "0.1", "0.2", "0.3", "0.4"}) || len(quants) != 0 {
		t.Errorf("choices %v %v %v", eng, vers, quants)
	}
}

// BenchmarkBoard10000Runs measures what GET /api/v1/board does for one
// configuration of a store holding 10,000 runs (20,000 board rows, all in
// that configuration): list the configurations, read the configuration's
// matrix cells (each model × machine's newest row and its count of runs)
// and filter choices, and build the model × machine matrix.
func BenchmarkBoard10000Runs(b *testing.B) {
	db := openAt(b, b.TempDir()+"/flperf.db")
	cfg := fillBoard(b, db, 10_000)
	ctx := context.Background()
	for b.Loop() {
		if _, err := db.BoardConfigs(ctx); err != nil {
			b.Fatal(err)
		}
		rows, err := db.BoardCells(ctx, BoardFilter{Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := db.BoardChoices(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		if m := board.Build(cfg, rows, ""); len(m.Cells) != 80 {
			b.Fatalf("%d cells", len(m.Cells))
		}
	}
}

// TestProfileVersionsAreColumnsApart: a standard/1 and a standard/2 run of
// the same model on the same machine are two configurations, each ranked
// on its own; a new profile version never joins the older one's column.
func TestProfileVersionsAreColumnsApart(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for i, id := range []string{"standard/1", "standard/2"} {
		run := fmt.Sprintf("p%d", i+1)
		res := testResult(run)
		res.Config.Models = []string{"m1"}
		res.Config.Scenarios = []string{profile.ScenarioChat, profile.ScenarioDecode}
		res.Suite.Name = "profile:" + id
		score := 100.0 + float64(i)
		res.Config.Profile = &profile.Result{ID: id, Models: []profile.ModelResult{{Model: "m1", Score: &score, Complete: true}}}
		if err := db.BeginRun(ctx, res); err != nil {
			t.Fatal(err)
		}
		recs := makeRecords(10, 4)
		for j := range recs {
			recs[j].Model = "m1"
			recs[j].Scenario = []string{profile.ScenarioChat, profile.ScenarioDecode}[j%2]
			recs[j].Stage = profile.StageC1
		}
		w := db.NewRecordWriter(run, WriterOptions{})
		for j := range recs {
			if err := w.Add(&recs[j]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		finish(t, db, res, recs)
	}
	cfgs, err := db.BoardConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var profiles []string
	for _, c := range cfgs {
		profiles = append(profiles, c.Profile)
	}
	slices.Sort(profiles)
	if !slices.Equal(profiles, []string{"standard/1", "standard/2"}) {
		t.Fatalf("configurations of profiles %v, want standard/1 and standard/2 apart", profiles)
	}
	for i, id := range []string{"standard/1", "standard/2"} {
		var c board.Config
		for _, bc := range cfgs {
			if bc.Profile == id {
				c = bc.Config
			}
		}
		rows, err := db.BoardRows(ctx, BoardFilter{Config: c})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].RunID != fmt.Sprintf("p%d", i+1) || *rows[0].Score != 100+float64(i) {
			t.Errorf("%s: rows %+v, want run p%d alone", id, rows, i+1)
		}
	}
}
